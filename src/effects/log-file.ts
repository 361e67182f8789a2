// Process logs: tail, follow, and copytruncate rotation. A detached process keeps its log open
// (O_APPEND) and has no parent to reopen it, so rotation copies the file aside and truncates it in
// place; the process's next write lands at the new end of the now-empty file.
import { closeSync, copyFileSync, existsSync, openSync, readSync, renameSync, rmSync, statSync, truncateSync, watch } from 'node:fs';

/** The last `lines` lines, reading at most `maxBytes` from the end. */
/**
 * The last `lines` lines of a log, read from its end (at most maxBytes); with `from`, only what was
 * written past that offset (one run's output: a log that has since been rotated is read whole).
 */
export function readLogTail(file: string, lines: number, maxBytes = 256 * 1024, from = 0): string[] {
  if (lines <= 0) return [];
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(file).size;
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

/** Whether rotateLog would rotate it now (a stat, no lock needed). */
export function logNeedsRotation(file: string, maxMb: number): boolean {
  if (maxMb <= 0) return false;
  const st = statSync(file, { throwIfNoEntry: false });
  return !!st && st.size >= maxMb * 1024 * 1024;
}

/** Rotate past maxMb: log -> log.1 -> ... -> log.<keep>; returns true when it rotated. */
export function rotateLog(file: string, maxMb: number, keep: number): boolean {
  if (!logNeedsRotation(file, maxMb)) return false;
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

/** Print new bytes as they are appended (and start over after a rotation) until `signal` aborts. */
export async function followLog(file: string, write: (chunk: string) => void, signal: AbortSignal): Promise<void> {
  let pos = existsSync(file) ? statSync(file).size : 0;
  const pump = () => {
    let size: number;
    try { size = statSync(file).size; } catch { return; }
    if (size < pos) pos = 0; // truncated by a rotation
    if (size === pos) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - pos);
      readSync(fd, buf, 0, buf.length, pos);
      pos = size;
      write(buf.toString('utf8'));
    } finally {
      closeSync(fd);
    }
  };
  let watcher: ReturnType<typeof watch> | undefined;
  try { watcher = watch(file, () => pump()); } catch { /* polling below covers it */ }
  const timer = setInterval(pump, 250); // fs.watch misses events on some filesystems
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  clearInterval(timer);
  watcher?.close();
}
