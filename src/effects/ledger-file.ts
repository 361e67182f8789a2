// The ledger on disk: append-only JSONL segments in the state directory, serialized by an OS lock
// so concurrent writers (runner reports, cron, CLI, watch) keep one linear chain.
//   ledger.jsonl                the active segment
//   ledger.<first>-<last>.jsonl closed segments (rotated past the size limit; the chain runs on)
//   ledger.head                 the last seq and hash written, signed: what exposes a truncated end
//   ledger.torn                 lines cut short by a crash mid-append, moved aside (JSON, one a line)
// Entries and head are signed with the ledger key (effects/ledger-key.ts), kept outside, and where
// a ledger was begun is recorded beside the key (effects/ledger-mark.ts): a ledger deleted whole shows.
import { appendFileSync, closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { formatHead, makeEntry, parseHead, signEntry, verifyChain, type Head, type LedgerEntry, type Segment, type VerifyInput, type VerifyResult } from '../core/ledger-chain.js';
import { withLock } from './lock.js';
import { writeFileAtomic } from './atomic-write.js';
import { sha256 } from './hash.js';
import { loadLedgerKey } from './ledger-key.js';
import { ledgerMarkPath, readLedgerMark, writeLedgerMark } from './ledger-mark.js';
import { PROC_LAYOUT, STATE_LAYOUT } from './state-store.js';

const ACTIVE = STATE_LAYOUT.ledger;
/** A closed segment's name: ledger.<first seq>-<last seq>.jsonl (never written again). */
const CLOSED_SEGMENT = /^ledger\.\d+-\d+\.jsonl$/;

const HEAD = STATE_LAYOUT.ledgerHead;
const TORN = STATE_LAYOUT.ledgerTorn;
/** A torn line is a part of one entry: its start is within this many bytes of the end. */
const TORN_SCAN_BYTES = 1024 * 1024;
/** Segments are closed past this size. PGUARD_LEDGER_SEGMENT_BYTES overrides it (tests). */
const SEGMENT_BYTES = Number(process.env.PGUARD_LEDGER_SEGMENT_BYTES) || 4 * 1024 * 1024;

export function ledgerPath(stateDir: string): string {
  return join(stateDir, ACTIVE);
}

/** The head as written (SEQ HASH [KID MAC]), or null when there is none or it is not a head. */
export function readLedgerHead(stateDir: string): Head | null {
  try {
    const parsed = parseHead(readFileSync(join(stateDir, HEAD), 'utf8'));
    return 'head' in parsed ? parsed.head : null;
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

/**
 * A last line without its newline was cut short by a crash while it was written. Appending after it
 * would glue the next entry to it and break the chain for good: move it to ledger.torn (with where
 * it was) and cut the segment back to its last whole line. Returns the bytes moved.
 */
function repairTornEnd(stateDir: string, file: string, at: string): number {
  let fd: number;
  try { fd = openSync(file, 'r+'); } catch { return 0; }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const lastByte = Buffer.alloc(1);
    readSync(fd, lastByte, 0, 1, size - 1);
    if (lastByte[0] === 0x0a) return 0;
    const len = Math.min(size, TORN_SCAN_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const nl = buf.lastIndexOf(0x0a);
    const keep = nl === -1 ? size - len : size - len + nl + 1;
    const torn = buf.subarray(nl + 1);
    appendFileSync(join(stateDir, TORN), `${JSON.stringify({ at, segment: ACTIVE, offset: keep, text: torn.toString('utf8') })}\n`, { mode: 0o600 });
    ftruncateSync(fd, keep);
    return torn.length;
  } finally {
    closeSync(fd);
  }
}

let unsignedSaid = false;
/** State directories whose ledger mark this process has seen or written (one look each, not one per append). */
const marked = new Set<string>();

/** The first line of the oldest segment: entry 1 of a ledger begun before its mark was kept. */
function readFirstEntry(stateDir: string): LedgerEntry | null {
  let names: string[] = [];
  try { names = readdirSync(stateDir); } catch { return null; }
  const oldest = names.filter((n) => CLOSED_SEGMENT.test(n)).sort()[0] ?? ACTIVE;
  let fd: number;
  try { fd = openSync(join(stateDir, oldest), 'r'); } catch { return null; }
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n', 1)[0]!;
    return JSON.parse(line) as LedgerEntry;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Keep the mark of where this ledger was begun (entry 1), outside the state directory, once per
 * process. A ledger begun before marks were kept gets one at its next append. A ledger that had to
 * begin again (its files gone) keeps the old mark, which `audit verify` reports, and says so here.
 */
function keepLedgerMark(stateDir: string, env: NodeJS.ProcessEnv, begunNow: LedgerEntry | null): void {
  if (marked.has(stateDir)) return;
  marked.add(stateDir);
  const mark = readLedgerMark(stateDir, env);
  if (mark) {
    if (begunNow && begunNow.hash !== mark.hash) {
      process.stderr.write(`pguard: the audit ledger in ${stateDir} was deleted (begun on ${mark.at}); a new one begins at seq 1: \`pguard audit verify\` reports it\n`);
    }
    return;
  }
  const first = begunNow ?? readFirstEntry(stateDir);
  if (!first || first.seq !== 1) return;
  try {
    writeLedgerMark(stateDir, env, first);
  } catch (err) {
    process.stderr.write(`pguard: could not record where the audit ledger began (${ledgerMarkPath(stateDir, env)}: ${err instanceof Error ? err.message : String(err)}); a ledger deleted whole is then noticed only by the run records beside it\n`);
  }
}

type Fields = { at: string; event: string; process: string; details: Record<string, unknown> };

/** Appends waiting for the one under way, per state directory: written together, one lock, one head. */
const waiting = new Map<string, { items: { fields: Fields; done: (e: LedgerEntry) => void; fail: (err: unknown) => void }[]; flushing: boolean }>();

/**
 * Append one entry. Appends made while another is being written (50 starts at once, say) wait and
 * go in together, in the order they were made: one lock, one head write for them all.
 */
export function appendLedger(stateDir: string, fields: Fields, env: NodeJS.ProcessEnv = process.env): Promise<LedgerEntry> {
  return new Promise((done, fail) => {
    let queue = waiting.get(stateDir);
    if (!queue) waiting.set(stateDir, (queue = { items: [], flushing: false }));
    queue.items.push({ fields, done, fail });
    if (!queue.flushing) void flushLedger(stateDir, queue, env);
  });
}

async function flushLedger(stateDir: string, queue: NonNullable<ReturnType<typeof waiting.get>>, env: NodeJS.ProcessEnv): Promise<void> {
  queue.flushing = true;
  while (queue.items.length > 0) {
    const items = queue.items.splice(0);
    try {
      const entries = await appendEntries(stateDir, items.map((i) => i.fields), env);
      items.forEach((item, k) => item.done(entries[k]!));
    } catch (err) {
      for (const item of items) item.fail(err);
    }
  }
  queue.flushing = false;
}

async function appendEntries(stateDir: string, list: readonly Fields[], env: NodeJS.ProcessEnv): Promise<LedgerEntry[]> {
  return withLock(join(stateDir, STATE_LAYOUT.locks), 'ledger', 'ledger', 15_000, async () => {
    const key = loadLedgerKey(env, { create: true });
    if (!key.signer && !unsignedSaid) {
      unsignedSaid = true;
      process.stderr.write(`pguard: the audit ledger is written unsigned: ${key.why === 'missing' ? `no key at ${key.path}` : key.why}\n`);
    }
    const file = join(stateDir, ACTIVE);
    const tornBytes = repairTornEnd(stateDir, file, list[0]!.at);
    const batch: Fields[] = tornBytes > 0
      ? [{ at: list[0]!.at, event: 'ledger-repaired', process: '', details: { torn_bytes: tornBytes, kept_in: TORN } }, ...list]
      : [...list];
    // The chain continues from the head (the active segment may have just been closed).
    let last: { seq: number; hash: string } | null = readLastEntry(file) ?? readLedgerHead(stateDir);
    const begins = last === null;
    const written: LedgerEntry[] = [];
    let text = '';
    for (const f of batch) {
      const entry = signEntry(makeEntry(last, f, sha256), key.signer);
      text += `${JSON.stringify(entry)}\n`;
      written.push(entry);
      last = entry;
    }
    appendFileSync(file, text, { mode: 0o600 });
    const entry = written.at(-1)!;
    writeFileAtomic(join(stateDir, HEAD), formatHead(entry, key.signer), 0o600, { durable: false });
    keepLedgerMark(stateDir, env, begins ? written[0]! : null);
    if (statSync(file).size >= SEGMENT_BYTES) {
      const first = (JSON.parse(readFileSync(file, 'utf8').split('\n', 1)[0]!) as LedgerEntry).seq;
      renameSync(file, join(stateDir, `ledger.${String(first).padStart(9, '0')}-${String(entry.seq).padStart(9, '0')}.jsonl`));
    }
    // The caller's own entries (not a repair note before them).
    return written.slice(written.length - list.length);
  });
}

/** Every segment, oldest first, then the active one. */
export function readSegments(stateDir: string): Segment[] {
  let names: string[] = [];
  try { names = readdirSync(stateDir); } catch { return []; }
  const closed = names.filter((n) => CLOSED_SEGMENT.test(n)).sort();
  const read = (name: string): Segment => {
    const text = readFileSync(join(stateDir, name), 'utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return { name, lines, complete: text === '' || text.endsWith('\n') };
  };
  const out = closed.map(read);
  try { out.push(read(ACTIVE)); } catch { /* none yet */ }
  return out;
}

/**
 * Files pguard writes only beside ledger entries: a runner's run records (each run's start is a
 * ledger event) and the alerts (each one is too). A process record alone is not one: `stop` of a
 * process never started writes it, and nothing to the ledger.
 */
function readLedgerTraces(stateDir: string): NonNullable<VerifyInput['traces']> {
  const traces: { file: string; holds: 'runs' | 'alerts' }[] = [];
  let names: string[] = [];
  try { names = readdirSync(join(stateDir, STATE_LAYOUT.procs)).sort(); } catch { /* none */ }
  for (const name of names) {
    const file = `${STATE_LAYOUT.procs}/${name}/${PROC_LAYOUT.runs}`;
    if (existsSync(join(stateDir, file))) traces.push({ file, holds: 'runs' });
  }
  if (existsSync(join(stateDir, STATE_LAYOUT.alerts))) traces.push({ file: STATE_LAYOUT.alerts, holds: 'alerts' });
  return traces;
}

/** Verify the chain, its signatures and its head; `expect`: an anchor kept elsewhere (`audit head`). */
export function verifyLedger(stateDir: string, opts: { env?: NodeJS.ProcessEnv; expect?: { seq: number; hash: string } } = {}): VerifyResult {
  const env = opts.env ?? process.env;
  const key = loadLedgerKey(env, { create: false });
  let head: string | null = null;
  try { head = readFileSync(join(stateDir, HEAD), 'utf8'); } catch { /* none */ }
  const segments = readSegments(stateDir);
  const mark = readLedgerMark(stateDir, env);
  const empty = head === null && segments.every((s) => s.lines.length === 0);
  return verifyChain({
    segments, head, hash: sha256, signer: key.signer,
    ...(key.signer ? {} : { noKey: key.why === 'missing' ? `no key at ${key.path}` : key.why }),
    ...(opts.expect ? { expect: opts.expect } : {}),
    begun: mark ? { at: mark.at, hash: mark.hash, where: ledgerMarkPath(stateDir, env) } : null,
    // Only an empty ledger needs them (a look into every process's folder).
    ...(empty ? { traces: readLedgerTraces(stateDir) } : {}),
  });
}


/** An entry as history and the timeline read it: what happened, without its chain (prev, hash, mac). */
export type ChainlessEntry = Pick<LedgerEntry, 'seq' | 'at' | 'event' | 'process' | 'details'>;

/** Closed segments never change: parsed once per file (its size and mtime), in a process that lives (the dashboard, watch). */
const closedCache = new Map<string, { size: number; mtimeMs: number; events: readonly ChainlessEntry[] }>();

/**
 * Every entry's event, oldest first: the closed segments from the cache when unchanged, the active
 * one read again. A CLI run reads each once; the dashboard, asked for the timeline at each change,
 * parses only the active segment (at most 4 MB) again instead of the whole history.
 */
export function readLedgerEvents(stateDir: string): ChainlessEntry[] {
  let names: string[] = [];
  try { names = readdirSync(stateDir); } catch { return []; }
  const parse = (text: string): ChainlessEntry[] => {
    const out: ChainlessEntry[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const e = JSON.parse(line) as LedgerEntry;
        out.push({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details });
      } catch { /* verify reports it */ }
    }
    return out;
  };
  const out: ChainlessEntry[] = [];
  const closed = names.filter((n) => CLOSED_SEGMENT.test(n)).sort();
  const live = new Set<string>();
  for (const name of closed) {
    const file = join(stateDir, name);
    live.add(file);
    let st;
    try { st = statSync(file); } catch { continue; }
    const hit = closedCache.get(file);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) { for (const e of hit.events) out.push(e); continue; }
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    const events = parse(text);
    closedCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, events });
    for (const e of events) out.push(e);
  }
  // Segments gone (pruned, or another state directory's): not kept.
  for (const key of closedCache.keys()) if (key.startsWith(`${stateDir}/`) && !live.has(key)) closedCache.delete(key);
  try { for (const e of parse(readFileSync(join(stateDir, ACTIVE), 'utf8'))) out.push(e); } catch { /* none yet */ }
  return out;
}

/** Where a reader of the active segment stands: its inode (a rotation makes a new file) and offset. */
export interface LedgerCursor {
  readonly ino: number;
  readonly offset: number;
}

/**
 * Entries appended to the active segment since `cursor` (null: from its start), and the cursor
 * after them. Only whole lines are read; a rotation (a new inode, or a shorter file) starts over.
 */
export function tailLedger(stateDir: string, cursor: LedgerCursor | null): { entries: LedgerEntry[]; cursor: LedgerCursor | null } {
  let fd: number;
  try { fd = openSync(join(stateDir, ACTIVE), 'r'); } catch { return { entries: [], cursor }; }
  try {
    const st = fstatSync(fd);
    const from = cursor && cursor.ino === st.ino && cursor.offset <= st.size ? cursor.offset : 0;
    if (st.size === from) return { entries: [], cursor: { ino: st.ino, offset: from } };
    const buf = Buffer.alloc(st.size - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    const text = buf.subarray(0, n).toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    const entries: LedgerEntry[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      if (!line) continue;
      try { entries.push(JSON.parse(line) as LedgerEntry); } catch { /* verify reports it */ }
    }
    return { entries, cursor: { ino: st.ino, offset: from + Buffer.byteLength(text.slice(0, end)) } };
  } finally {
    closeSync(fd);
  }
}
