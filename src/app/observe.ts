// Read what is recorded and what is live for one process, for the core to decide on.
import type { Lineage } from '../core/lineage.js';
import { notReadyDependencies, restartDependentsOf } from '../core/deps.js';
import { isUp } from '../core/states.js';
import type { ProcessRecord, RunInfo } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { currentRun, rebuildRecord, reconcileRun, type RunsView } from '../core/runs.js';
import { findRunner, lookAtRun } from '../effects/runner-scan.js';
import { isOurs } from '../effects/identity.js';
import type { Context } from './context.js';

export interface Observed {
  /** The record, brought up to date with the runs its runner started since it was written. */
  readonly record: ProcessRecord;
  /** The stored record was lost or unreadable and `record` was rebuilt from runs.log: apply writes it. */
  readonly rebuilt: boolean;
  readonly runs: RunsView;
  /** The latest run, if its process is still ours and alive. */
  readonly liveRun: RunInfo | null;
  readonly processAlive: boolean;
  readonly runnerAlive: boolean;
}

export function observe(ctx: Context, name: string, again = true): Observed {
  const runs = ctx.store.readRuns(name);
  let stored = ctx.store.readRecord(name);
  // No record, but runs: it was lost (or unreadable). Rebuild it, with its runner found by a scan.
  const lost = stored.epoch === 0 && runs.latest !== null;
  if (lost) stored = rebuildRecord(runs, findRunner(ctx.store.procDir(name)), ctx.store.hasStopMarker(name), ctx.clock.now()) ?? stored;
  const record = reconcileRun(stored, currentRun(stored, runs), ctx.clock.now());
  const run = record.run;
  // A run that has an exit line is over, whatever its PID names now.
  const ended = run ? runs.exits.has(run.id) : true;
  // One read of the run's /proc/PID/stat says whether it lives and whether its runner (its parent)
  // does: a live run whose runner alone died is adopted (core/on-check.ts). An adopted run's
  // runner is not its parent, and is looked at too.
  const { processAlive, runnerAlive } = run && !ended ? lookAtRun(run.identity, record.runner) : { processAlive: false, runnerAlive: isOurs(record.runner) };
  // Both gone, where its runner was still to run it (up, or a restart pending)? The runner may
  // have forked a run just before it died, whose start line was not there when runs.log was read.
  // Read it again, now that the runner is known dead: a run begun by then is seen, and one not
  // begun by then never will be (the runner's child checks that its runner lives after writing
  // its start line, bin/pguard-runner.sh). (Stopped, completed, failed or held: its runner had
  // nothing left to start, and watch and status read no file twice for them.)
  const mayHaveForked = isUp(record.status) || record.status === 'crashed';
  if (again && !processAlive && !runnerAlive && mayHaveForked && ctx.store.readRuns(name).latest?.id !== runs.latest?.id) return observe(ctx, name, false);
  return { record, rebuilt: lost, runs, liveRun: processAlive ? run : null, processAlive, runnerAlive };
}

/** The dependencies of a process that are not ready now (from their records): what its restarts wait for. */
export function blockedByOf(ctx: Context, def: ProcessDef): string[] {
  if (def.dependsOn.length === 0) return [];
  const deps = new Map(def.dependsOn.flatMap((n) => {
    const d = ctx.registry.defs.get(n);
    if (!d) return [];
    // As it is now: its record brought up to date with its runs, and not up unless its process lives.
    const seen = observe(ctx, n);
    const record = seen.processAlive || seen.record.status === 'completed' ? seen.record : { ...seen.record, run: null };
    return [[n, { def: d, record }] as const];
  }));
  return notReadyDependencies(def, deps, ctx.clock.now());
}

/**
 * The dependents to restart after `after` restarts (restart_dependents): those running, and with
 * `withHeld` those already held, waiting for it (a job that goes round again takes them too).
 */
export function dependentsToRestart(ctx: Context, after: string, opts: { withHeld?: boolean } = {}): string[] {
  return restartDependentsOf(ctx.registry.defs, after).filter((n) => {
    const rec = ctx.store.readRecord(n);
    return isUp(rec.status) || (opts.withHeld === true && rec.status === 'waiting' && (rec.heldFor ?? []).includes(after));
  });
}

/** What the policy needs to know of the generation the record runs (for known-good and rollback). */
export function lineageOf(ctx: Context, name: string, record: ProcessRecord): Lineage | null {
  return ctx.store.readLineage(name, record.generation);
}

/** The processes that wait for `name` (status waiting, held for it): they come back once it is ready (app/wake.ts). */
export function waitingDependentsOf(ctx: Context, name: string): string[] {
  return [...ctx.registry.defs.values()].filter((d) => d.dependsOn.includes(name)).map((d) => d.name).filter((n) => {
    const rec = ctx.store.readRecord(n);
    return rec.status === 'waiting' && (rec.heldFor ?? []).includes(name);
  });
}
