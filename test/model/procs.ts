// What is alive, from /proc alone: every process that belongs to one registry (its environment
// names it: PGUARD_REGISTRY, and PGUARD_NAME for a process's own and its runner's), classified as
// a runner, a pguard CLI (reports, jobs, watch) or the user's (a run and whatever it started).
// A process found not to be ours is not read again, so a scan every 100 ms reads little more than
// each /proc/PID/stat.
import { readdirSync, readFileSync } from 'node:fs';

export type ProcKind = 'runner' | 'cli' | 'user';

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  /** /proc state letter: R, S, D, T (stopped), Z... */
  readonly state: string;
  readonly startTime: string;
  readonly name: string | null;
  readonly kind: ProcKind;
  readonly argv: string;
}

interface Stat { ppid: number; pgid: number; sid: number; state: string; startTime: string }

function readStat(pid: string): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), startTime: f[19]! };
  } catch {
    return null;
  }
}

function kindOf(argv: readonly string[]): ProcKind {
  return argv.some((a) => a.endsWith('/bin/pguard-runner.sh')) ? 'runner'
    : argv.some((a) => a.endsWith('/bin/pguard.js')) ? 'cli' : 'user';
}

/** Clock ticks per second of /proc/PID/stat's start time (USER_HZ: 100 on Linux). */
const HZ = 100;

export class ProcScanner {
  /**
   * pid:starttime of processes known not to be ours. Only a negative is kept, and only for a
   * process a second old or more: an exec changes a process's environment and argv but not its
   * start time, and a fresh fork (of a pguard call, of this test) execs into a runner or a call of
   * ours with an environment of its own. So an environment that says "ours" is read at every scan.
   */
  private readonly notOurs = new Set<string>();

  constructor(private readonly registry: string, private readonly stateDir: string) {}

  /** The PGUARD_NAME of a process of this registry ('' without one), or null: not ours. */
  private membership(pid: string, startTime: string, uptimeTicks: number): string | null {
    const key = `${pid}:${startTime}`;
    if (this.notOurs.has(key)) return null;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const ours = env.includes(`PGUARD_REGISTRY=${this.registry}`) || env.includes(`PGUARD_STATE_DIR=${this.stateDir}`)
        || readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(this.registry);
      if (ours) return env.find((e) => e.startsWith('PGUARD_NAME='))?.slice('PGUARD_NAME='.length) ?? '';
    } catch {
      // Gone meanwhile, or its environment unreadable (not this user's): not ours.
    }
    if (uptimeTicks - Number(startTime) >= HZ) {
      this.notOurs.add(key);
      if (this.notOurs.size > 50_000) this.notOurs.clear();
    }
    return null;
  }

  /** Every live (not zombie) process of this registry. */
  scan(): Proc[] {
    const out: Proc[] = [];
    let pids: string[];
    let uptimeTicks = 0;
    try {
      pids = readdirSync('/proc');
      uptimeTicks = Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * HZ);
    } catch { return out; }
    for (const pid of pids) {
      if (pid.charCodeAt(0) < 48 || pid.charCodeAt(0) > 57) continue;
      const st = readStat(pid);
      if (!st || st.state === 'Z' || st.state === 'X') continue;
      const name = this.membership(pid, st.startTime, uptimeTicks);
      if (name === null) continue;
      let argv: string[];
      try { argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { continue; }
      out.push({ pid: Number(pid), ...st, name: name || null, kind: kindOf(argv), argv: argv.join(' ').slice(0, 160) });
    }
    return out;
  }
}

/** A live runner is the leader of its own session (setsid); its forks and sleeps are in its group. */
export function isRunnerLeader(p: Proc): boolean {
  return p.kind === 'runner' && p.pid === p.pgid;
}

/** The watch, which runs on its own for the whole run: not a transient CLI call. */
export function isWatch(p: Proc): boolean {
  return p.kind === 'cli' && / watch( |$)/.test(p.argv) && p.argv.includes('--foreground');
}

/**
 * The instances of one process: the sessions of its runs (a run calls setsid; everything it
 * starts stays in that session) that still have a live member. `runPids`: every run's PID from
 * runs.log, so a runner's own sleeps (in the runner's session) never count as an instance.
 */
export function instancesOf(procs: readonly Proc[], name: string, runPids: ReadonlySet<number>): Map<number, Proc[]> {
  const bySession = new Map<number, Proc[]>();
  for (const p of procs) {
    if (p.name !== name || p.kind !== 'user' || !runPids.has(p.sid)) continue;
    const list = bySession.get(p.sid) ?? [];
    list.push(p);
    bySession.set(p.sid, list);
  }
  return bySession;
}

export function describeProcs(procs: readonly Proc[]): string {
  return procs.map((p) => `${p.pid}(ppid ${p.ppid} pgid ${p.pgid} sid ${p.sid} ${p.state} ${p.kind} ${p.name ?? '-'}: ${p.argv})`).join('; ');
}
