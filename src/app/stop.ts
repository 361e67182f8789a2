// `stop` (and restart, deregister, rollback): observe -> decide -> apply under the process lock
// (marker, arm, record, and the signals started), the signals awaited outside it, the runner woken,
// then the stop's end decided and applied the same way.
import { decide } from '../core/decide.js';
import { orderByDependencies } from '../core/deps.js';
import { exitOf } from '../core/runs.js';
import type { RunInfo } from '../core/record.js';
import { isOurs } from '../effects/identity.js';
import { endLeftovers, signalIfOurs, stopTree, waitUntilGone, wakeRunner } from '../effects/kill.js';
import { readProcessTable, type ProcessTable } from '../effects/resources.js';
import { UserError } from '../errors.js';
import { apply } from './apply.js';
import { requireAnyDef, withProcessLock, type Context } from './context.js';
import { lineageOf, observe } from './observe.js';
import { levelsOf } from './start.js';

export interface StopResult {
  readonly name: string;
  readonly outcome: 'stopped' | 'not-running';
  readonly message: string;
}

/** Stop one process; with `heldFor`, pguard stops it for those dependencies, and it waits for them. */
export async function stopOne(ctx: Context, name: string, table?: ProcessTable, heldFor?: readonly string[]): Promise<StopResult> {
  const def = requireAnyDef(ctx, name);
  const { seen, ending } = await withProcessLock(ctx, name, async () => {
    const seen = observe(ctx, name);
    const plan = decide(def, ctx.registry.settings, seen.record, { kind: 'stop-requested', ...(heldFor ? { heldFor } : {}) }, ctx.clock.now());
    try {
      const applied = await apply(ctx, def, seen, plan, table ? { table } : {});
      return { seen, ending: applied.ending };
    } catch (err) {
      if (!isStateUnwritable(err)) throw err;
      // The state directory cannot be written (a full disk): stop it all the same, runner first
      // (without the marker it would restart the run), then say what could not be recorded.
      signalIfOurs(seen.record.runner, 'SIGKILL');
      if (seen.liveRun) await stopTree(seen.liveRun.identity, def.stopSignal, def.killTimeoutS * 1000, table);
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError(`${name} stopped, but its state could not be written (${code}: ${code === 'ENOSPC' ? 'no space left on the device' : code === 'EDQUOT' ? 'disk quota exceeded' : 'read-only file system'}) in ${ctx.store.dir}. Free space there: until then pguard cannot record the stop, and a healthcheck may start it again.`);
    }
  });
  const run = seen.liveRun;
  let detail = '';
  const res = ending ? await ending : null;
  // (On Windows stop_signal is Ctrl-C to the run's console, and what is left is ended with its job: kill.ts.)
  const sigkilled = (killed: number) => process.platform === 'win32'
    ? ` (Ctrl-C ignored for ${def.killTimeoutS} s; ended ${killed} process${killed === 1 ? '' : 'es'})`
    : ` (${def.stopSignal} ignored for ${def.killTimeoutS} s; sent SIGKILL to ${killed} process${killed === 1 ? '' : 'es'})`;
  if (res) {
    detail = res.killed > 0 ? sigkilled(res.killed) : '';
    if (res.survivors > 0) detail += `; ${res.survivors} process(es) survived SIGKILL (uninterruptible?)`;
  }
  // Wake a runner that waits out a cooldown; one that is recording the exit finishes first.
  wakeRunner(seen.record.runner);
  if (!(await waitUntilGone(seen.record.runner, 10_000))) signalIfOurs(seen.record.runner, 'SIGKILL');
  // A run the runner began while the stop was on its way (a fast restart past the marker): the
  // runner is gone now, so nothing newer can begin; end what did.
  for (let late = lateRun(ctx, name, run?.id ?? null); late; late = lateRun(ctx, name, late.id)) {
    const res = await stopTree(late.identity, def.stopSignal, def.killTimeoutS * 1000, undefined, { procDir: ctx.store.procDir(name) });
    if (res.killed > 0 && !detail) detail = sigkilled(res.killed);
  }
  // What is left of its last run now that its leader is gone: members of the run's group or
  // session that no runner will end (its runner died with the leader; or they left the tree).
  const last = ctx.store.readRuns(name).latest;
  const left = last ? await endLeftovers(last.identity, def.stopSignal, def.killTimeoutS * 1000) : null;
  if (left && left.killed > 0 && !detail) detail = sigkilled(left.killed);
  if (left && left.survivors > 0) detail += `; ${left.survivors} process(es) survived SIGKILL (uninterruptible?)`;
  const leftovers = !run && !seen.runnerAlive ? (left?.signalled ?? 0) : 0;
  const wasRunning = run !== null || seen.runnerAlive || leftovers > 0;
  await withProcessLock(ctx, name, async () => {
    const after = observe(ctx, name);
    const exit = run ? exitOf(after.runs, run.id) : null;
    const plan = decide(def, ctx.registry.settings, after.record, {
      kind: 'stop-finished', run, exit, wasRunning, signal: def.stopSignal, sigkill: detail !== '', lineage: lineageOf(ctx, name, after.record),
    }, ctx.clock.now());
    await apply(ctx, def, after, plan);
  });
  if (!wasRunning) return { name, outcome: 'not-running', message: `${name} was not running${seen.record.schedule?.armed ? '; its schedule is off until `pguard start`' : ''}` };
  if (leftovers > 0) {
    const what = `${leftovers} process${leftovers === 1 ? '' : 'es'}`;
    return { name, outcome: 'stopped', message: `${name} stopped: ended ${what} left of its last run, whose runner had died${detail}` };
  }
  return { name, outcome: 'stopped', message: `${name} stopped${detail}` };
}

/** A write to the state directory failed for want of space, quota or a writable file system. */
function isStateUnwritable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
}

/** The newest run of the process if it is alive and is not `known` (that one is being stopped already). */
function lateRun(ctx: Context, name: string, known: string | null): RunInfo | null {
  const runs = ctx.store.readRuns(name);
  const latest = runs.latest;
  if (!latest || latest.id === known || runs.exits.has(latest.id) || !isOurs(latest.identity)) return null;
  return latest;
}

/** Stop processes; dependents go before what they depend on (reverse start order, level by level). */
export async function stopMany(ctx: Context, names: readonly string[], opts: { heldFor?: readonly string[] } = {}): Promise<StopResult[]> {
  const order = orderByDependencies(ctx.registry.defs, names);
  const wanted = new Set(names);
  const levels = order.ok ? levelsOf(ctx, order.order.filter((n) => wanted.has(n))).reverse() : [[...names]];
  const results: StopResult[] = [];
  for (const level of levels) {
    // One process-table snapshot for the whole level (a single `ps`, not one per process).
    const table = await readProcessTable().catch(() => undefined);
    results.push(...(await Promise.all(level.map((n) => stopOne(ctx, n, table, opts.heldFor)))));
  }
  return results;
}
