// Locks that only this user can hold, and that outlive no holder.
//
// A lock is a Unix socket bound in a private (0700) folder of the user's: `<dir>/<name>.sock`. No
// other local user can bind, replace or even reach it (an abstract-namespace name, which any user
// can take first, was squattable: see issue 11). Taking it is atomic (a socket bound under a name
// of its own, then linked to the lock's name); the holder answers whoever connects with who it is. When a holder dies without releasing (SIGKILL, OOM, crash), its socket
// file stays but nobody listens: a connect is refused, which is how a dead holder is told from a
// live one, without PIDs or clocks. Taking a dead holder's lock over (unlink, bind) is done under a
// takeover guard (a mkdir, atomic), so that two takers can never both remove and re-bind it. A
// guard whose taker died inside that window of microseconds is taken as abandoned after
// TAKEOVER_ABANDONED_MS.
import { closeSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { net } from './lazy-builtins.js';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { sha256 } from './hash.js';
import { readIdentity } from './identity.js';
import { writeFileAtomic } from './atomic-write.js';
import { isTrustedOwner, othersAllowed, readAccess, WRITE_BITS } from './win/acl.js';

export interface Lock {
  release(): Promise<void>;
}

/** Who holds a lock, as the holder says; its identity lets a caller check it before any signal. */
export interface LockHolder {
  readonly pid: number;
  readonly since: string;
  readonly what: string;
  readonly startTime: string;
  readonly bootId: string;
  readonly uid: number | null;
}

const TAKEOVER_ABANDONED_MS = 10_000;
/** sun_path holds 108 bytes on Linux (104 on macOS), the terminating NUL included. */
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

/** The lock stayed held past the wait; says by whom. */
export class LockBusyError extends UserError {
  constructor(what: string, waitMs: number, readonly holder: LockHolder | null) {
    const who = holder ? ` held by pid ${holder.pid} (${holder.what}) since ${holder.since}` : '';
    super(`timed out after ${Math.round(waitMs / 1000)} s waiting for the ${what} lock${who}. Try again, or stop that process.`, 1, 'busy');
    this.name = 'LockBusyError';
  }
}

/** The socket's file name: the lock's name when it is short and plain, else a hash of it. */
export function lockFileName(name: string): string {
  return /^[A-Za-z0-9._-]{1,48}$/.test(name) ? `${name}.sock` : `h-${sha256(name).slice(0, 24)}.sock`;
}

/**
 * The folder of the locks: made 0700 when missing; a symbolic link or a folder another user could
 * enter is refused (it lives in the private state directory, so only the user or root could have
 * put one there).
 */
function ensureLockDir(dir: string): void {
  if (process.platform === 'win32') return ensureLockDirWindows(dir);
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new UserError(`${dir}: the lock folder is not a real folder; pguard will not keep its locks there.`, 2);
  if ((st.mode & 0o022) !== 0 || (typeof process.getuid === 'function' && st.uid !== process.getuid() && st.uid !== 0)) {
    throw new UserError(`${dir}: another user could write the lock folder (owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); pguard will not keep its locks there.`, 2);
  }
}

/** ensureLockDir on Windows: the owner and DACL decide (effects/win/acl.ts), not a mode. */
function ensureLockDirWindows(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) mkdirSync(dir, { recursive: true }); // inside the private state folder: its DACL is inherited
  else if (st.isSymbolicLink() || !st.isDirectory()) throw new UserError(`${dir}: the lock folder is not a real folder; pguard will not keep its locks there.`, 2);
  const access = readAccess(dir);
  const others = access ? othersAllowed(access, WRITE_BITS) : ['(its permissions cannot be read)'];
  if (!access || !isTrustedOwner(access.owner) || others.length > 0) {
    throw new UserError(`${dir}: another user could write the lock folder (${access && !isTrustedOwner(access.owner) ? `owner ${access.owner}` : others.join(', ')}); pguard will not keep its locks there.`, 2);
  }
}

/**
 * Windows: a lock is a file opened with share mode 0 (libuv's UV_FS_O_EXLOCK): a second opener,
 * in this process or another, gets EBUSY until the holder closes it or dies (the OS closes a dead
 * process's handles, so a lock never outlives its holder). Who holds it is in NAME.holder beside it.
 */
