// The ledger on disk: append-only JSONL segments in the state directory, serialized by an OS lock
// so concurrent writers (runner reports, cron, CLI, watch) keep one linear chain.
//   ledger.jsonl                the active segment
//   ledger.<first>-<last>.jsonl closed segments (rotated past the size limit; the chain runs on)
//   ledger.<first>-<last>.carry.json  written at each rotation: each process's last state events as
//                               of that segment's end (core/ledger-window.ts), so a window (history
//                               --since, the timeline) reads only its own segments
//   ledger.head                 the last seq and hash written, signed: what exposes a truncated end
//   ledger.anchor               the last entry retention removed (ledger_keep_days), signed: where the live chain begins
//   ledger-archive/             the segments retention removed, gzip-compressed (ledger_archive)
//   ledger.torn                 lines cut short by a crash mid-append, moved aside (JSON, one a line)
// Entries and head are signed with the ledger key (effects/ledger-key.ts), kept outside, and where
// a ledger was begun is recorded beside the key (effects/ledger-mark.ts): a ledger deleted whole shows.
import { appendFileSync, closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, fstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { formatHead, formatRetentionAnchor, makeEntry, parseHead, signEntry, startChainVerify, type ChainState, type ChainVerifier, type Head, type LedgerEntry, type Segment, type VerifyOptions, type VerifyResult } from '../core/ledger-chain.js';
import { carryForward, flattenCarry, selectExpired, selectWindowStart, WINDOW_SLACK_MS, type Carry, type ChainlessEntry, type SegmentSpan } from '../core/ledger-window.js';
import { withLock } from './lock.js';
import { writeFileAtomic } from './atomic-write.js';
import { bulkSha256, sha256 } from './hash.js';
import { loadLedgerKey } from './ledger-key.js';
import { ledgerMarkPath, readLedgerMark, writeLedgerMark } from './ledger-mark.js';
import { PROC_LAYOUT, STATE_LAYOUT } from './state-store.js';

export type { ChainlessEntry } from '../core/ledger-window.js';

const ACTIVE = STATE_LAYOUT.ledger;
/** A closed segment's name: ledger.<first seq>-<last seq>.jsonl (never written again). */
const CLOSED_SEGMENT = /^ledger\.(\d+)-(\d+)\.jsonl$/;
const ARCHIVED_SEGMENT = /^ledger\.(\d+)-(\d+)\.jsonl\.gz$/;
const pad = (seq: number) => String(seq).padStart(9, '0');
const segmentName = (first: number, last: number) => `ledger.${pad(first)}-${pad(last)}.jsonl`;
const carryName = (first: number, last: number) => `ledger.${pad(first)}-${pad(last)}.carry.json`;
const ANCHOR = STATE_LAYOUT.ledgerAnchor;
const ARCHIVE = STATE_LAYOUT.ledgerArchive;
/** Batches at least this long hash with node:crypto (loading it, ~2 ms, pays); smaller ones with noble. */
const BULK_BATCH = 32;

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
  return readFirstLine(join(stateDir, listClosed(stateDir)[0]?.name ?? ACTIVE));
}

