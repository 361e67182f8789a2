// Stopping a process tree: stop_signal once to the process group (kill(-pgid): the runner's child
// called setsid, so its group is the user's alone) and once to each member of the tree outside that
// group, then SIGCONT to the same (a stopped process, state T, acts on no signal but SIGKILL until
// continued), then SIGKILL to whatever is left after kill_timeout. Each process gets stop_signal
// once: programs that take a second SIGINT/SIGTERM as "force quit now" (uvicorn, Node servers, npm
// scripts) still shut down gracefully. Only processes whose identity still matches are signalled.
//
// The tree comes from one process-table snapshot (pidtree with pid -1: a single `ps`), which a
// batch of stops shares. tree-kill is not used for this: it runs `ps` once per level of every tree
// and signals PIDs without checking who they are now; `stop --all` of 1,000 processes took 78 s.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from '../core/record.js';
import { isOurs, procStatFields as statFields, readBootId, readIdentity } from './identity.js';
import { readProcessTable, treeOf, type ProcessTable } from './resources.js';
import { writeFileAtomic } from './atomic-write.js';
import { RUNNER_FILES } from './runner-protocol.js';
import { jobActiveProcesses, terminateProcess, terminateRunJob } from './win/kernel32.js';

export interface StopResult {
  /** Processes that got stop_signal. */
  readonly signalled: number;
  /** Processes still alive after kill_timeout, sent SIGKILL. */
  readonly killed: number;
  /** Anything that survived even SIGKILL (uninterruptible sleep). */
  readonly survivors: number;
}

/** Every live process of the tree rooted at `root`, with its identity (taken before any signal). */
export async function snapshotTree(root: Identity, table?: ProcessTable): Promise<Identity[]> {
  const t = table ?? (await readProcessTable().catch(() => new Map<number, number[]>()));
  const out: Identity[] = [];
  for (const pid of treeOf(t, root.pid)) {
    const id = pid === root.pid ? root : readIdentity(pid);
    if (id) out.push(id);
  }
  return out;
}

function groupOf(pid: number): number | null {
  const f = statFields(pid);
  return f ? Number(f[2]) : null;
}

function signalGroup(pgid: number | null, signal: NodeJS.Signals): void {
  if (pgid === null || pgid <= 1) return;
  try { process.kill(-pgid, signal); } catch { /* group empty */ }
}

function signalVerified(ids: readonly Identity[], signal: NodeJS.Signals): void {
  for (const id of ids) {
    if (!isOurs(id)) continue;
    try { process.kill(id.pid, signal); } catch { /* gone */ }
  }
}

async function waitGone(ids: readonly Identity[], timeoutMs: number): Promise<Identity[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = ids.filter(isOurs);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    alive = alive.filter(isOurs);
  }
  return alive;
}

/**
 * Windows: a run is its job object (runner-win/main.ts). stop_signal becomes Ctrl-C to the run's
 * console (what a console program takes as SIGINT; Windows has no SIGTERM), which its runner sends
 * when asked through the interrupt file (runner-protocol.ts: a process must leave its own console
 * to send it, and the CLI's is the user's terminal). Whatever is left after kill_timeout is ended
 * whole with TerminateJobObject, as SIGKILL ends a group; a run whose job could not be made, by its
 * PID alone, its identity checked first. What is left of a run whose leader is gone: its job still
 * holds the rest. Without `procDir` (or with SIGKILL, or kill_timeout 0) it is ended at once.
 */
async function endRunWindows(root: Identity, signal: NodeJS.Signals, killTimeoutMs: number, procDir?: string): Promise<StopResult> {
  const leader = isOurs(root);
  const members = jobActiveProcesses(root.pid, root.startTime);
  if (!leader && members === 0) return { signalled: 0, killed: 0, survivors: 0 };
  const alive = () => isOurs(root) || jobActiveProcesses(root.pid, root.startTime) > 0;
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  };
  const signalled = Math.max(members, leader ? 1 : 0);
  const graceful = leader && procDir !== undefined && signal !== 'SIGKILL' && killTimeoutMs > 0;
  if (graceful) {
    writeFileAtomic(join(procDir, RUNNER_FILES.interrupt), `${root.pid}\n`, 0o600, { durable: false });
    await waitGone(killTimeoutMs);
    if (!alive()) return { signalled, killed: 0, survivors: 0 };
  }
  const killed = jobActiveProcesses(root.pid, root.startTime) || (isOurs(root) ? 1 : 0);
  if (!terminateRunJob(root.pid, root.startTime) && isOurs(root)) terminateProcess(root.pid);
  await waitGone(2000);
  const survivors = (isOurs(root) ? 1 : 0) + jobActiveProcesses(root.pid, root.startTime);
  // Only a run that was given Ctrl-C and outlived kill_timeout ignored it.
  return { signalled, killed: graceful ? killed : 0, survivors };
}

