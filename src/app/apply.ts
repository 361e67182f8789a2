// apply(): carries out a plan of core/decide.ts, for every caller (the runner's report, healthcheck,
// watch, start, stop), in the plan's own order. What the runner reads comes first (the stop marker
// and the arm a plan leads with), then the record (a spawn writes it with the new runner instead),
// then every other effect in turn. Called under the process's lock; what takes time (the signals
// of end-run) is started here and handed back, to be awaited after the lock.
import type { AlertIntent } from '../core/alerts.js';
import type { PendingEvent } from '../core/events.js';
import type { Plan } from '../core/plan.js';
import type { ProcessRecord, RunInfo } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { stopTree, type StopResult } from '../effects/kill.js';
import { rotateLog } from '../effects/log-file.js';
import type { ProcessTable } from '../effects/resources.js';
import { spawnRunner } from '../effects/spawn.js';
import type { Context } from './context.js';
import { recordGeneration } from './generations.js';
import { defer } from './jobs.js';
import { recordEvents } from './ledger.js';
import { dependentsToRestart, waitingDependentsOf, type Observed } from './observe.js';

export interface Applied {
  readonly record: ProcessRecord;
  readonly alerts: readonly AlertIntent[];
  /** The current run being ended (end-run): resolves when its tree is gone. */
  readonly ending: Promise<StopResult> | null;
}

export async function apply(
  ctx: Context, def: ProcessDef, seen: Pick<Observed, 'record' | 'liveRun'> & { rebuilt?: boolean }, plan: Plan, opts: { table?: ProcessTable } = {},
): Promise<Applied> {
  const name = def.name;
  let record = plan.record;
  let recordDue = (record !== seen.record || seen.rebuilt === true) && !plan.effects.some((e) => e.kind === 'spawn-runner');
  const writeRecord = () => {
    if (recordDue) ctx.store.writeRecord(name, record);
    recordDue = false;
  };
  let ending: Promise<StopResult> | null = null;
  // Consecutive ledger events go in one batch.
  let events: PendingEvent[] = [];
  const flush = async () => {
    if (events.length > 0) await recordEvents(ctx, events);
    events = [];
  };
  for (const effect of plan.effects) {
    if (effect.kind !== 'stop-marker' && effect.kind !== 'arm') writeRecord();
    if (effect.kind === 'ledger') {
      events.push(effect.entry);
      continue;
    }
    await flush();
    switch (effect.kind) {
      case 'stop-marker':
        ctx.store.setStopMarker(name, effect.on);
        break;
      case 'arm':
        try {
          ctx.store.writeArm(name, effect.arm, effect.arm ? ctx.clock.anchor?.() ?? null : null);
        } catch (err) {
          // Without an arm the runner asks pguard at each exit: slower, never fewer restarts.
          ctx.progress(`pguard: ${name}: could not write its arm (${err instanceof Error ? err.message : String(err)}); its runner asks at each exit`);
        }
        break;
      case 'spawn-runner':
        record = await launchRunner(ctx, def, record, effect.delayMs, effect.adopt ?? null);
        break;
      case 'end-run':
        if (seen.liveRun) ending = stopTree(seen.liveRun.identity, def.stopSignal, def.killTimeoutS * 1000, opts.table, { procDir: ctx.store.procDir(name) });
        break;
      case 'mark-generation':
        ctx.store.markGeneration(name, effect.generation, effect.what, ctx.clock.now());
        break;
      case 'rollback':
        defer(ctx, { kind: 'rollback', name, reason: effect.reason });
        break;
      case 'scheduled-restart':
        defer(ctx, { kind: 'scheduled-restart', name });
        break;
      case 'restart-dependents': {
        const names = dependentsToRestart(ctx, name);
        if (names.length > 0) defer(ctx, { kind: 'restart-dependents', names, after: name });
        break;
      }
    }
  }
  writeRecord();
  await flush();
  // Coming up (a start, a restart): what waits for it comes back once it is ready, whoever started
  // it (app/wake.ts). Nothing is read unless something depends on it.
  if (plan.decision.action === 'spawn' || plan.record.totalRestarts > seen.record.totalRestarts) {
    const waiting = waitingDependentsOf(ctx, name);
    if (waiting.length > 0) defer(ctx, { kind: 'wake', names: waiting, after: name });
  }
  return { record, alerts: plan.alerts, ending };
}

/**
 * A new runner generation (after delayMs), recorded with its identity and a `start` event; or one
 * that adopts a live run of a dead runner (`adopt`): the record keeps that run, and an `adopt`
 * event names both runners.
 */
async function launchRunner(ctx: Context, def: ProcessDef, record: ProcessRecord, delayMs: number, adopt: RunInfo | null): Promise<ProcessRecord> {
  ctx.store.ensureProc(def.name);
  ctx.store.setStopMarker(def.name, false);
  ctx.store.rotateRuns(def.name);
  rotateLog(ctx.store.logFile(def.name), def.logMaxMb, def.logKeep);
  const epoch = record.epoch + 1;
  const generation = recordGeneration(ctx, def.name)?.gen ?? null;
  const runner = spawnRunner({
    def,
    registryPath: ctx.registry.path,
    procDir: ctx.store.procDir(def.name),
    heartbeatFile: ctx.store.procFile(def.name, 'heartbeat'),
    logFile: ctx.store.logFile(def.name),
    epoch,
    delayMs,
    baseEnv: ctx.env,
    stateDir: ctx.store.dir,
    adopt,
  });
  if (adopt) {
    // The run and what was said of it (an overrun) carry over: only its runner is new.
    const next: ProcessRecord = { ...record, epoch, runner, run: adopt, generation, updatedAt: ctx.clock.now() };
    ctx.store.writeRecord(def.name, next);
    await recordEvents(ctx, [{
      event: 'adopt', process: def.name,
      details: { reason: next.reason, run: adopt.id, pid: adopt.identity.pid, epoch, generation, runner_pid: runner.pid, old_runner_pid: record.runner?.pid ?? null },
    }]);
    return next;
  }
  const next: ProcessRecord = { ...record, epoch, runner, run: null, overrunAlerted: null, generation, updatedAt: ctx.clock.now() };
  ctx.store.writeRecord(def.name, next);
  await recordEvents(ctx, [{
    event: 'start', process: def.name,
    details: { reason: record.reason, epoch, generation, runner_pid: runner.pid, ...(delayMs > 0 ? { delay_ms: delayMs } : {}) },
  }]);
  return next;
}