/** A segment's first entry, from its first 64 KB (an entry is far shorter); null when there is none or it is not JSON. */
function readFirstLine(file: string): LedgerEntry | null {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch { return null; }
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    return JSON.parse(buf.toString('utf8', 0, nl < 0 ? n : nl)) as LedgerEntry;
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

/** Retention ($settings.ledger_keep_days, ledger_archive): applied at a rotation, inside the append lock. */
export interface LedgerRetention {
  /** Closed segments whose entries are all older than this many days leave the live chain; undefined or 0: kept. */
  readonly keepDays?: number | undefined;
  /** Moved to ledger-archive/ gzip-compressed (default), or deleted. */
  readonly archive?: boolean | undefined;
}

/** Appends waiting for the one under way, per state directory: written together, one lock, one head. */
const waiting = new Map<string, { items: { fields: Fields; done: (e: LedgerEntry) => void; fail: (err: unknown) => void }[]; flushing: boolean; retention: LedgerRetention }>();

/**
 * Append one entry. Appends made while another is being written (50 starts at once, say) wait and
 * go in together, in the order they were made: one lock, one head write for them all.
 */
export function appendLedger(stateDir: string, fields: Fields, env: NodeJS.ProcessEnv = process.env, retention: LedgerRetention = {}): Promise<LedgerEntry> {
  return new Promise((done, fail) => {
    let queue = waiting.get(stateDir);
    if (!queue) waiting.set(stateDir, (queue = { items: [], flushing: false, retention }));
    queue.retention = retention;
    queue.items.push({ fields, done, fail });
    if (!queue.flushing) void flushLedger(stateDir, queue, env);
  });
}

async function flushLedger(stateDir: string, queue: NonNullable<ReturnType<typeof waiting.get>>, env: NodeJS.ProcessEnv): Promise<void> {
  queue.flushing = true;
  while (queue.items.length > 0) {
    const items = queue.items.splice(0);
    try {
      const entries = await appendEntries(stateDir, items.map((i) => i.fields), env, queue.retention);
      items.forEach((item, k) => item.done(entries[k]!));
    } catch (err) {
      for (const item of items) item.fail(err);
    }
  }
  queue.flushing = false;
}

async function appendEntries(stateDir: string, list: readonly Fields[], env: NodeJS.ProcessEnv, retention: LedgerRetention): Promise<LedgerEntry[]> {
  return withLock(join(stateDir, STATE_LAYOUT.locks), 'ledger', 'ledger', 15_000, async () => {
    const loaded = loadLedgerKey(env, { create: true });
    if (!loaded.signer && !unsignedSaid) {
      unsignedSaid = true;
      process.stderr.write(`pguard: the audit ledger is written unsigned: ${loaded.why === 'missing' ? `no key at ${loaded.path}` : loaded.why}\n`);
    }
    const bulk = list.length >= BULK_BATCH;
    const key = { signer: loaded.signer && bulk ? loaded.bulk() : loaded.signer };
    const hash = bulk ? bulkSha256() : sha256;
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
      const entry = signEntry(makeEntry(last, f, hash), key.signer);
      text += `${JSON.stringify(entry)}\n`;
      written.push(entry);
      last = entry;
    }
    appendFileSync(file, text, { mode: 0o600 });
    const entry = written.at(-1)!;
    writeFileAtomic(join(stateDir, HEAD), formatHead(entry, key.signer), 0o600, { durable: false });
    keepLedgerMark(stateDir, env, begins ? written[0]! : null);
    if (statSync(file).size >= SEGMENT_BYTES) {
      const events = parseChainless(readFileSync(file, 'utf8'));
      const first = events[0]?.seq ?? entry.seq;
      renameSync(file, join(stateDir, segmentName(first, entry.seq)));
      writeCarry(stateDir, first, entry.seq, events);
      // Retention, as of the time of this batch's last entry (effects read no clock but clock.ts).
      // A retention that fails (a full disk) keeps the segments and does not fail the append: the entries are written.
      if (retention.keepDays !== undefined && retention.keepDays > 0) {
        try {
          applyRetention(stateDir, Date.parse(entry.at) - retention.keepDays * 86_400_000, retention.archive ?? true, loaded.signer);
        } catch (err) {
          process.stderr.write(`pguard: ledger retention (ledger_keep_days) did not complete: ${err instanceof Error ? err.message : String(err)}; the segments stay live, and the next rotation tries again\n`);
        }
      }
    }
    // The caller's own entries (not a repair note before them).
    return written.slice(written.length - list.length);
  });
}

/** Every segment, oldest first, then the active one. */
export function readSegments(stateDir: string): Segment[] {
  const closed = listClosed(stateDir).map((c) => c.name);
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
function readLedgerTraces(stateDir: string): NonNullable<VerifyOptions['traces']> {
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

/** The closed segments, in seq order (their zero-padded names sort so). */
function listClosed(stateDir: string): { name: string; first: number; last: number }[] {
  let names: string[] = [];
  try { names = readdirSync(stateDir); } catch { return []; }
  return names.filter((n) => CLOSED_SEGMENT.test(n)).sort().map((name) => {
    const m = CLOSED_SEGMENT.exec(name)!;
    return { name, first: Number(m[1]), last: Number(m[2]) };
  });
}

/** Feed a file's lines to a verifier, read 1 MB at a time (a segment's memory, not the ledger's). */
function feedFile(v: ChainVerifier, path: string, lastFile: boolean): void {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return; }
  try {
    // One buffer for the whole file; only a line that spans two reads is copied (it is short).
    const chunk = Buffer.alloc(1024 * 1024);
    let rest: Buffer | null = null;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let from = 0;
      for (let nl = chunk.indexOf(0x0a, from); nl !== -1 && nl < n; nl = chunk.indexOf(0x0a, from)) {
        const text = rest ? Buffer.concat([rest, chunk.subarray(from, nl)]).toString('utf8') : chunk.toString('utf8', from, nl);
        rest = null;
        if (!v.line(text, false)) return;
        from = nl + 1;
      }
      if (from < n) rest = rest ? Buffer.concat([rest, chunk.subarray(from, n)]) : Buffer.from(chunk.subarray(from, n));
    }
    // A last line without its newline: cut short by a crash, if it ends the ledger.
    if (rest && rest.length > 0) v.line(rest.toString('utf8'), lastFile);
  } finally {
    closeSync(fd);
  }
}

