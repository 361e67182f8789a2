// pguard's own state: one private (0700) directory per registry, never world-writable /tmp. Every
// path in it comes from the layout below; nothing else joins a path inside the state directory.
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve, dirname, sep } from 'node:path';
import { UserError } from '../errors.js';
import type { Arm } from '../core/arm.js';
import type { ClockAnchor } from './clock.js';
import { lastKnownGood, type Generation, type GenerationMark, type Lineage } from '../core/lineage.js';
import { emptyRecord, type ProcessRecord } from '../core/record.js';
import { EMPTY_RUNS, type RunsView } from '../core/runs.js';
import { isStatus } from '../core/states.js';
import { writeFileAtomic } from './atomic-write.js';
import { sha256 } from './hash.js';
import { decodeRuns, encodeArm, RUNNER_FILES } from './runner-protocol.js';
import { CONTROL_BITS, isTrustedOwner, makePrivate, othersAllowed, readAccess } from './win/acl.js';

/** The state directory's layout: every file pguard keeps, in one place. */
export const STATE_LAYOUT = {
  procs: 'procs',              // procs/<name>/: PROC_LAYOUT
  logs: 'logs',                // logs/<name>.log (+ .1 .. .N rotated): the process's stdout and stderr
  alerts: 'alerts.json',       // alert history (core/alerts.ts)
  alertFlag: 'alert.flag',     // exists while an alert is unacknowledged ($settings.alert_flag moves it)
  alertText: 'alert.txt',      // what those alerts are ($settings.alert_text moves it)
  ledger: 'ledger.jsonl',      // the active ledger segment (closed ones: ledger.<first>-<last>.jsonl)
  ledgerHead: 'ledger.head',   // last seq and hash, signed
  ledgerTorn: 'ledger.torn',   // lines cut short by a crash mid-append, moved aside
  ledgerAnchor: 'ledger.anchor', // the last entry retention removed from the live chain, signed (ledger_keep_days)
  ledgerArchive: 'ledger-archive', // segments retention removed: ledger.<first>-<last>.jsonl.gz
  watchMarker: 'watch.expected', // exists while watch is meant to run
  watchBeat: 'watch.beat',     // touched by watch every tick: the guardian tells a stalled watch by it
  watchLog: 'watch.log',
  cronLog: 'cron.log',
  cronPlan: 'cron.json',       // what `cron install` put in the crontab: its interval and the schedules' own lines
  notifyLog: 'notify.log',     // the alert channels' failures, one line each
  notifyState: 'notify.json',  // per channel: the failures sent and not yet recovered, the alerts sent, those held (core/channels.ts)
  locks: 'locks',              // locks/<name>.sock: the locks (effects/lock.ts), reachable by this user only
} as const;

/** Per process, in procs/<name>/: the runner's files (runner-protocol.ts) and pguard's own. */
export const PROC_LAYOUT = {
  ...RUNNER_FILES,
  record: 'state.json',            // the ProcessRecord (core/record.ts)
  generations: 'generations.json', // definition generations (app/generations.ts)
  heartbeat: 'heartbeat',          // $PGUARD_HEARTBEAT_FILE: its mtime is the last beat
  dependentsDone: 'dependents.done', // the run after which its dependents were last restarted (one job per episode)
} as const;

export type StateFile = keyof typeof STATE_LAYOUT;
export type ProcFile = keyof typeof PROC_LAYOUT;

/** $settings.state_dir, else $PGUARD_STATE_DIR, else $XDG_STATE_HOME/pguard/<registry folder>-<hash> (%LOCALAPPDATA%\pguard\... on Windows). */
export function resolveStateDir(registryPath: string, configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) return isAbsolute(configured) ? configured : resolve(dirname(registryPath), configured);
  if (env.PGUARD_STATE_DIR) return resolve(env.PGUARD_STATE_DIR);
  const id = sha256(resolve(registryPath)).slice(0, 12);
  const folder = basename(dirname(resolve(registryPath))).replace(/[^A-Za-z0-9._-]/g, '_') || 'root';
  return join(stateBase(env), 'pguard', `${folder}-${id}`);
}

