// Writing a file so that a reader never sees it half-written: temp file beside it, then rename(2),
// which replaces the target atomically on one filesystem.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * temp file in the same folder, fsync, rename over the target, fsync the folder. `durable: false`
 * skips the two fsyncs (the rename is atomic either way): for pguard's own state, rewritten at every
 * start and exit, where a power cut may cost the last change but never leaves a torn file. The
 * registry, the user's data, is always written durably.
 */
export function writeFileAtomic(target: string, content: string | Uint8Array, mode = 0o600, opts: { durable?: boolean } = {}): void {
  const durable = opts.durable ?? true;
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fd: number;
  try { fd = openSync(tmp, 'wx', mode); } catch (err) { throw named(err, target, 'open'); }
  try {
    fchmodSync(fd, mode); // keep the file's own mode, whatever the umask
    if (typeof content === 'string') writeSync(fd, content);
    else writeSync(fd, content);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* best effort */ }
    throw named(err, target, 'write');
  }
  closeSync(fd);
  try {
    renameOver(tmp, target);
  } catch (err) {
    // An immutable target, a read-only mount: leave no temp file behind.
    try { unlinkSync(tmp); } catch { /* best effort */ }
    throw err;
  }
  if (!durable) return;
  try {
    const dfd = openSync(dirname(target), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    /* some filesystems refuse fsync on a directory; the rename is still atomic */
  }
}

/**
 * rename(2). On Windows a rename over a file that another process has open (a `status` reading
 * state.json, an antivirus scan) fails with EPERM, EACCES or EBUSY for as long as it is open: a
 * reader holds it for microseconds, so it is tried again for up to 2 s (as graceful-fs does).
 */
function renameOver(from: string, to: string): void {
  if (process.platform !== 'win32') return renameSync(from, to);
  const deadline = Date.now() + 2000;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      return renameSync(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY') || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause); // a synchronous pause
    }
  }
}

/** A write(2) error names no file: name the one being written, so the user is told which (cli/report.ts). */
function named(err: unknown, path: string, syscall: string): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    if (typeof e.path !== 'string') e.path = path;
    if (typeof e.syscall !== 'string') e.syscall = syscall;
  }
  return err;
}
