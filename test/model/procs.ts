// What is alive, from /proc alone: every process that belongs to one registry (its environment
// names it: PGUARD_REGISTRY, and PGUARD_NAME for a process's own and its runner's), classified as
// a runner, a pguard CLI (reports, jobs, watch) or the user's (a run and whatever it started).
// Environments are read once per process (keyed by PID and start time), so a scan every 100 ms
// reads little more than each /proc/PID/stat.
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

/** Whether a process belongs to the registry, and to which process of it: its environment says, and an exec keeps it. */
interface Membership { name: string | null }

function kindOf(argv: readonly string[]): ProcKind {
  return argv.some((a) => a.endsWith('/bin/pguard-runner.sh')) ? 'runner'
    : argv.some((a) => a.endsWith('/bin/pguard.js')) ? 'cli' : 'user';
}

export class ProcScanner {
  /** pid:starttime -> membership (null: not ours). What it runs is read again at every scan: an exec changes it, not the start time. */
  private readonly cache = new Map<string, Membership | null>();

  constructor(private readonly registry: string, private readonly stateDir: string) {}

  private membership(pid: string, startTime: string): Membership | null {
    const key = `${pid}:${startTime}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let m: Membership | null = null;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const ours = env.includes(`PGUARD_REGISTRY=${this.registry}`) || env.includes(`PGUARD_STATE_DIR=${this.stateDir}`)
        || readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(this.registry);
      if (ours) m = { name: env.find((e) => e.startsWith('PGUARD_NAME='))?.slice('PGUARD_NAME='.length) ?? null };
    } catch {
      // Gone meanwhile, or its environment unreadable: a process we cannot read is not ours
      // (everything this test starts runs as the same user).
      return null;
    }
    this.cache.set(key, m);
    if (this.cache.size > 20_000) this.cache.clear();
    return m;
  }

  /** Every live (not zombie) process of this registry. */
  scan(): Proc[] {
    const out: Proc[] = [];
    let pids: string[];
    try { pids = readdirSync('/proc'); } catch { return out; }
    for (const pid of pids) {
      if (pid.charCodeAt(0) < 48 || pid.charCodeAt(0) > 57) continue;
      const st = readStat(pid);
      if (!st || st.state === 'Z' || st.state === 'X') continue;
      const m = this.membership(pid, st.startTime);
      if (!m) continue;
      let argv: string[];
      try { argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { continue; }
      out.push({ pid: Number(pid), ...st, name: m.name, kind: kindOf(argv), argv: argv.join(' ').slice(0, 160) });
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