/** Stop one tree. Pass `table` to share one snapshot among several stops; `procDir` lets a Windows runner send Ctrl-C first. */
export async function stopTree(root: Identity, signal: NodeJS.Signals, killTimeoutMs: number, table?: ProcessTable, opts: { procDir?: string } = {}): Promise<StopResult> {
  if (process.platform === 'win32') return endRunWindows(root, signal, killTimeoutMs, opts.procDir);
  if (!isOurs(root)) return { signalled: 0, killed: 0, survivors: 0 };
  const tree = await snapshotTree(root, table);
  // The user's group, if the root leads one (it does under setsid; not where setsid(1) is missing,
  // where the group is the runner's and must not be signalled).
  const pgid = groupOf(root.pid) === root.pid ? root.pid : null;
  // The group is signalled as one; only the tree's members that left it get a signal of their own.
  const outside = pgid === null ? tree : tree.filter((id) => groupOf(id.pid) !== pgid);
  const send = (sig: NodeJS.Signals) => {
    signalGroup(pgid, sig);
    signalVerified(outside, sig);
  };
  send(signal);
  if (signal !== 'SIGCONT' && signal !== 'SIGKILL') send('SIGCONT');
  let alive = await waitGone(tree, killTimeoutMs);
  const killed = alive.length;
  if (killed > 0) {
    signalGroup(pgid, 'SIGKILL');
    signalVerified(alive, 'SIGKILL');
    alive = await waitGone(alive, 2000);
  }
  return { signalled: tree.length, killed, survivors: alive.length };
}

/** A live process as /proc tells it: its group, session and start time (clock ticks since boot). */
interface ProcEntry { readonly pid: number; readonly pgrp: number; readonly session: number; readonly startTime: string }

/** Group or session id -> its live members (zombies left out), from one pass over /proc; null where /proc cannot be read. */
type ProcScan = ReadonlyMap<number, readonly ProcEntry[]>;

function scanProc(): ProcScan | null {
  let entries: string[];
  try { entries = readdirSync('/proc'); } catch { return null; }
  const out = new Map<number, ProcEntry[]>();
  const add = (key: number, p: ProcEntry) => { const list = out.get(key); if (list) list.push(p); else out.set(key, [p]); };
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const rest = statFields(entry);
    if (!rest) continue;
    const [state, , pgrp, session] = rest;
    const startTime = rest[19];
    if (!startTime || state === 'Z' || state === 'X') continue;
    const p = { pid: Number(entry), pgrp: Number(pgrp), session: Number(session), startTime };
    add(p.pgrp, p);
    if (p.session !== p.pgrp) add(p.session, p);
  }
  return out;
}

let nextScan: Promise<ProcScan | null> | null = null;

/**
 * A /proc scan that begins after this call (so it sees every process alive now), shared by the
 * callers that ask before it begins: the stops of a `stop --all` ask at about the same time, and
 * each scan reads every process's stat (one per stop made `stop --all` of n processes quadratic).
 */
function freshScan(): Promise<ProcScan | null> {
  nextScan ??= new Promise((resolve) => setImmediate(() => {
    nextScan = null;
    resolve(scanProc());
  }));
  return nextScan;
}

/**
 * What is left of a run whose leader is gone (its runner died with it, say): the live members of
 * its process group or session (the run called setsid, so both bear its PID), started no earlier
 * than it, on the same boot. While any member lives the kernel gives that number to no other
 * group or session; where the PID itself lives again it may name someone else's, so nothing is
 * taken for a leftover then (its own leader, alive or a zombie, is fine). Linux only (/proc); elsewhere, none.
 */
export async function leftoversOf(run: Identity): Promise<Identity[]> {
  if (!Number.isInteger(run.pid) || run.pid <= 1 || !/^\d+$/.test(run.startTime) || run.bootId === '' || run.bootId !== readBootId()) return [];
  const scan = await freshScan();
  if (existsSync(`/proc/${run.pid}`) && (statFields(run.pid)?.[19] ?? null) !== run.startTime) return [];
  const since = BigInt(run.startTime);
  return (scan?.get(run.pid) ?? [])
    .filter((p) => BigInt(p.startTime) >= since)
    .map((p) => ({ pid: p.pid, startTime: p.startTime, bootId: run.bootId }));
}

/**
 * End what is left of a run whose leader is gone: stop_signal and SIGCONT to each leftover,
 * SIGKILL after kill_timeout, then once more for any it forked meanwhile.
 */
export async function endLeftovers(run: Identity, signal: NodeJS.Signals, killTimeoutMs: number): Promise<StopResult> {
  if (process.platform === 'win32') return endRunWindows(run, 'SIGKILL', 0);
  const found = await leftoversOf(run);
  if (found.length === 0) return { signalled: 0, killed: 0, survivors: 0 };
  signalVerified(found, signal);
  if (signal !== 'SIGCONT' && signal !== 'SIGKILL') signalVerified(found, 'SIGCONT');
  let alive = await waitGone(found, killTimeoutMs);
  const late = (await leftoversOf(run)).filter((id) => !found.some((f) => f.pid === id.pid));
  const killed = alive.length + late.length;
  if (killed > 0) {
    alive = [...alive, ...late];
    signalVerified(alive, 'SIGKILL');
    alive = await waitGone(alive, 2000);
  }
  return { signalled: found.length, killed, survivors: alive.length };
}

/**
 * Wake a runner that waits out a cooldown, so that it sees the stop marker at once (the shell runner
 * traps SIGTERM). Not on Windows, where a signal is TerminateProcess, which would cut the runner off
 * before it records its run's exit: the Windows runner looks at the marker itself every 100 ms.
 */
export function wakeRunner(runner: Identity | null): void {
  if (process.platform !== 'win32') signalIfOurs(runner, 'SIGTERM');
}

/** Signal one process only if it is ours (the runner waiting out a cooldown, say). */
export function signalIfOurs(id: Identity | null, signal: NodeJS.Signals): boolean {
  if (!id || !isOurs(id)) return false;
  try {
    process.kill(id.pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntilGone(id: Identity | null, timeoutMs: number): Promise<boolean> {
  if (!id) return true;
  return (await waitGone([id], timeoutMs)).length === 0;
}