function feedText(v: ChainVerifier, text: string): void {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const l of lines) if (!v.line(l, false)) return;
}

/**
 * Verify the chain, its signatures and its head, streamed: segment by segment, line by line (its
 * memory does not grow with the ledger). `expect`: an anchor kept elsewhere (`audit head`).
 * `archive`: the archived segments first (from entry 1), then the live ones.
 */
export function verifyLedger(stateDir: string, opts: VerifyLedgerOptions = {}): VerifyResult {
  const steps = verifySteps(stateDir, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same, giving the event loop its turn after each segment (a 4 MB segment is ~100 ms of work):
 * the dashboard's first look at a ledger of a million entries took 11 s, its server deaf meanwhile.
 */
export async function verifyLedgerAsync(stateDir: string, opts: VerifyLedgerOptions = {}): Promise<VerifyResult> {
  const steps = verifySteps(stateDir, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface VerifyLedgerOptions { readonly env?: NodeJS.ProcessEnv; readonly expect?: { seq: number; hash: string }; readonly archive?: boolean }

/** verifyLedger's work, a segment a step. */
function* verifySteps(stateDir: string, opts: VerifyLedgerOptions): Generator<void, VerifyResult> {
  const env = opts.env ?? process.env;
  const key = loadLedgerKey(env, { create: false });
  const read = (name: string): string | null => { try { return readFileSync(join(stateDir, name), 'utf8'); } catch { return null; } };
  const head = read(HEAD);
  const anchor = read(ANCHOR);
  const files = listClosed(stateDir).map((c) => c.name);
  if (existsSync(join(stateDir, ACTIVE))) files.push(ACTIVE);
  const mark = readLedgerMark(stateDir, env);
  const empty = head === null && files.every((f) => { try { return statSync(join(stateDir, f)).size === 0; } catch { return true; } });
  const options: VerifyOptions = {
    head, hash: bulkSha256(), signer: key.signer ? key.bulk() : null, anchor, archived: opts.archive === true,
    ...(key.signer ? {} : { noKey: key.why === 'missing' ? `no key at ${key.path}` : key.why }),
    ...(opts.expect ? { expect: opts.expect } : {}),
    begun: mark ? { at: mark.at, hash: mark.hash, where: ledgerMarkPath(stateDir, env) } : null,
    // Only an empty ledger needs them (a look into every process's folder).
    ...(empty ? { traces: readLedgerTraces(stateDir) } : {}),
  };
  // A process that lives (the dashboard asks every 15 s, MCP) resumes after the closed segments it
  // verified, when each is the same file, unchanged: same inode, size, mtime and ctime (ctime cannot
  // be set back by a user: an edit in place shows). A CLI run, --expect and --archive verify all.
  const resumable = !opts.expect && !opts.archive;
  const stamps = resumable ? files.filter((f) => f !== ACTIVE).map((f) => stampOf(join(stateDir, f))) : [];
  const known = resumable ? verifiedCache.get(stateDir) : undefined;
  const reuse = known && known.anchor === anchor && known.kid === (options.signer?.kid ?? null)
    && known.stamps.length <= stamps.length && known.stamps.every((st, i) => st === stamps[i]) ? known : undefined;
  const v = startChainVerify(options, reuse?.state);
  if (opts.archive) {
    for (const name of listArchived(stateDir)) {
      v.beginSegment(`${ARCHIVE}/${name}`);
      let text: string;
      try {
        text = gunzipSync(readFileSync(join(stateDir, ARCHIVE, name))).toString('utf8');
      } catch (err) {
        v.line(`{"unreadable": ${JSON.stringify((err as Error).message)}`, false);
        break;
      }
      feedText(v, text);
      if (v.done()) return v.finish();
      yield;
    }
  }
  for (const [i, name] of files.entries()) {
    if (reuse && i < reuse.stamps.length) continue;
    v.beginSegment(name);
    feedFile(v, join(stateDir, name), i === files.length - 1);
    if (v.done()) break;
    if (resumable && name !== ACTIVE && i === stamps.length - 1) {
      verifiedCache.set(stateDir, { stamps, anchor, kid: options.signer?.kid ?? null, state: v.state() });
    }
    yield;
  }
  const res = v.finish();
  if (!res.ok) verifiedCache.delete(stateDir);
  return res;
}

/** Closed segments verified by this process, per state directory: see verifyLedger. */
const verifiedCache = new Map<string, { stamps: string[]; anchor: string | null; kid: string | null; state: ChainState }>();

function stampOf(file: string): string {
  try {
    const st = statSync(file);
    return `${file}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return `${file}:gone`;
  }
}

/** The archived segments' names, in seq order. */
export function listArchived(stateDir: string): string[] {
  try { return readdirSync(join(stateDir, ARCHIVE)).filter((n) => ARCHIVED_SEGMENT.test(n)).sort(); } catch { return []; }
}

/** The state events' names as a line spells them (core/ledger-window.ts isStateEvent decides, once parsed). */
const STATE_EVENT_TEXT = ['"event":"exit"', '"event":"stop"', '"event":"deregister"', '"event":"schedule"'];

/**
 * A segment's entries without their chain; lines that are not JSON are left to verify. `cut` (an
 * ISO time): a line written before it is parsed only when it is a state event (what the timeline
 * needs of the time before its window), read from the line as pguard writes it (`{"seq":N,"at":"…",
 * "event":"…"`); a line in another shape is parsed.
 */
function parseChainless(text: string, cut = ''): ChainlessEntry[] {
  const out: ChainlessEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (cut !== '') {
      const a = line.indexOf(',"at":"');
      if (a > 0 && a < 24 && line.slice(a + 7, a + 31) < cut) {
        const ev = line.indexOf('"event":"', a + 31);
        if (ev > 0 && ev < a + 40 && !STATE_EVENT_TEXT.some((t) => line.startsWith(t, ev))) continue;
      }
    }
    try {
      const e = JSON.parse(line) as LedgerEntry;
      out.push({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details });
    } catch { /* verify reports it */ }
  }
  return out;
}

interface CarryFile {
  /** false: an earlier segment's carry was missing (a ledger older than carries): the reader then reads every segment. */
  readonly complete: boolean;
  readonly carry: Carry;
}

/** The carry as of entry `seq`'s segment end (the segment that ends there), from the state directory; null when none. */
function readCarry(stateDir: string, lastSeq: number): CarryFile | null {
  let names: string[] = [];
  try { names = readdirSync(stateDir); } catch { return null; }
  const suffix = `-${pad(lastSeq)}.carry.json`;
  const name = names.find((n) => n.startsWith('ledger.') && n.endsWith(suffix));
  if (!name) return null;
  try {
    const c = JSON.parse(readFileSync(join(stateDir, name), 'utf8')) as CarryFile;
    return c && typeof c.carry === 'object' && c.carry !== null ? c : null;
  } catch {
    return null;
  }
}

/** Written at a rotation: the carry before this segment (the previous one's), then this segment's state events. */
function writeCarry(stateDir: string, first: number, last: number, events: readonly ChainlessEntry[]): void {
  const before = first === 1 ? { complete: true, carry: {} } : readCarry(stateDir, first - 1);
  const file: CarryFile = { complete: before?.complete === true, carry: carryForward(before?.carry ?? {}, events) };
  try {
    writeFileAtomic(join(stateDir, carryName(first, last)), JSON.stringify(file), 0o600, { durable: false });
  } catch { /* a reader without it reads every segment */ }
}

/**
 * Retention, at a rotation inside the append lock: the oldest closed segments whose entries are
 * all older than `before` (their last entry's time) leave the live chain, one at a time: copied
 * gzip-compressed to ledger-archive/ (fsync'd) unless archiving is off, then ledger.anchor names
 * its last entry (seq and hash, signed with the ledger key as the head is), then it is deleted. A
 * crash between the anchor and the delete leaves a live chain that passes through the anchor,
 * which verify accepts. Carries of removed segments go too, but the last one's (the live chain's
 * first segment needs it).
 */
function applyRetention(stateDir: string, before: number, archive: boolean, signer: Parameters<typeof formatRetentionAnchor>[1]): void {
  const closed = listClosed(stateDir);
  // Only the oldest are looked at, one last line each, until one is young enough.
  const spans: (SegmentSpan & { lastAt: number })[] = [];
  for (const c of closed) {
    const lastEntry = readLastEntry(join(stateDir, c.name));
    const lastAt = lastEntry ? Date.parse(lastEntry.at) : NaN;
    spans.push({ ...c, firstAt: NaN, lastAt });
    if (!(lastAt < before)) break;
  }
  const n = selectExpired(spans, before);
  let removed = 0;
  for (const c of closed.slice(0, n)) {
    const path = join(stateDir, c.name);
    const lastEntry = readLastEntry(path);
    if (!lastEntry || lastEntry.seq !== c.last) return; // not as its name says: left for verify to report
    if (archive) {
      mkdirSync(join(stateDir, ARCHIVE), { recursive: true, mode: 0o700 });
      writeFileAtomic(join(stateDir, ARCHIVE, `${c.name}.gz`), gzipSync(readFileSync(path)), 0o600, { durable: true });
    }
    writeFileAtomic(join(stateDir, ANCHOR), formatRetentionAnchor(lastEntry, signer), 0o600, { durable: true });
    unlinkSync(path);
    removed = c.last;
  }
  // Carries before the last removed segment's are no longer needed (its own is, by the first live segment).
  if (removed === 0) return;
  for (const name of readdirSync(stateDir)) {
    const m = /^ledger\.\d+-(\d+)\.carry\.json$/.exec(name);
    if (m && Number(m[1]) < removed) try { unlinkSync(join(stateDir, name)); } catch { /* gone */ }
  }
}

/** Closed segments' first entry's time (ms), by file, size and mtime: a closed segment never changes. */
const firstAtCache = new Map<string, { size: number; mtimeMs: number; firstAt: number }>();

function readFirstAt(file: string): number {
  let st;
  try { st = statSync(file); } catch { return NaN; }
  const hit = firstAtCache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.firstAt;
  const first = readFirstLine(file);
  const firstAt = first ? Date.parse(first.at) : NaN; // unknown: never skipped past
  firstAtCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, firstAt });
  return firstAt;
}

/**
 * Closed segments never change: parsed once per file (its size and mtime), in a process that lives
 * (the dashboard, watch); `cut`: what was left out (before it, all but state events), so a later,
 * earlier window parses it again.
 */
const closedCache = new Map<string, { size: number; mtimeMs: number; cut: string; events: readonly ChainlessEntry[] }>();

/**
 * The entries history and the timeline read, oldest first, without their chain. `since` (ms):
 * only what a window from then needs: the closed segments from the last one that begins before
 * it (core/ledger-window.ts selectWindowStart, by each one's first line), the active one, and
 * before them the carry (each process's last state events, as of the segment before). null: every
 * live entry. A ledger older than carries is read whole. Closed segments come from a cache in a
 * process that lives (the dashboard), holding only those the last read used.
 */
export function readLedgerEvents(stateDir: string, since: number | null = null): ChainlessEntry[] {
  const closed = listClosed(stateDir);
  let from = 0;
  const out: ChainlessEntry[] = [];
  if (since !== null && closed.length > 0) {
    // The active segment too: when it begins before the window, no closed one is read.
    const spans = [...closed, { name: ACTIVE, first: closed.at(-1)!.last + 1, last: Infinity }];
    const k = selectWindowStart(spans.length, (i) => readFirstAt(join(stateDir, spans[i]!.name)), since);
    if (spans[k]!.first > 1) {
      const carry = readCarry(stateDir, spans[k]!.first - 1);
      if (carry?.complete) {
        from = k;
        out.push(...flattenCarry(carry.carry));
      }
    }
  }
  // Before the window (less its slack), only state events are parsed.
  const cut = since === null || !Number.isFinite(since) ? '' : new Date(Math.max(0, since - WINDOW_SLACK_MS)).toISOString();
  const used = new Set<string>();
  for (const c of closed.slice(from)) {
    const file = join(stateDir, c.name);
    used.add(file);
    let st;
    try { st = statSync(file); } catch { continue; }
    const hit = closedCache.get(file);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.cut <= cut) { for (const e of hit.events) out.push(e); continue; }
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    const events = parseChainless(text, cut);
    closedCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, cut, events });
    for (const e of events) out.push(e);
  }
  // Segments this read did not use (outside the window, pruned, archived): not kept.
  for (const key of closedCache.keys()) if (key.startsWith(`${stateDir}/`) && !used.has(key)) closedCache.delete(key);
  try { for (const e of parseChainless(readFileSync(join(stateDir, ACTIVE), 'utf8'), cut)) out.push(e); } catch { /* none yet */ }
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
