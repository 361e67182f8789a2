// Locks that the OS releases when their holder dies, however it dies (SIGKILL, OOM, crash).
// Linux: binding an abstract-namespace Unix socket ("\0name") is atomic and the kernel frees the
// name when the last descriptor closes, so a dead holder never leaves a stale lock. Elsewhere: an
// O_EXCL lock file holding the owner's PID, taken over when that PID is gone.
import { openSync, closeSync, writeSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { sha256 } from './hash.js';

export interface Lock {
  release(): Promise<void>;
}

export interface LockHolder {
  readonly pid: number;
  readonly since: string;
  readonly what: string;
}

const useAbstract = process.platform === 'linux';

/** The lock stayed held past the wait; says by whom. */
export class LockBusyError extends UserError {
  constructor(what: string, waitMs: number, readonly holder: LockHolder | null) {
    const who = holder ? ` held by pid ${holder.pid} (${holder.what}) since ${holder.since}` : '';
    super(`timed out after ${Math.round(waitMs / 1000)} s waiting for the ${what} lock${who}. Try again, or stop that process.`);
    this.name = 'LockBusyError';
  }
}

/** A stable key for a lock, scoped to one state directory. */
export function lockKey(scope: string, name: string): string {
  const h = sha256(scope).slice(0, 16);
  return `pguard-${h}-${name}`;
}

/** Take the lock or return null at once. */
export async function tryLock(key: string, what: string, fallbackDir: string): Promise<Lock | null> {
  const info = JSON.stringify({ pid: process.pid, since: new Date().toISOString(), what });
  if (useAbstract) {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => socket.end(info));
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') resolve(null);
        else reject(err);
      });
      server.listen({ path: `\0${key}` }, () => {
        server.unref(); // holding a lock must not keep the process alive
        resolve({ release: () => new Promise((r) => server.close(() => r())) });
      });
    });
  }
  mkdirSync(fallbackDir, { recursive: true, mode: 0o700 });
  const file = join(fallbackDir, `${key}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, info);
      closeSync(fd);
      return { release: async () => { try { unlinkSync(file); } catch { /* already gone */ } } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readFallbackHolder(file);
      if (holder && isAlive(holder.pid)) return null;
      try { unlinkSync(file); } catch { /* raced with another taker */ }
    }
  }
  return null;
}

/**
 * Wait for the lock up to waitMs (polling with jitter, so 30 concurrent writers all get through).
 * Throws a UserError naming the holder when the wait runs out.
 */
export async function acquireLock(key: string, what: string, fallbackDir: string, waitMs: number): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  let pause = 2;
  for (;;) {
    const lock = await tryLock(key, what, fallbackDir);
    if (lock) return lock;
    if (Date.now() >= deadline) throw new LockBusyError(what, waitMs, await readLockHolder(key, fallbackDir));
    await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 50);
  }
}

/** Holders in this process queue here first, so they hand the OS lock on without polling for it. */
const queues = new Map<string, Promise<unknown>>();

export async function withLock<T>(key: string, what: string, fallbackDir: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(async () => {
    const lock = await acquireLock(key, what, fallbackDir, waitMs);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  });
  queues.set(key, mine);
  try {
    return await mine;
  } finally {
    if (queues.get(key) === mine) queues.delete(key);
  }
}

/** Who holds a lock, asked of the holder itself (or read from the fallback file). */
export async function readLockHolder(key: string, fallbackDir: string): Promise<LockHolder | null> {
  if (!useAbstract) return readFallbackHolder(join(fallbackDir, `${key}.lock`));
  return new Promise((resolve) => {
    let data = '';
    const socket = net.connect({ path: `\0${key}` });
    const done = (v: LockHolder | null) => { socket.destroy(); resolve(v); };
    socket.setTimeout(1000, () => done(null));
    socket.on('data', (d) => { data += d; });
    socket.on('end', () => { try { done(JSON.parse(data) as LockHolder); } catch { done(null); } });
    socket.on('error', () => done(null));
  });
}

function readFallbackHolder(file: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
