// start, stop and the runner's on-exit report: observe -> core decides -> apply.
import { compareRunIds, decide, isUp, reconcileRun, type AlertIntent, type Outcome } from '../core/policy.js';
import { recordEvent, recordEvents, type PendingEvent } from './ledger.js';
import type { ExitInfo, ProcessRecord, RunInfo } from '../core/record.js';
import { describeExit, ranSeconds, runMs, type RunExit } from '../core/exit.js';
import { mustTransition } from '../core/states.js';
import { dependentsOf, orderByDependencies } from '../core/deps.js';
import { signalIfOurs, stopTree, waitUntilGone } from '../effects/kill.js';
import { readProcessTable, type ProcessTable } from '../effects/resources.js';
import { readLogTail } from '../effects/log-file.js';
import { exitOf, type RunsView } from '../effects/state-store.js';
import { UserError } from '../errors.js';
import { requireDef, runCliLater, withProcessLock, type Context } from './context.js';
import { observe } from './observe.js';
import { launchRunner, rollbackLater, writeArmFor } from './runner-control.js';
import { noteKnownGood } from './generations.js';
import { readyTimeoutMs, waitReady } from './ready.js';

export interface StartResult {
  readonly name: string;
  readonly outcome: 'started' | 'already-running' | 'died' | 'not-started';
  readonly pid: number | null;
  readonly message: string;
  readonly exit?: RunExit & { ran_s: number };
  readonly logTail?: string[];
}

type Launch =
  | { readonly name: string; readonly already: true; readonly pid: number | null; readonly pending: string }
  | { readonly name: string; readonly already: false; readonly epoch: number };

/** Bring up a runner for one process unless it (or its runner) is alive. */
async function launchOne(ctx: Context, name: string, by: 'user' | 'boot' | 'dependency' | 'rollback'): Promise<Launch> {
  const def = requireDef(ctx, name);
  return withProcessLock(ctx, name, async () => {
    const obs = observe(ctx, name);
    if (obs.processAlive || obs.runnerAlive) {
      const pending = !obs.processAlive && obs.record.nextRestartAt !== null
        ? ` (restart pending at ${new Date(obs.record.nextRestartAt).toISOString()})` : '';
      return { name, already: true as const, pid: obs.liveRun?.identity.pid ?? null, pending };
    }
    const outcome = decide(def, ctx.registry.settings, obs.record, { kind: 'start-requested', by }, ctx.clock.now());
    const rec = await launchRunner(ctx, def, outcome.record, 0);
    return { name, already: false as const, epoch: rec.epoch };
  });
}