const UV_FS_O_EXLOCK = 0x10000000;
function lockPathsWindows(dir: string, name: string): { lock: string; holder: string } {
  const base = join(dir, lockFileName(name).replace(/\.sock$/, ''));
  return { lock: `${base}.lock`, holder: `${base}.holder` };
}
function openExclusive(path: string): number | null {
  try {
    return openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT | UV_FS_O_EXLOCK, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EBUSY' || code === 'EACCES' || code === 'EPERM') return null;
    throw err;
  }
}
function tryLockWindows(dir: string, name: string, what: string): Lock | null {
  ensureLockDir(dir);
  const paths = lockPathsWindows(dir, name);
  const fd = openExclusive(paths.lock);
  if (fd === null) return null;
  try { writeFileAtomic(paths.holder, describeSelf(what), 0o600, { durable: false }); } catch { /* who holds it is a courtesy */ }
  let released = false;
  return { release: async () => { if (!released) { released = true; closeSync(fd); } } };
}
function lockHeldWindows(dir: string, name: string): boolean {
  const paths = lockPathsWindows(dir, name);
  if (!lstatSync(paths.lock, { throwIfNoEntry: false })) return false;
  const fd = openExclusive(paths.lock);
  if (fd === null) return true;
  closeSync(fd);
  return false;
}

/** Folders opened once per process, so that a long path is bound through /proc/self/fd/N/. */
const dirFds = new Map<string, number>();

/** A path the kernel accepts for bind/connect, however long the folder's own path is. */
function socketAddress(dir: string, file: string): string {
  const direct = join(dir, file);
  if (Buffer.byteLength(direct) <= MAX_SOCKET_PATH) return direct;
  if (process.platform !== 'linux') throw new UserError(`${direct}: the path is too long for a lock socket (${MAX_SOCKET_PATH} bytes at most); use a shorter state directory.`, 2);
  let fd = dirFds.get(dir);
  // The folder may have been removed and made again since it was opened: open the one there now.
  if (fd !== undefined && fstatSync(fd).ino !== lstatSync(dir, { throwIfNoEntry: false })?.ino) {
    closeSync(fd);
    fd = undefined;
  }
  if (fd === undefined) {
    fd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
    dirFds.set(dir, fd);
  }
  return `/proc/self/fd/${fd}/${file}`;
}

type Probe = { state: 'live'; holder: LockHolder | null } | { state: 'dead' } | { state: 'gone' };

/** Knock on the socket: someone listening (live), nobody (a dead holder's file), or no file. */
function probe(address: string, wantHolder: boolean): Promise<Probe> {
  return new Promise((resolve) => {
    let data = '';
    let connected = false;
    const socket = net().connect({ path: address });
    const done = (p: Probe) => { socket.destroy(); resolve(p); };
    socket.setTimeout(1000, () => done({ state: 'live', holder: null }));
    socket.on('connect', () => {
      connected = true;
      if (!wantHolder) done({ state: 'live', holder: null });
    });
    socket.on('data', (d) => { data += d; });
    socket.on('end', () => done({ state: 'live', holder: parseHolder(data) }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) done({ state: 'live', holder: null });
      else if (err.code === 'ECONNREFUSED') done({ state: 'dead' });
      else if (err.code === 'ENOENT') done({ state: 'gone' });
      // EAGAIN: the holder's backlog is full; it is alive.
      else done({ state: 'live', holder: null });
    });
  });
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (!Number.isInteger(v.pid) || typeof v.what !== 'string' || typeof v.since !== 'string') return null;
    return { pid: v.pid!, since: v.since, what: v.what, startTime: String(v.startTime ?? ''), bootId: String(v.bootId ?? ''), uid: typeof v.uid === 'number' ? v.uid : null };
  } catch {
    return null;
  }
}

let selfInfo: Omit<LockHolder, 'what' | 'since'> | undefined;
function describeSelf(what: string): string {
  selfInfo ??= (() => {
    const id = readIdentity(process.pid);
    return { pid: process.pid, startTime: id?.startTime ?? '', bootId: id?.bootId ?? '', uid: typeof process.getuid === 'function' ? process.getuid() : null };
  })();
  return JSON.stringify({ ...selfInfo, what, since: new Date().toISOString() });
}

/**
 * Bind a socket under a name of our own, then link it to the lock's name: link(2) fails when the
 * name is taken, so the lock is taken atomically; null when it was. (Bound at the lock's name
 * directly, Node would unlink that name when it closes the socket, maybe after a successor bound
 * it: the name would be freed under the successor's feet. Here it unlinks only its own name.)
 */
