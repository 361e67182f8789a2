// Dependents that wait for a dependency (status waiting, held for it) come back once it is ready,
// whoever started it (a user's start, boot, a rollback, the runner's restart, healthcheck): a
// background job waits for its readiness, records it with the look healthcheck would give it, then
// gives each waiting dependent that look too, which starts it when nothing else holds it (the
// waiting -> running edge of core/on-check.ts: no budget spent, its reason says why).
import type { ProcessDef } from '../core/schema.js';
import { tryLock } from '../effects/lock.js';
import { checkProcess } from './check.js';
import type { Context } from './context.js';
import { waitingDependentsOf } from './observe.js';
import { readyTimeoutMs, waitReady } from './ready.js';

export interface Woken {
  readonly started: readonly string[];
  /** Still waiting (for another dependency, say). */
  readonly waiting: readonly string[];
  /** The dependency was not ready in time: they wait for the next look. */
  readonly notReady?: string;
}

export async function wakeDependents(ctx: Context, after: string, names: readonly string[]): Promise<Woken> {
  const dep = ctx.registry.defs.get(after);
  if (!dep) return { started: [], waiting: [...names] };
  // One job per dependency at a time (a crash loop restarts it often): a second leaves it to the first.
  const lock = await tryLock(ctx.store.path('locks'), `wake-${after}`, `the start of what waits for ${after}`);
  if (!lock) return { started: [], waiting: [...names] };
  try {
    return await wake(ctx, dep, after, names);
  } finally {
    await lock.release();
  }
}

async function wake(ctx: Context, dep: ProcessDef, after: string, names: readonly string[]): Promise<Woken> {
  // A restart still in its cooldown is waited out too.
  const pendingMs = Math.max(0, (ctx.store.readRecord(after).nextRestartAt ?? 0) - ctx.clock.now());
  const ready = await waitReady(ctx, after, readyTimeoutMs(ctx, after) + pendingMs);
  if (!ready.ready) return { started: [], waiting: [...names], notReady: ready.detail };
  // Its probes' results recorded: what the dependents' look reads to judge it ready.
  await checkProcess(ctx, dep, { sample: false, full: true });
  // Those it was told of, and any that began to wait for it since.
  const still = waitingDependentsOf(ctx, after);
  const started: string[] = [];
  const waiting: string[] = [];
  for (const name of new Set([...names, ...still])) {
    const def = ctx.registry.defs.get(name);
    if (!def || !still.includes(name)) continue; // started meanwhile, or stopped by the user
    const res = await checkProcess(ctx, def, { sample: false });
    (res.after.status === 'waiting' ? waiting : started).push(name);
  }
  return { started, waiting };
}