/** Watch a fresh start through its grace period: did the first run die in it? */
async function watchStart(ctx: Context, launch: Launch, waitMs: number, pollMs = 20): Promise<StartResult> {
  const { name } = launch;
  if (launch.already) {
    return { name, outcome: 'already-running', pid: launch.pid, message: `${name} is already running${launch.pid ? ` (pid ${launch.pid})` : ''}${launch.pending}` };
  }
  const firstRun = `${launch.epoch}.1`;
  const deadline = Date.now() + waitMs;
  let pid: number | null = null;
  for (;;) {
    const runs = ctx.store.readRuns(name);
    pid = runs.starts.get(firstRun)?.identity.pid ?? pid;
    const exit = exitOf(runs, firstRun);
    if (exit) {
      return {
        name, outcome: 'died', pid,
        message: `${name} ${describeExit(exit)}, within its ${waitMs / 1000} s start check`,
        exit: { ...exit, ran_s: ranSeconds(exit) }, logTail: readLogTail(ctx.store.logFile(name), 10),
      };
    }
    // Past the grace period, still wait (briefly) for the runner to report the PID; not with --no-wait.
    if (Date.now() >= deadline && (pid !== null || waitMs === 0 || Date.now() >= deadline + 2000)) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { name, outcome: 'started', pid, message: `${name} started${pid ? ` (pid ${pid})` : ''}` };
}

/**
 * Start processes, their not-running dependencies first (level by level, each level at once),
 * then watch every fresh start through the grace period concurrently, not in turn.
 */
export async function startMany(
  ctx: Context,
  names: readonly string[],
  opts: { waitMs: number; by?: 'user' | 'boot' | 'rollback' },
): Promise<StartResult[]> {
  const order = orderByDependencies(ctx.registry.defs, names);
  if (!order.ok) throw new UserError(`depends_on has a cycle: ${order.cycle.join(' -> ')}. Remove one of these dependencies.`);
  const wanted = new Set(names);
  const levels = levelsOf(ctx, order.order);
  const launches: Launch[] = [];
  const blocked: StartResult[] = [];
  const notReady = new Map<string, string>();
  for (const [i, level] of levels.entries()) {
    // A process whose dependency is not ready is not started.
    const startable = level.filter((n) => {
      const dep = requireDef(ctx, n).dependsOn.find((d) => notReady.has(d));
      if (dep) {
        notReady.set(n, `dependency ${dep} is not ready`);
        blocked.push({ name: n, outcome: 'not-started', pid: null, message: `${n} not started: ${notReady.get(dep)}` });
      }
      return !dep;
    });
    const launched = await Promise.all(startable.map((n) => launchOne(ctx, n, wanted.has(n) ? (opts.by ?? 'user') : 'dependency')));
    launches.push(...launched);
    // Before the next level: every process of this one that others need must be ready.
    if (i < levels.length - 1) {
      const needed = new Set(levels.slice(i + 1).flat().flatMap((n) => requireDef(ctx, n).dependsOn));
      await Promise.all(launched.filter((l) => needed.has(l.name)).map(async (l) => {
        ctx.progress(`waiting for ${l.name} to be ready...`);
        const r = await waitReady(ctx, l.name, readyTimeoutMs(ctx, l.name));
        if (!r.ready) notReady.set(l.name, r.detail);
      }));
    }
  }
  // Each watcher reads its runs.log once per poll: fewer polls per process when there are many.
  const pollMs = Math.max(20, Math.ceil(launches.length / 5));
  const results = await Promise.all(launches.map((l) => watchStart(ctx, l, opts.waitMs, pollMs)));
  // Dependencies that were already running are not news; dependencies started for it are.
  return [...results.filter((r) => wanted.has(r.name) || r.outcome !== 'already-running'), ...blocked];
}

/** Group an ordered list into levels: a process's level is one more than its deepest dependency's. */
function levelsOf(ctx: Context, ordered: readonly string[]): string[][] {
  const level = new Map<string, number>();
  const levels: string[][] = [];
  for (const name of ordered) {
    const deps = ctx.registry.defs.get(name)?.dependsOn ?? [];
    const l = Math.max(-1, ...deps.map((d) => level.get(d) ?? -1)) + 1;
    level.set(name, l);
    (levels[l] ??= []).push(name);
  }
  return levels;
}

/** The ledger's account of one exit and what was decided about it. */
export function exitEvents(name: string, exit: ExitInfo, before: ProcessRecord, outcome: Outcome): PendingEvent[] {
  const ran_s = ranSeconds(exit);
  const events: PendingEvent[] = [{
    event: 'exit', process: name, at: exit.endedAt,
    details: { run: exit.runId, code: exit.code, signal: exit.signal, ran_s, outcome: outcome.next, ...(exit.vanished ? { vanished: true } : {}), ...(before.killReason ? { ended_by_pguard: before.killReason } : {}) },
  }];
  const restarts = outcome.record.totalRestarts > before.totalRestarts;
  if (restarts) events.push({ event: 'restart', process: name, details: { reason: outcome.record.reason, at: outcome.record.lastRestartAt ? new Date(outcome.record.lastRestartAt).toISOString() : null, restarts: outcome.record.restarts } });
  if (outcome.next === 'failed') events.push({ event: 'give-up', process: name, details: { reason: outcome.record.reason, restarts: outcome.record.restarts } });
  return events;
}

/** Exit ids of one runner generation after `handled` up to and including `upTo`, in order. */
function pendingExits(runs: RunsView, handled: string | null, upTo: string): string[] {
  const epoch = upTo.split('.')[0];
  return [...runs.exits.keys()]
    .filter((id) => id.split('.')[0] === epoch && compareRunIds(id, upTo) <= 0 && (handled === null || compareRunIds(id, handled) > 0))
    .sort(compareRunIds);
}

function nextRunOf(runs: RunsView, id: string): RunInfo | undefined {
  const [epoch, seq] = id.split('.');
  return runs.starts.get(`${epoch}.${Number(seq) + 1}`);
}

export interface StopResult {
  readonly name: string;
  readonly outcome: 'stopped' | 'not-running';
  readonly message: string;
}

export async function stopOne(ctx: Context, name: string, table?: ProcessTable): Promise<StopResult> {
  const def = requireDef(ctx, name);
  const before = await withProcessLock(ctx, name, async () => {
    const obs = observe(ctx, name);
    const outcome = decide(def, ctx.registry.settings, obs.record, { kind: 'stop-requested' }, ctx.clock.now());
    // The marker first: a runner that sees its process end now knows the user did it.
    ctx.store.setStopMarker(name, true);
    ctx.store.writeArm(name, null);
    ctx.store.writeRecord(name, outcome.record);
    return obs;
  });
  const run = before.liveRun;
  let detail = '';
  if (run) {
    const res = await stopTree(run.identity, def.stopSignal, def.killTimeoutS * 1000, table);
    detail = res.killed > 0
      ? ` (${def.stopSignal} ignored for ${def.killTimeoutS} s; sent SIGKILL to ${res.killed} process${res.killed === 1 ? '' : 'es'})`
      : '';
    if (res.survivors > 0) detail += `; ${res.survivors} process(es) survived SIGKILL (uninterruptible?)`;
  }
  // Wake a runner that waits out a cooldown; one that is recording the exit finishes first.
  signalIfOurs(before.record.runner, 'SIGTERM');
  if (!(await waitUntilGone(before.record.runner, 10_000))) signalIfOurs(before.record.runner, 'SIGKILL');
  await withProcessLock(ctx, name, async () => {
    // The runner exits quietly on a user stop (no Node to start per process): record the exit here.
    const rec = ctx.store.readRecord(name);
    if (rec.status === 'stopping') {
      const exit = run ? exitOf(ctx.store.readRuns(name), run.id) : null;
      ctx.store.writeRecord(name, {
        ...rec, status: mustTransition('stopping', 'stop-done'), lastExit: exit ?? rec.lastExit, updatedAt: ctx.clock.now(),
      });
    }
  });
  if (!run && !before.runnerAlive) return { name, outcome: 'not-running', message: `${name} was not running` };
  await recordEvent(ctx, 'stop', name, { signal: def.stopSignal, sigkill: detail !== '' });
  return { name, outcome: 'stopped', message: `${name} stopped${detail}` };
}

/**
 * The runner's report of an exit (`pguard on-exit`): decide, record, and return the runner's
 * instruction ("restart-at <epoch ms>" or "done") with the alerts to raise once the runner has it.
 */
export async function reportExit(
  ctx: Context, name: string, runId: string, restartedAt: number | null,
): Promise<{ instruction: string; alerts: readonly AlertIntent[]; restarted: boolean }> {
  const def = ctx.registry.defs.get(name);
  if (!def) return { instruction: 'done', alerts: [], restarted: false }; // deregistered meanwhile
  const events: PendingEvent[] = [];
  const result = await withProcessLock(ctx, name, async () => {
    const obs = observe(ctx, name);
    if (!exitOf(obs.runs, runId)) throw new UserError(`no exit recorded for run ${runId} of "${name}".`);
    // Reports can arrive out of order (a background report of a fast restart may lose the lock
    // to the report of the next exit): handle every unhandled exit of this runner, in order.
    const pending = pendingExits(obs.runs, obs.record.lastExit?.runId ?? null, runId);
    if (pending.length === 0) return { instruction: 'done', alerts: [], restarted: false, gaveUp: false }; // already handled
    let record = obs.record;
    const alerts: AlertIntent[] = [];
    let instruction = 'done';
    for (const id of pending) {
      const exit = exitOf(obs.runs, id)!;
      record = reconcileRun(record, obs.runs.starts.get(id) ?? null, ctx.clock.now());
      // An earlier exit followed by a later run of the same runner was restarted by it.
      const after = id === runId ? restartedAt : (nextRunOf(obs.runs, id)?.startedAt ?? null);
      const outcome = decide(def, ctx.registry.settings, record, { kind: 'exited', exit, restartedAt: after }, ctx.clock.now());
      events.push(...exitEvents(name, exit, record, outcome));
      const good = noteKnownGood(ctx, def, record, runMs(exit), false);
      if (good) events.push(good);
      record = outcome.record;
      alerts.push(...outcome.alerts);
      const d = outcome.decision;
      // An absolute time: however long this report took, the runner waits until then, no longer.
      instruction = d.action === 'restart' ? `restart-at ${ctx.clock.now() + d.delayMs}` : 'done';
    }
    ctx.store.writeRecord(name, record);
    writeArmFor(ctx, def, record);
    const restarted = restartedAt !== null || instruction.startsWith('restart-at');
    return { instruction, alerts, restarted, gaveUp: record.status === 'failed' && obs.record.status !== 'failed' };
  });
  await recordEvents(ctx, events);
  if (result.gaveUp) rollbackLater(ctx, name, ctx.store.readRecord(name).reason);
  return { instruction: result.instruction, alerts: result.alerts, restarted: result.restarted };
}

/**
 * After an automatic restart of `name`: restart the processes that depend on it (restart_dependents),
 * once it is ready, from a detached `pguard restart --after` so that no caller waits for it.
 */
export function restartDependentsLater(ctx: Context, name: string): string[] {
  const def = ctx.registry.defs.get(name);
  if (!def?.restartDependents) return [];
  const running = dependentsOf(ctx.registry.defs, name).filter((d) => isUp(ctx.store.readRecord(d).status));
  if (running.length === 0) return [];
  runCliLater(ctx, ['restart', ...running, '--after', name, '--no-wait']);
  return running;
}

/** Stop processes; dependents go before what they depend on (reverse start order, level by level). */
export async function stopMany(ctx: Context, names: readonly string[]): Promise<StopResult[]> {
  const order = orderByDependencies(ctx.registry.defs, names);
  const wanted = new Set(names);
  const levels = order.ok ? levelsOf(ctx, order.order.filter((n) => wanted.has(n))).reverse() : [[...names]];
  const results: StopResult[] = [];
  for (const level of levels) {
    // One process-table snapshot for the whole level (a single `ps`, not one per process).
    const table = await readProcessTable().catch(() => undefined);
    results.push(...(await Promise.all(level.map((n) => stopOne(ctx, n, table)))));
  }
  return results;
}