function bind(dir: string, file: string, info: string): Promise<Lock | null> {
  // Unique among this user's processes (the folder is private): the PID, and a random suffix.
  const own = `${file}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
  return new Promise((resolve, reject) => {
    const server = net().createServer((socket) => { socket.on('error', () => undefined); socket.end(info); });
    server.once('error', reject);
    server.listen({ path: socketAddress(dir, own) }, () => {
      server.unref(); // holding a lock must not keep the process alive
      let linked = false;
      try {
        linkSync(join(dir, own), join(dir, file));
        linked = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          server.close();
          return reject(err);
        }
      } finally {
        try { unlinkSync(join(dir, own)); } catch { /* gone */ }
      }
      if (!linked) {
        server.close();
        return resolve(null);
      }
      // The name goes first, while we still listen: never a moment when it names a dead socket.
      resolve({
        release: () => new Promise((r) => {
          try { unlinkSync(join(dir, file)); } catch { /* removed with its folder */ }
          server.close(() => r());
        }),
      });
    });
  });
}

/** Take the lock `name` in the private folder `dir`, or return null at once when it is held. */
export async function tryLock(dir: string, name: string, what: string): Promise<Lock | null> {
  if (process.platform === 'win32') return tryLockWindows(dir, name, what);
  ensureLockDir(dir);
  const file = lockFileName(name);
  const info = describeSelf(what);
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock = await bind(dir, file, info);
    if (lock) return lock;
    const seen = await probe(socketAddress(dir, file), false);
    if (seen.state === 'live') return null;
    if (seen.state === 'gone') continue; // released between our bind and our knock
    return takeOver(dir, file, info);
  }
  return null;
}

/** A dead holder's socket: remove and re-bind it, one taker at a time. */
async function takeOver(dir: string, file: string, info: string): Promise<Lock | null> {
  const guard = join(dir, `${file}.takeover`);
  try {
    mkdirSync(guard, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another taker is at it, or died in the middle: an abandoned guard is cleared for the next try.
    const st = statSync(guard, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > TAKEOVER_ABANDONED_MS) {
      try { rmdirSync(guard); } catch { /* cleared by someone else */ }
    }
    return null;
  }
  try {
    // Under the guard: still dead (not re-bound by a taker that went before us)?
    if ((await probe(socketAddress(dir, file), false)).state === 'dead') {
      try { unlinkSync(join(dir, file)); } catch { /* gone */ }
    }
    return await bind(dir, file, info);
  } finally {
    try { rmdirSync(guard); } catch { /* gone */ }
  }
}

/**
 * Wait for the lock up to waitMs (polling with jitter, so 30 concurrent writers all get through).
 * Throws a UserError naming the holder when the wait runs out.
 */
export async function acquireLock(dir: string, name: string, what: string, waitMs: number): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  let pause = 2;
  for (;;) {
    const lock = await tryLock(dir, name, what);
    if (lock) return lock;
    if (Date.now() >= deadline) throw new LockBusyError(what, waitMs, await readLockHolder(dir, name));
    await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 50);
  }
}

/** Holders in this process queue here first, so they hand the OS lock on without polling for it. */
const queues = new Map<string, Promise<unknown>>();

export async function withLock<T>(dir: string, name: string, what: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const key = join(dir, name);
  const before = queues.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(async () => {
    const lock = await acquireLock(dir, name, what, waitMs);
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

/** Who holds the lock, asked of the holder itself; null when nobody does (or it does not say). */
export async function readLockHolder(dir: string, name: string): Promise<LockHolder | null> {
  if (!lstatSync(dir, { throwIfNoEntry: false })) return null;
  if (process.platform === 'win32') {
    if (!lockHeldWindows(dir, name)) return null;
    try { return parseHolder(readFileSync(lockPathsWindows(dir, name).holder, 'utf8')); } catch { return null; }
  }
  const seen = await probe(socketAddress(dir, lockFileName(name)), true);
  return seen.state === 'live' ? seen.holder : null;
}

/** Whether anyone holds the lock (a live listener), without taking it. */
export async function isLockHeld(dir: string, name: string): Promise<boolean> {
  if (!lstatSync(dir, { throwIfNoEntry: false })) return false;
  if (process.platform === 'win32') return lockHeldWindows(dir, name);
  return (await probe(socketAddress(dir, lockFileName(name)), false)).state === 'live';
}

/**
 * The holder's PID, only when it may be signalled: above 1, the same live process the holder
 * described (PID, start time, boot), running as this user. A PID read from a socket is a claim.
 */
export function signallablePid(holder: LockHolder | null): number | null {
  if (!holder || !Number.isInteger(holder.pid) || holder.pid <= 1) return null;
  const live = readIdentity(holder.pid);
  if (!live || live.startTime !== holder.startTime || live.bootId !== holder.bootId) return null;
  // Linux: /proc/PID belongs to the process's user (elsewhere the private folder is the guard).
  if (process.platform === 'linux' && typeof process.getuid === 'function') {
    const owner = statSync(`/proc/${holder.pid}`, { throwIfNoEntry: false })?.uid;
    if (owner !== process.getuid()) return null;
  }
  return holder.pid;
}