/** Where a user's state goes: $XDG_STATE_HOME, else ~/.local/state; on Windows %LOCALAPPDATA% (private by the profile's own ACL). */
export function stateBase(env: NodeJS.ProcessEnv): string {
  if (process.platform === 'win32') return env.LOCALAPPDATA && isAbsolute(env.LOCALAPPDATA) ? env.LOCALAPPDATA : join(homedir(), 'AppData', 'Local');
  return env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
}

/** Folders this process made or accepted as private, with every folder above them checked. */
const privateDirs = new Set<string>();

/**
 * Create a private (0700) directory, or accept an existing one only if it is a real folder of
 * yours that nobody else can enter: a symbolic link (planted, maybe, by another user), a folder of
 * someone else's, or one open to group or others is refused, never followed nor chmodded (as root,
 * chmodding a shared /tmp would break the machine). Every folder above it is checked too
 * (checkAncestors): whoever controls one of them controls what is below.
 */
export function ensurePrivateDir(dir: string): void {
  if (process.platform === 'win32') return ensurePrivateDirWindows(dir);
  const full = resolve(dir);
  // Below a folder already made or accepted here, its own check is enough (procs/, logs/, locks/).
  const checkAbove = !privateDirs.has(dirname(full));
  if (checkAbove) checkAncestors(full);
  const before = lstatSync(dir, { throwIfNoEntry: false });
  if (!before) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Another user may have made a missing folder on the way meanwhile (in a sticky folder such as /tmp, they can).
    if (checkAbove) checkAncestors(full);
    const made = lstatSync(dir);
    // mkdir's mode is cut by the umask, never widened: 0700 or tighter. Ours: made just now.
    if ((made.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    privateDirs.add(full);
    return;
  }
  if (before.isSymbolicLink()) {
    throw new UserError(`${dir}: the state directory is a symbolic link; pguard keeps its state only in a real folder of yours. Point PGUARD_STATE_DIR or $settings.state_dir at one.`, 2);
  }
  if (!before.isDirectory()) throw new UserError(`${dir}: the state directory is not a folder.`, 2);
  if (typeof process.getuid === 'function' && before.uid !== process.getuid()) {
    throw new UserError(`${dir}: the state directory belongs to another user (uid ${before.uid}). Set $settings.state_dir to a folder of your own.`, 2);
  }
  if ((before.mode & 0o077) !== 0) {
    throw new UserError(`${dir}: the state directory is open to ${before.mode & 0o007 ? 'everyone' : 'its group'} (mode ${(before.mode & 0o7777).toString(8)}), and pguard did not make it: it will not chmod it. Use a folder of your own (mkdir -m 700 DIR), or chmod 700 it yourself.`, 2);
  }
  privateDirs.add(full);
}

/**
 * ensurePrivateDir on Windows, where a mode is not what decides: the folder's owner and DACL
 * (effects/win/acl.ts). Its owner must be you, SYSTEM or Administrators, and it must grant nobody
 * else anything; pguard gives a folder it makes a protected DACL (you, SYSTEM, Administrators),
 * what mkdir -m 700 does on Linux. Every folder above it must be owned so too and grant no one
 * else the right to delete, rename or re-permission it or what is in it (checkAncestorsWindows).
 */
function ensurePrivateDirWindows(dir: string): void {
  const full = resolve(dir);
  const checkAbove = !privateDirs.has(dirname(full));
  if (checkAbove) checkAncestorsWindows(full);
  const before = lstatSync(full, { throwIfNoEntry: false });
  if (!before) {
    mkdirSync(full, { recursive: true });
    makePrivate(full);
    if (checkAbove) checkAncestorsWindows(full);
  } else if (before.isSymbolicLink()) {
    throw new UserError(`${dir}: the state directory is a symbolic link or junction; pguard keeps its state only in a real folder of yours. Point PGUARD_STATE_DIR or $settings.state_dir at one.`, 2);
  } else if (!before.isDirectory()) {
    throw new UserError(`${dir}: the state directory is not a folder.`, 2);
  }
  const access = readAccess(full);
  if (!access) throw new UserError(`${dir}: cannot read the state directory's owner and permissions.`, 2);
  if (!isTrustedOwner(access.owner)) throw new UserError(`${dir}: the state directory belongs to another user (${access.owner}). Set $settings.state_dir to a folder of your own.`, 2);
  const others = othersAllowed(access, ~0 >>> 0);
  if (others.length > 0) {
    throw new UserError(`${dir}: the state directory is open to ${others.join(', ')}${before ? ', and pguard did not make it: it will not change its permissions' : ''}. Use a folder of your own, or make it private yourself: icacls "${full}" /inheritance:r /grant:r "%USERNAME%:(OI)(CI)F" "SYSTEM:(OI)(CI)F".`, 2);
  }
  privateDirs.add(full);
}

/** checkAncestors on Windows: each folder above, as written and as links and junctions lead, owned by you, SYSTEM or Administrators, none of it controllable by anyone else. */
function checkAncestorsWindows(dir: string): void {
  const fix = 'Keep state under folders only you, SYSTEM or Administrators control (%LOCALAPPDATA% is one; or set PGUARD_STATE_DIR)';
  const paths = new Set<string>();
  const add = (p: string) => { for (let at = p; ; at = dirname(at)) { paths.add(at); if (dirname(at) === at) break; } };
  add(dirname(dir));
  try { add(realpathSync.native(dirname(dir))); } catch { /* not made yet: its existing part was added as written */ }
  for (const path of paths) {
    if (!lstatSync(path, { throwIfNoEntry: false })) continue; // made by mkdir below a checked folder
    const access = readAccess(path);
    if (!access) throw new UserError(`${dir}: the state directory is not safe: cannot read the owner and permissions of ${path}. ${fix}.`, 2);
    if (!isTrustedOwner(access.owner)) throw new UserError(`${dir}: the state directory is not safe: ${path} belongs to ${access.owner}, not to you, SYSTEM or Administrators: they could put their own folder in its place. ${fix}.`, 2);
    const others = othersAllowed(access, CONTROL_BITS, { onItself: true });
    if (others.length > 0) throw new UserError(`${dir}: the state directory is not safe: ${others.join(', ')} may delete, rename or re-permission ${path} or what is in it. ${fix}.`, 2);
  }
}

/** At most this many symbolic links on the way to the state directory (Linux's own limit, ELOOP). */
const MAX_LINKS = 40;

/**
 * Every folder above the state directory, from / down, as git's safe.directory and OpenSSH's
 * StrictModes check theirs: each must be owned by you or root and not writable by group or others
 * unless sticky (like /tmp, where only an entry's owner may rename it). A symbolic link on the way
 * must be yours or root's (its owner decides where it leads), and is followed: the folders it
 * leads into are checked in turn. Checking only the last component let a link another user planted
 * at $XDG_STATE_HOME/pguard put root's state in their folder. A folder that does not exist yet is
 * made by pguard (mkdir -p), under one that passed.
 */
function checkAncestors(dir: string): void {
  if (typeof process.getuid !== 'function') return;
  const me = process.getuid();
  const fix = 'Keep state under folders only you or root own and can write (set PGUARD_STATE_DIR, $settings.state_dir or XDG_STATE_HOME)';
  const refuse = (why: string, extra = '') => new UserError(`${dir}: the state directory is not safe: ${why}. ${fix}${extra}.`, 2);
  const checkFolder = (path: string, st: Stats) => {
    if (st.uid !== me && st.uid !== 0) throw refuse(`${path} belongs to uid ${st.uid}, not to you (uid ${me}) or root: that user could move it and put their own in its place`);
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      throw refuse(`${path} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit: others could put their own folder in its place`, `, or chmod go-w ${path}`);
    }
  };
  // `at` is a real path (no link in it); `rest` the components still to walk, links' targets spliced in.
  let at: string = sep;
  checkFolder(at, statSync(at));
  const rest = dirname(dir).split(sep).filter((c) => c !== '');
  let links = 0;
  while (rest.length > 0) {
    const name = rest.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      at = dirname(at); // `at` has no link in it: its parent is the lexical one
      continue;
    }
    const next = join(at, name);
    const st = lstatSync(next, { throwIfNoEntry: false });
    if (!st || !st.isDirectory() && !st.isSymbolicLink()) return; // made by mkdir below a checked folder, or mkdir fails (ENOTDIR) as before
    if (st.isSymbolicLink()) {
      if (st.uid !== me && st.uid !== 0) throw refuse(`${next} is a symbolic link of uid ${st.uid}'s, not yours or root's: that user decides where it leads`);
      if (++links > MAX_LINKS) throw refuse(`more than ${MAX_LINKS} symbolic links on the way (a loop?)`);
      const target = readlinkSync(next);
      if (isAbsolute(target)) at = sep;
      rest.unshift(...target.split(sep).filter((c) => c !== ''));
      continue;
    }
    checkFolder(next, st);
    at = next;
  }
}

