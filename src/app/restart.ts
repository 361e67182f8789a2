// `restart` (the CLI, the dashboard): stop, start with the current definition (budget reset), then,
// as after an automatic restart, the running dependents once the dependency is ready.
import type { Context } from './context.js';
import { describeList, type StartedBy } from '../core/plan.js';
import { isUp } from '../core/states.js';
import { restartDependents } from './dependents.js';
import { dependentsToRestart } from './observe.js';
import { startMany, type StartResult } from './start.js';
import { stopMany } from './stop.js';

export async function restartProcesses(ctx: Context, names: readonly string[], opts: { waitMs: number; dependents: boolean; quiet?: boolean; by?: StartedBy }): Promise<StartResult[]> {
  const say = (line: string) => { if (!opts.quiet) ctx.progress(line); };
  if (opts.by === 'restart_schedule') {
    // The background job of a restart_schedule time: a stop that came meanwhile wins (the stop
    // disarmed it), as does an end of its own.
    names = names.filter((n) => {
      const rec = ctx.store.readRecord(n);
      return rec.schedule?.armed === true && isUp(rec.status);
    });
    if (names.length === 0) return [];
  }
  say(`restarting ${describeList(names)}...`);
  await stopMany(ctx, names);
  const results = await startMany(ctx, names, { waitMs: opts.waitMs, ...(opts.by ? { by: opts.by } : {}) });
  if (!opts.dependents) return results;
  for (const name of names) {
    if (!ctx.registry.defs.get(name)?.restartDependents) continue;
    const deps = dependentsToRestart(ctx, name, { withHeld: true }).filter((d) => !names.includes(d));
    if (deps.length === 0) continue;
    say(`restarting ${deps.join(', ')} (depending on ${name}) once ${name} is ready (--no-dependents: not)...`);
    const res = await restartDependents(ctx, name, deps, { waitMs: opts.waitMs });
    if (res.notReady) results.push(...deps.map((d) => ({ name: d, outcome: 'not-started' as const, pid: null, message: `${d} not restarted: ${res.notReady}` })));
    else results.push(...res.results);
  }
  return results;
}
