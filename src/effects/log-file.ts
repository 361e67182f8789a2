// Process logs: tail, follow, and copytruncate rotation. A detached process keeps its log open
// (O_APPEND) and has no parent to reopen it, so rotation copies the file aside and truncates it in
// place; the process's next write lands at the new end of the now-empty file.
import { closeSync, copyFileSync, existsSync, fstatSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * The last `lines` lines of a log, read from its end (at most maxBytes); with `from`, only what was
 * written past that offset (one run's output: a log that has since been rotated is read whole);
 * with `to`, as if the log ended there.
 */
export function readLogTail(file: string, lines: number, maxBytes = 256 * 1024, from = 0, to?: number): string[] {
  if (lines <= 0) return [];
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = Math.min(statSync(file).size, to ?? Infinity);
    const since = from <= size ? from : 0;
    const start = Math.max(since, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8').replace(/\n$/, '');
    if (text === '') return [];
    const all = text.split('\n');
    if (start > since) all.shift(); // a partial first line
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** The log's size now (0 where there is none): where a new run's output will begin. */
export function logSize(file: string): number {
  try { return statSync(file).size; } catch { return 0; }
}

/**
 * Whether rotateLog would rotate it now (a stat, no lock needed): past maxMb, or with `slack`
 * past maxMb x slack (a log its runner's writer rotates never is: one that is was started
 * without it, or before log_writer was set, and is rotated here as a backstop).
 */
export function logNeedsRotation(file: string, maxMb: number, slack = 1): boolean {
  if (maxMb <= 0) return false;
  const st = statSync(file, { throwIfNoEntry: false });
  return !!st && st.size >= maxMb * 1024 * 1024 * slack;
}

/** Rotate past maxMb (x slack): log -> log.1 -> ... -> log.<keep>; returns true when it rotated. */
export function rotateLog(file: string, maxMb: number, keep: number, slack = 1): boolean {
  if (!logNeedsRotation(file, maxMb, slack)) return false;
  if (keep <= 0) {
    truncateSync(file, 0);
    return true;
  }
  rmSync(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) {
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  copyFileSync(file, `${file}.1`);
  // Lines written between the copy and the truncate are lost: copytruncate's known window.
  truncateSync(file, 0);
  return true;
}

/** How far a follow reads at once, and how often it looks when the log is quiet (ms). */
const FOLLOW_CHUNK = 1024 * 1024;
const FOLLOW_POLL_MS = 100;

/** A followed file: its descriptor, identity, how far it was read, and the last bytes read (up to 64). */
interface Followed { fd: number; ino: number; dev: number; pos: number; mark: Buffer }
const MARK_BYTES = 64;

/**
 * Whether `f` was emptied and written again since it was read up to f.pos: smaller than that, or
 * the bytes before f.pos are no longer the ones read (a truncation the writer has already filled
 * past our position).
 */
function wasTruncated(f: Followed, size: number): boolean {
  if (size < f.pos) return true;
  if (f.mark.length === 0) return false;
  const now = Buffer.alloc(f.mark.length);
  const n = readSync(f.fd, now, 0, now.length, f.pos - f.mark.length);
  return n !== now.length || !now.equals(f.mark);
}

/**
 * Print the last `tailLines` lines, then every byte appended from there, until `signal` aborts.
 * Follows the log across rotations: a rename (log_writer: log -> log.1) is noticed by the path's
 * inode changing; the old file (still open) is read to its end, then any rotated file written
 * whole since the last look (found by the old file's inode among log.1, log.2, ...), oldest
 * first, then the new log from its start. A truncation in place (copytruncate: the log is
 * smaller, or the last 64 bytes read are no longer there) starts over at 0: what was written
 * between the last look and the copy is in log.1, not printed. It looks every
 * 100 ms and reads in 1 MB chunks; `write` gets Buffers (no UTF-8 split across chunks), and its
 * false (a full pipe) is waited out.
 */
export async function followLog(
  file: string,
  write: (chunk: Buffer) => boolean | void,
  signal: AbortSignal,
  opts: { tailLines?: number; waitDrain?: () => Promise<void> } = {},
): Promise<void> {
  const out = async (buf: Buffer) => {
    if (buf.length === 0) return;
    if (write(buf) === false && opts.waitDrain) await opts.waitDrain();
  };
  const openAt = (path: string, atEnd: boolean): Followed | null => {
    let fd: number;
    try { fd = openSync(path, 'r'); } catch { return null; }
    const st = fstatSync(fd);
    const f = { fd, ino: st.ino, dev: st.dev, pos: 0, mark: Buffer.alloc(0) };
    if (atEnd && st.size > 0) {
      const mark = Buffer.alloc(Math.min(MARK_BYTES, st.size));
      f.mark = mark.subarray(0, readSync(fd, mark, 0, mark.length, st.size - mark.length));
      f.pos = st.size - mark.length + f.mark.length;
    }
    return f;
  };
  /** Read `f` from its position to its end. */
  const drain = async (f: Followed) => {
    for (;;) {
      const buf = Buffer.allocUnsafe(FOLLOW_CHUNK);
      const n = readSync(f.fd, buf, 0, buf.length, f.pos);
      if (n <= 0) return;
      f.pos += n;
      const got = buf.subarray(0, n);
      f.mark = Buffer.from(n >= MARK_BYTES ? got.subarray(n - MARK_BYTES) : Buffer.concat([f.mark, got]).subarray(-MARK_BYTES));
      await out(got);
      if (signal.aborted) return;
    }
  };
  let cur = openAt(file, true);
  if (cur && (opts.tailLines ?? 0) > 0) {
    const lines = readLogTail(file, opts.tailLines!, 256 * 1024, 0, cur.pos);
    if (lines.length > 0) await out(Buffer.from(`${lines.join('\n')}\n`));
  }
  try {
    while (!signal.aborted) {
      if (!cur) {
        cur = openAt(file, false);
      } else {
        // Truncated in place (copytruncate): before reading on, or its new bytes past our
        // position would be taken for the rest of the old ones.
        if (wasTruncated(cur, fstatSync(cur.fd).size)) {
          cur.pos = 0;
          cur.mark = Buffer.alloc(0);
        }
        await drain(cur);
        const st = statSync(file, { throwIfNoEntry: false });
        if (st && (st.ino !== cur.ino || st.dev !== cur.dev)) {
          // Rotated by rename: the rest of the old file, the files rotated whole since, the new
          // log. The new log is opened first: should it be rotated too before the listing, it is
          // found in it, and what is newer is left for the next look. (Not there any more: the
          // next look tries again.)
          await drain(cur);
          const next = openAt(file, false);
          if (next) {
            const whole = rotatedSince(file, cur, next, openAt);
            closeSync(cur.fd);
            cur = next;
            for (const f of whole) {
              try { await drain(f); } finally { closeSync(f.fd); }
            }
            await drain(cur);
          }
        }
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
        const t = setTimeout(done, FOLLOW_POLL_MS);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    if (cur) closeSync(cur.fd);
  }
}

/**
 * The rotated files written after `old` and before `next` (newest is log.1), oldest first, open:
 * those numbered below the old file's place (all of them when it is gone, rotated out) and above
 * next's (when it was rotated since it was opened). Each is opened as it is listed, so a rotation
 * going on (the writer renaming log.k to log.k+1, one `mv` at a time) cannot take one away between
 * the listing and the reading; a listing whose files moved while it was taken (a second look at
 * their names finds other files) is taken again.
 */
function rotatedSince(file: string, old: Followed, next: Followed, openAt: (path: string, atEnd: boolean) => Followed | null): Followed[] {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  const same = (a: { ino: number; dev: number }, b: { ino: number; dev: number }) => a.ino === b.ino && a.dev === b.dev;
  let found: Followed[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    let names: string[] = [];
    try { names = readdirSync(dir); } catch { return []; }
    const ks = names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))).map((n) => Number(n.slice(prefix.length))).sort((a, b) => a - b);
    const opened: { k: number; f: Followed }[] = [];
    for (const k of ks) {
      const f = openAt(`${file}.${k}`, false);
      if (f) opened.push({ k, f });
    }
    // Still where they were listed: a consistent listing.
    const steady = opened.every(({ k, f }) => { const st = statSync(`${file}.${k}`, { throwIfNoEntry: false }); return !!st && same(st, f); });
    found = [];
    for (const { f } of opened) {
      if (same(f, old)) break; // the old file itself: done
      if (same(f, next)) { found = []; continue; } // newer than next: for a later look
      found.push(f);
    }
    for (const { f } of opened) if (!found.includes(f)) closeSync(f.fd);
    if (steady) break;
    for (const f of found) closeSync(f.fd);
    found = [];
  }
  return found.reverse();
}