/** A file's size and mtime as one string ('-' when it is missing): what tells a watcher it changed. */
export function fileStamp(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}` : '-';
}

/** Generations kept per process; the oldest that are not known-good go first. */
const GENERATIONS_KEPT = 50;

export class StateStore {
  /** Parsed files by path, reused while size and mtime are unchanged (watch reads them every second). */
  private readonly cache = new Map<string, { size: number; mtimeMs: number; value: unknown }>();

  constructor(readonly dir: string) {}

  /** Read and parse a file, or return `missing` when it does not exist (no exception thrown for that). */
  private readCached<T>(file: string, parse: (text: string) => T, missing: T): T {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) {
      this.cache.delete(file);
      return missing;
    }
    const hit = this.cache.get(file);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.value as T;
    let value: T;
    try {
      value = parse(readFileSync(file, 'utf8'));
    } catch {
      return missing;
    }
    this.cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, value });
    return value;
  }

  init(): void {
    ensurePrivateDir(this.dir);
    ensurePrivateDir(this.path('procs'));
    ensurePrivateDir(this.path('logs'));
    ensurePrivateDir(this.path('locks'));
  }

  /** A file (or folder) of the state directory. */
  path(file: StateFile): string {
    return join(this.dir, STATE_LAYOUT[file]);
  }
  procDir(name: string): string {
    return join(this.dir, STATE_LAYOUT.procs, name);
  }
  /** A file of one process's folder. */
  procFile(name: string, file: ProcFile): string {
    return join(this.procDir(name), PROC_LAYOUT[file]);
  }
  logFile(name: string): string {
    return join(this.dir, STATE_LAYOUT.logs, `${name}.log`);
  }
  runsFile(name: string): string {
    return this.procFile(name, 'runs');
  }

  ensureProc(name: string): string {
    const dir = this.procDir(name);
    ensurePrivateDir(dir);
    return dir;
  }

  readRecord(name: string): ProcessRecord {
    return this.readCached(this.procFile(name, 'record'), (text) => {
      let parsed: Partial<ProcessRecord>;
      try {
        parsed = JSON.parse(text) as Partial<ProcessRecord>;
      } catch {
        // Our own file, written atomically: unreadable only if someone edited it. Start afresh.
        return emptyRecord();
      }
      const rec = { ...emptyRecord(), ...parsed };
      return isStatus(rec.status) ? rec : { ...rec, status: 'never-started' as const };
    }, emptyRecord());
  }

  writeRecord(name: string, record: ProcessRecord): void {
    this.ensureProc(name);
    writeFileAtomic(this.procFile(name, 'record'), `${JSON.stringify(record, null, 2)}\n`, 0o600, { durable: false });
  }

  /** The arm, with the wall clock's anchor to the kernel's (effects/clock.ts) that the runner times its exit from. */
  writeArm(name: string, arm: Arm | null, anchor: ClockAnchor | null): void {
    const file = this.procFile(name, 'arm');
    // Something that is not a file in its place (a directory, say) is ours to clear: this folder is private.
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (st && !st.isFile()) rmSync(file, { recursive: true, force: true });
    const text = encodeArm(arm, anchor);
    if (text === null) {
      try { unlinkSync(file); } catch { /* none */ }
      return;
    }
    this.ensureProc(name); // a first start arms the runner before it is spawned
    writeFileAtomic(file, text, 0o600, { durable: false });
  }

  setStopMarker(name: string, on: boolean): void {
    const file = this.procFile(name, 'stop');
    if (on) {
      this.ensureProc(name);
      // Not fsynced, as the record beside it is not: the runner reads it from the page cache, and a
      // power cut ends the runner too (one fsync per process made \`stop --all\` of 2,000 take 40 s).
      writeFileAtomic(file, `${new Date().toISOString()}\n`, 0o600, { durable: false });
    } else {
      try { unlinkSync(file); } catch { /* none */ }
    }
  }

  hasStopMarker(name: string): boolean {
    return existsSync(this.procFile(name, 'stop'));
  }

  readRuns(name: string): RunsView {
    const file = this.runsFile(name);
    const older = this.readCached(`${file}.1`, (t) => t, '');
    if (older === '') return this.readCached(file, decodeRuns, EMPTY_RUNS);
    return decodeRuns(older + this.readCached(file, (t) => t, ''));
  }

  /** Keep runs.log short: once past 256 KB it moves to runs.log.1 (the runner reopens by path). */
  rotateRuns(name: string): void {
    const file = this.runsFile(name);
    try {
      // rename is atomic, and the runner opens runs.log by path for each line: its next line
      // starts a fresh file. readRuns() reads both, so the current run is never lost.
      if (this.runsNeedRotation(name)) renameSync(file, `${file}.1`);
    } catch { /* nothing to rotate */ }
  }

  /** runs.log past 256 KB: rotateRuns would rotate it. */
  runsNeedRotation(name: string): boolean {
    return (statSync(this.runsFile(name), { throwIfNoEntry: false })?.size ?? 0) > 256 * 1024;
  }

  readGenerations(name: string): Generation[] {
    return this.readCached(this.procFile(name, 'generations'), (text) => {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? (parsed as Generation[]) : [];
    }, []);
  }

  writeGenerations(name: string, gens: readonly Generation[]): void {
    this.ensureProc(name);
    const list = [...gens];
    while (list.length > GENERATIONS_KEPT) {
      const i = list.findIndex((g) => !g.known_good_at);
      list.splice(i >= 0 ? i : 0, 1);
    }
    writeFileAtomic(this.procFile(name, 'generations'), `${JSON.stringify(list, null, 1)}\n`, 0o600, { durable: false });
  }

  /** Mark a generation (true the first time). */
  markGeneration(name: string, gen: number, what: GenerationMark, at: number): boolean {
    const gens = this.readGenerations(name);
    const g = gens.find((x) => x.gen === gen);
    if (!g || g[what]) return false;
    this.writeGenerations(name, gens.map((x) => (x === g ? { ...x, [what]: new Date(at).toISOString() } : x)));
    return true;
  }

  /** What the policy needs to know of the generation a record runs. */
  readLineage(name: string, generation: number | null): Lineage | null {
    if (generation === null) return null;
    const gens = this.readGenerations(name);
    const g = gens.find((x) => x.gen === generation);
    if (!g) return null;
    return { generation, knownGood: g.known_good_at !== null, healthy: g.healthy_at !== null, fallback: lastKnownGood(gens, generation)?.gen ?? null };
  }

  /** The run of `name` after which its dependents were last restarted (restart_dependents). */
  readDependentsDone(name: string): string | null {
    return this.readCached(this.procFile(name, 'dependentsDone'), (t) => t.trim(), null);
  }

  writeDependentsDone(name: string, runId: string): void {
    writeFileAtomic(this.procFile(name, 'dependentsDone'), `${runId}\n`, 0o600, { durable: false });
  }

  removeProcess(name: string): void {
    rmSync(this.procDir(name), { recursive: true, force: true });
    const log = this.logFile(name);
    for (const f of [log, ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `${log}.${i}`)]) rmSync(f, { force: true });
  }

  exists(): boolean {
    return existsSync(this.dir);
  }
}
