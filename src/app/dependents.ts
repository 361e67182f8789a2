// restart_dependents: once a dependency has restarted and is ready, the processes that depend on
// it are stopped for it (they wait: never taken for a stop by the user) and started again, except
// those that recovered by themselves: a dependent whose probes pass again within a short window is
// left running (restarting it would be a second outage), and so is one whose own dependencies in
// question were all left running. One job per dependency episode: a job for a dependency whose job
// is already running leaves the work to that one, which goes round again if the dependency
// restarted meanwhile.
import { decide } from '../core/decide.js';
import { partitionDependents, probedDependents, recoveryWindowMs } from '../core/deps.js';
import { describeProbe } from '../core/probes.js';
import { tryLock } from '../effects/lock.js';
import { apply } from './apply.js';
import { requireDef, withProcessLock, type Context } from './context.js';
import { dependentsToRestart, observe } from './observe.js';
import { runProbes } from './probes.js';
import { readyTimeoutMs, waitReady } from './ready.js';
import { startMany, type StartResult } from './start.js';
import { stopMany } from './stop.js';

export interface DependentsRestart {
  /** Another job for the same dependency was running: it does the work. */
  readonly coalesced: boolean;
  readonly results: readonly StartResult[];
  /** The dependency was not ready in time: its dependents were left as they were. */
  readonly notReady?: string;
}

export async function restartDependents(ctx: Context, after: string, names: readonly string[], opts: { waitMs: number }): Promise<DependentsRestart> {
  const lock = await tryLock(ctx.store.path('locks'), `dependents-${after}`, `the restart of ${after}'s dependents`);
  if (!lock) return { coalesced: true, results: [] };
  try {
    let targets = [...names];
    let results: StartResult[] = [];
    for (let round = 0; round < 3 && targets.length > 0; round++) {
      const ready = await waitReady(ctx, after, readyTimeoutMs(ctx, after));
      if (!ready.ready) return { coalesced: false, results, notReady: ready.detail };
      // The run that is ready, read once it is: read before, it could still be the one before it
      // (a new runner's first start line not yet written), taken then for handled, or for a
      // restart made meanwhile (restart --no-wait restarted a dependent twice, or not at all).
      const seenRun = ctx.store.readRuns(after).latest?.id ?? null;
      // This episode (this run of the dependency) was handled already by a job that has finished.
      if (round === 0 && seenRun !== null && ctx.store.readDependentsDone(after) === seenRun) return { coalesced: true, results: [] };
      const { restart, kept } = await sortDependents(ctx, after, targets);
      results = kept;
      if (restart.length > 0) {
        await stopMany(ctx, restart, { heldFor: [after] });
        results = [...kept, ...(await startMany(ctx, restart, { waitMs: opts.waitMs, by: 'dependency', after }))];
      }
      // Restarted again while we worked (a second job was folded into this one): once more.
      if ((ctx.store.readRuns(after).latest?.id ?? null) === seenRun) {
        if (seenRun) ctx.store.writeDependentsDone(after, seenRun);
        break;
      }
      targets = dependentsToRestart(ctx, after, { withHeld: true });
    }
    return { coalesced: false, results };
  } finally {
    await lock.release();
  }
}

/**
 * Which dependents to restart, and which are left running (each said in its reason and the
 * ledger). The probes of those that only `after` could have broken run at once, for each up to
 * its recovery window.
 */
async function sortDependents(ctx: Context, after: string, targets: readonly string[]): Promise<{ restart: string[]; kept: StartResult[] }> {
  const probed = probedDependents(ctx.registry.defs, after, targets);
  const passes = new Map(await Promise.all(probed.map(async (n) => [n, await passesWithin(ctx, n)] as const)));
  const { restart, kept } = partitionDependents(ctx.registry.defs, after, targets, (n) => passes.get(n) != null);
  const results: StartResult[] = [];
  for (const k of kept) {
    const detail = k.why === 'probes-pass' ? `its probes pass again (${passes.get(k.name)})` : 'what it depends on was left running';
    const left = await leaveRunning(ctx, k.name, after, detail);
    results.push({ name: k.name, outcome: 'already-running', pid: left, message: `${k.name} left running: ${detail}` });
  }
  return { restart, kept: results };
}

/** Its probes all pass within its recovery window: what they said; null if not (or it is not up). */
async function passesWithin(ctx: Context, name: string): Promise<string | null> {
  const def = requireDef(ctx, name);
  const deadline = Date.now() + recoveryWindowMs(def);
  for (;;) {
    const run = observe(ctx, name).liveRun;
    if (!run) return null;
    const results = await runProbes(ctx, def, run);
    if (results.every((r) => r.ok)) return results.map((r, i) => `${describeProbe(def.health[i]!)}: ${r.detail}`).join('; ');
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Record that a dependent was left running (its reason, a `left-running` event): its PID. */
async function leaveRunning(ctx: Context, name: string, after: string, detail: string): Promise<number | null> {
  const def = requireDef(ctx, name);
  return withProcessLock(ctx, name, async () => {
    const seen = observe(ctx, name);
    const plan = decide(def, ctx.registry.settings, seen.record, { kind: 'left-running', after, detail }, ctx.clock.now());
    await apply(ctx, def, seen, plan);
    return seen.liveRun?.identity.pid ?? null;
  });
}
