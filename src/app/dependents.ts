// restart_dependents: once a dependency has restarted and is ready, the processes that depend on
// it are stopped for it (they wait: never taken for a stop by the user) and started again. One job
// per dependency episode: a job for a dependency whose job is already running leaves the work to
// that one, which goes round again if the dependency restarted meanwhile.
import { tryLock } from '../effects/lock.js';
import type { Context } from './context.js';
import { dependentsToRestart } from './observe.js';
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
    // This episode (this run of the dependency) was handled already by a job that has finished.
    const handled = ctx.store.readDependentsDone(after);
    if (handled !== null && handled === (ctx.store.readRuns(after).latest?.id ?? null)) return { coalesced: true, results: [] };
    let targets = [...names];
    let results: StartResult[] = [];
    for (let round = 0; round < 3 && targets.length > 0; round++) {
      const seenRun = ctx.store.readRuns(after).latest?.id ?? null;
      const ready = await waitReady(ctx, after, readyTimeoutMs(ctx, after));
      if (!ready.ready) return { coalesced: false, results, notReady: ready.detail };
      await stopMany(ctx, targets, { heldFor: [after] });
      results = await startMany(ctx, targets, { waitMs: opts.waitMs, by: 'dependency', after });
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
