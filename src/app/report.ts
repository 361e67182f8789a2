// The runner's report of an exit (`pguard on-exit`): observe -> decide -> apply for every exit of
// this runner not yet handled, in order, and the instruction the runner waits for.
import type { AlertIntent } from '../core/alerts.js';
import { decide } from '../core/decide.js';
import { exitOf, nextRunOf, pendingExits, reconcileRun } from '../core/runs.js';
import { encodeInstruction } from '../effects/runner-protocol.js';
import { UserError } from '../errors.js';
import { apply } from './apply.js';
import { withProcessLock, type Context } from './context.js';
import { blockedByOf, lineageOf, observe } from './observe.js';

export interface ExitReport {
  /** For the runner's slow path (runner-protocol.ts): "restart-at <ms>" or "done". */
  readonly instruction: string;
  readonly alerts: readonly AlertIntent[];
  /** This report restarted the process, or scheduled its restart. */
  readonly restarted: boolean;
}

export async function reportExit(ctx: Context, name: string, runId: string, restartedAt: number | null): Promise<ExitReport> {
  const def = ctx.registry.defs.get(name);
  if (!def) return { instruction: 'done', alerts: [], restarted: false }; // deregistered meanwhile
  return withProcessLock(ctx, name, async () => {
    const seen = observe(ctx, name);
    if (!exitOf(seen.runs, runId)) throw new UserError(`no exit recorded for run ${runId} of "${name}".`);
    // Reports can arrive out of order (a background report of a fast restart may lose the lock
    // to the report of the next exit): handle every unhandled exit of this runner, in order.
    let record = seen.record;
    const alerts: AlertIntent[] = [];
    let instruction = 'done';
    let restarted = false;
    for (const id of pendingExits(seen.runs, seen.record.lastExit?.runId ?? null, runId)) {
      const exit = exitOf(seen.runs, id)!;
      const before = reconcileRun(record, seen.runs.starts.get(id) ?? null, ctx.clock.now());
      // An earlier exit followed by a later run of the same runner was restarted by it.
      const after = id === runId ? restartedAt : (nextRunOf(seen.runs, id)?.startedAt ?? null);
      const lineage = lineageOf(ctx, name, before);
      const plan = decide(def, ctx.registry.settings, before, { kind: 'exited', exit, restartedAt: after, lineage, blockedBy: blockedByOf(ctx, def) }, ctx.clock.now());
      record = (await apply(ctx, def, { record: before, liveRun: null }, plan)).record;
      alerts.push(...plan.alerts);
      instruction = encodeInstruction(plan.decision, ctx.clock.now());
      restarted = restartedAt !== null || plan.decision.action === 'restart';
    }
    return { instruction, alerts, restarted };
  });
}
