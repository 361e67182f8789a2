// The ledger on disk: append-only JSONL segments in the state directory, serialized by an OS lock
// so concurrent writers (runner reports, cron, CLI, watch) keep one linear chain.
//   ledger.jsonl                the active segment
//   ledger.<first>-<last>.jsonl closed segments (rotated past the size limit; the chain runs on)
//   ledger.head                 the last seq and hash written: what exposes a truncated end
import { appendFileSync, closeSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { makeEntry, verifyChain, type LedgerEntry, type VerifyResult } from '../core/ledger-chain.js';
import { withLock } from './lock.js';
import { writeFileAtomic } from './atomic-write.js';
import { sha256 } from './hash.js';
import { STATE_LAYOUT } from './state-store.js';

const ACTIVE = STATE_LAYOUT.ledger;
const HEAD = STATE_LAYOUT.ledgerHead;
/** Segments are closed past this size. PGUARD_LEDGER_SEGMENT_BYTES overrides it (tests). */
const SEGMENT_BYTES = Number(process.env.PGUARD_LEDGER_SEGMENT_BYTES) || 4 * 1024 * 1024;

export function ledgerPath(stateDir: string): string {
  return join(stateDir, ACTIVE);
}

function readHead(stateDir: string): { seq: number; hash: string } | null {
  try {
    const [seq, hash] = readFileSync(join(stateDir, HEAD), 'utf8').trim().split(' ');
    return seq && hash ? { seq: Number(seq), hash } : null;
  } catch {
    return null;
  }
}

/** The last entry of the active segment, reading only its end. */
function readLastEntry(file: string): LedgerEntry | null {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch { return null; }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return null;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').trimEnd().split('\n');
    return JSON.parse(lines.at(-1)!) as LedgerEntry;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export async function appendLedger(
  stateDir: string,
  fields: { at: string; event: string; process: string; details: Record<string, unknown> },
): Promise<LedgerEntry> {
  return withLock(join(stateDir, STATE_LAYOUT.locks), 'ledger', 'ledger', 15_000, async () => {
    const file = join(stateDir, ACTIVE);
    // The chain continues from the head (the active segment may have just been closed).
    const last = readLastEntry(file) ?? readHead(stateDir);
    const entry = makeEntry(last ? { seq: last.seq, hash: last.hash } : null, fields, sha256);
    appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    writeFileAtomic(join(stateDir, HEAD), `${entry.seq} ${entry.hash}\n`, 0o600, { durable: false });
    if (statSync(file).size >= SEGMENT_BYTES) {
      const first = (JSON.parse(readFileSync(file, 'utf8').split('\n', 1)[0]!) as LedgerEntry).seq;
      renameSync(file, join(stateDir, `ledger.${String(first).padStart(9, '0')}-${String(entry.seq).padStart(9, '0')}.jsonl`));
    }
    return entry;
  });
}

/** Every segment, oldest first, then the active one. */
export function readSegments(stateDir: string): { name: string; lines: string[] }[] {
  let names: string[] = [];
  try { names = readdirSync(stateDir); } catch { return []; }
  const closed = names.filter((n) => /^ledger\.\d+-\d+\.jsonl$/.test(n)).sort();
  const out = closed.map((name) => ({ name, lines: readFileSync(join(stateDir, name), 'utf8').split('\n') }));
  try {
    out.push({ name: ACTIVE, lines: readFileSync(join(stateDir, ACTIVE), 'utf8').split('\n') });
  } catch { /* none yet */ }
  for (const seg of out) if (seg.lines.at(-1) === '') seg.lines.pop();
  return out;
}

export function verifyLedger(stateDir: string): VerifyResult {
  return verifyChain(readSegments(stateDir), readHead(stateDir), sha256);
}

export function readLedgerEntries(stateDir: string): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (const seg of readSegments(stateDir)) {
    for (const line of seg.lines) {
      try { out.push(JSON.parse(line) as LedgerEntry); } catch { /* verify reports it */ }
    }
  }
  return out;
}
