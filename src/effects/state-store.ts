// pguard's own state: one private (0700) directory per registry, never world-writable /tmp.
//   procs/<name>/state.json  the ProcessRecord (written by Node, atomically)
//   procs/<name>/runs.log    "start"/"exit" lines appended by the runner (O_APPEND, one write each)
//   procs/<name>/arm         what the runner may do on its own at the next exit
//   procs/<name>/stop        marker: the user asked for a stop
//   logs/<name>.log          the process's stdout and stderr
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve, dirname } from 'node:path';
import { UserError } from '../errors.js';
import type { Arm } from '../core/policy.js';
import { emptyRecord, type ExitInfo, type ProcessRecord, type RunInfo } from '../core/record.js';
import { decodeWaitStatus } from '../core/exit.js';
import { isStatus } from '../core/states.js';
import { writeFileAtomic } from './registry-file.js';

/** $settings.state_dir, else $PGUARD_STATE_DIR, else $XDG_STATE_HOME/pguard/<registry folder>-<hash>. */
export function resolveStateDir(registryPath: string, configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) return isAbsolute(configured) ? configured : resolve(dirname(registryPath), configured);
  if (env.PGUARD_STATE_DIR) return resolve(env.PGUARD_STATE_DIR);
  const base = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  const id = createHash('sha256').update(resolve(registryPath)).digest('hex').slice(0, 12);
  const folder = basename(dirname(resolve(registryPath))).replace(/[^A-Za-z0-9._-]/g, '_') || 'root';
  return join(base, 'pguard', `${folder}-${id}`);
}

/** Create (or tighten) a directory to 0700 and refuse one that others could write into. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new UserError(`${dir}: the state directory belongs to another user (uid ${st.uid}). Set $settings.state_dir to a folder of your own.`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

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
    ensurePrivateDir(join(this.dir, 'procs'));
    ensurePrivateDir(join(this.dir, 'logs'));
  }

  procDir(name: string): string {
    return join(this.dir, 'procs', name);
  }
  logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }
  runsFile(name: string): string {
    return join(this.procDir(name), 'runs.log');
  }
  stopMarker(name: string): string {
    return join(this.procDir(name), 'stop');
  }

  ensureProc(name: string): string {
    const dir = this.procDir(name);
    ensurePrivateDir(dir);
    return dir;
  }

  readRecord(name: string): ProcessRecord {
    return this.readCached(join(this.procDir(name), 'state.json'), (text) => {
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
    writeFileAtomic(join(this.procDir(name), 'state.json'), `${JSON.stringify(record, null, 2)}\n`, 0o600, { durable: false });
  }

  /** The arm file: four numbers the POSIX runner reads with one `read`. */
  writeArm(name: string, arm: Arm | null): void {
    const file = join(this.procDir(name), 'arm');
    if (!arm) {
      try { unlinkSync(file); } catch { /* none */ }
      return;
    }
    const stable = arm.stableAfterMs;
    writeFileAtomic(file, `${arm.normalAfterMs} ${stable} ${arm.unstableOk ? 1 : 0} ${arm.notBefore}\n`, 0o600, { durable: false });
  }

  setStopMarker(name: string, on: boolean): void {
    const file = this.stopMarker(name);
    if (on) {
      this.ensureProc(name);
      writeFileAtomic(file, `${new Date().toISOString()}\n`);
    } else {
      try { unlinkSync(file); } catch { /* none */ }
    }
  }

  readRuns(name: string): RunsView {
    const file = this.runsFile(name);
    const older = this.readCached(`${file}.1`, (t) => t, '');
    if (older === '') return this.readCached(file, parseRuns, EMPTY_RUNS);
    return parseRuns(older + this.readCached(file, (t) => t, ''));
  }

  /** Keep runs.log short: once past 256 KB it moves to runs.log.1 (the runner reopens by path). */
  rotateRuns(name: string): void {
    const file = this.runsFile(name);
    try {
      // rename is atomic, and the runner opens runs.log by path for each line: its next line
      // starts a fresh file. readRuns() reads both, so the current run is never lost.
      if (statSync(file).size > 256 * 1024) renameSync(file, `${file}.1`);
    } catch { /* nothing to rotate */ }
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

const EMPTY_RUNS: RunsView = { starts: new Map(), exits: new Map(), latest: null };

export interface RunsView {
  readonly starts: ReadonlyMap<string, RunInfo>;
  readonly exits: ReadonlyMap<string, { status: number; endedAt: number }>;
  readonly latest: RunInfo | null;
}

/** Lines: `start ID PID STARTTIME BOOTID STARTED_MS` and `exit ID STATUS ENDED_MS` (BOOTID '-' when none). */
export function parseRuns(text: string): RunsView {
  const starts = new Map<string, RunInfo>();
  const exits = new Map<string, { status: number; endedAt: number }>();
  let latest: RunInfo | null = null;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'start' && f.length === 6) {
      const bootId = f[4] === '-' ? '' : f[4]!;
      const run: RunInfo = { id: f[1]!, identity: { pid: Number(f[2]), startTime: f[3]!, bootId }, startedAt: Number(f[5]) };
      starts.set(run.id, run);
      latest = run;
    } else if (f[0] === 'exit' && f.length >= 4) {
      exits.set(f[1]!, { status: Number(f[2]), endedAt: Number(f[3]) });
    }
  }
  return { starts, exits, latest };
}

/** The exit of one run as the policy sees it. */
export function exitOf(runs: RunsView, runId: string): ExitInfo | null {
  const start = runs.starts.get(runId);
  const exit = runs.exits.get(runId);
  if (!exit) return null;
  const { code, signal } = decodeWaitStatus(exit.status);
  return { runId, startedAt: start?.startedAt ?? exit.endedAt, endedAt: exit.endedAt, code, signal };
}
