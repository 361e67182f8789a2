// Deciding on a look at a process (healthcheck's pass, watch's tick): a run that is up may have
// overrun or recovered; one whose runner alone died is adopted by a new runner; one that vanished
// with its runner is an exit nobody recorded; a pending restart whose runner died is carried out;
// a failed process is retried after failed_retry.
import type { AlertIntent } from './alerts.js';
import { isStable, nextFailedRetryAt } from './backoff.js';
import { describeDuration } from './exit.js';
import { decideExit, type ExitPolicy } from './on-exit.js';
import { describeNames, ledger, waitingAlert, type Step } from './plan.js';
import { describeReason } from './reasons.js';
import type { ExitInfo, ProcessRecord } from './record.js';
import type { ProcessDef, Settings } from './schema.js';
import type { Lineage } from './lineage.js';
import { isUp, mustTransition } from './states.js';
import { decideScheduled, isJob, nextScheduledAt } from './on-schedule.js';

/** An overrun is a run lasting more than duration_min and half again (a job's: more than duration_min). */
export const OVERRUN_FACTOR = 1.5;

export function overrunAfterMs(def: Pick<ProcessDef, 'durationMin'> & Partial<Pick<ProcessDef, 'schedule'>>): number {
  return def.durationMin * 60_000 * (isJob(def) ? 1 : OVERRUN_FACTOR);
}

/**
 * A run that is up may still get a decision from time alone: an overrun not yet raised, a
 * `recovered` alert due once it has run ready_after, a budget reset after min_uptime, or (without probes) its generation becoming
 * known-good. The earliest time one is due (ms since epoch), or Infinity: until then, a look at a
 * live run with nothing else due decides nothing (watch skips it).
 */
export function nextTimedDecision(def: Pick<ProcessDef, 'durationMin' | 'health' | 'minUptimeS'> & Partial<Pick<ProcessDef, 'schedule' | 'restartSchedule' | 'readyAfterS'>>, record: ProcessRecord, lineage: Lineage | null): number {
  const run = record.run;
  if (!run) return Infinity;
  const at: number[] = [];
  if (def.durationMin > 0 && record.overrunAlerted !== run.id) at.push(run.startedAt + overrunAfterMs(def));
  const scheduled = nextScheduledAt(def, record);
  if (scheduled !== null) at.push(scheduled);
  if (record.recovering) at.push(run.startedAt + def.minUptimeS * 1000);
  // An outage's `recovered`, once a new run has run ready_after (with probes, a probe decides it).
  if (record.outage && record.outage.run !== run.id && def.health.length === 0) at.push(run.startedAt + (def.readyAfterS ?? 0) * 1000);
  if (lineage !== null && !lineage.knownGood && def.health.length === 0) at.push(run.startedAt + def.minUptimeS * 1000);
  return Math.min(Infinity, ...at);
}

export function decideCheck(
  def: ExitPolicy,
  settings: Pick<Settings, 'failedRetryS'>,
  record: ProcessRecord,
  obs: { readonly processAlive: boolean; readonly runnerAlive: boolean; readonly blockedBy?: readonly string[]; readonly lineage?: Lineage | null; readonly lateAfterMs?: number },
  now: number,
): Step {
  // A schedule's due time first: a run, a skip, a scheduled restart (core/on-schedule.ts).
  const scheduled = decideScheduled({ name: def.name, schedule: def.schedule, restartSchedule: def.restartSchedule }, record, obs, now);
  if (scheduled) return scheduled;
  const blockedBy = obs.blockedBy ?? [];
  const none: Step = { next: record.status, record, decision: { action: 'none' }, alerts: [] };
  const run = record.run;

  if (isUp(record.status) && obs.processAlive && run) {
    const ran = now - run.startedAt;
    const alerts: AlertIntent[] = [];
    let rec = record;
    if (def.durationMin > 0 && ran > overrunAfterMs(def) && record.overrunAlerted !== run.id) {
      alerts.push({
        kind: 'overrun', severity: 'warning',
        message: `still running after ${describeDuration(ran)}, more than ${isJob(def) ? '' : '1.5 x '}its duration_min (${def.durationMin} min); left running`,
        evidence: { ran_s: Math.round(ran / 1000), restarts: record.restarts, action: 'none' },
      });
      rec = { ...rec, overrunAlerted: run.id, updatedAt: now };
    }
    if (record.recovering && isStable(def, ran)) {
      // Back from failed for min_uptime: its budget is its own again (the `recovered` alert came
      // when it was ready: decide.ts).
      rec = { ...rec, recovering: false, restarts: 0, failedRetries: 0, updatedAt: now };
    }
    if (record.heldFor && blockedBy.length === 0) {
      // Its dependencies are ready again: its restarts are its own again.
      rec = { ...rec, heldFor: null, reason: describeReason({ kind: 'deps-ready', deps: record.heldFor, started: false }), updatedAt: now };
    }
    if (!obs.runnerAlive) {
      // running/unhealthy -> itself (adopt): its runner alone died (SIGKILL, the OOM killer), so
      // nothing would see it end. A new runner takes the live run over: it starts nothing while
      // that run lives, records its end (without a code: it is not its parent) and then acts as
      // after any exit. The run keeps its id (of the old epoch). Not a failure of the process: no
      // alert; apply records an `adopt` event with both runners' PIDs.
      const next = mustTransition(record.status, 'adopt');
      rec = { ...rec, status: next, reason: describeReason({ kind: 'adopted', runnerPid: record.runner?.pid ?? null }), updatedAt: now };
      return {
        next, record: rec, decision: { action: 'adopt' }, alerts,
        effects: [{ kind: 'spawn-runner', delayMs: 0, adopt: run }], goodRun: { record: rec, ranMs: ran },
      };
    }
    return { ...none, record: rec, alerts, goodRun: { record: rec, ranMs: ran } };
  }

  if (isUp(record.status) && !obs.processAlive && !obs.runnerAlive) {
    // The runner died with its process, so no exit was recorded: infer one and apply the same policy.
    const exit: ExitInfo = {
      runId: run?.id ?? '?', startedAt: run?.startedAt ?? now, endedAt: now, code: null, signal: null, vanished: true,
    };
    const step = decideExit(def, record, exit, null, now, blockedBy, obs.lineage ?? null);
    // The runner that would have restarted it is gone: a new one must be spawned.
    if (step.decision.action !== 'restart') return step;
    const delayMs = step.decision.delayMs;
    return { ...step, decision: { action: 'spawn', delayMs }, effects: [...(step.effects ?? []), { kind: 'spawn-runner', delayMs }] };
  }

  if (record.status === 'waiting' && !obs.runnerAlive && !obs.processAlive) {
    if (blockedBy.length > 0) {
      // Still waiting; what for may have changed.
      const same = record.heldFor !== null && record.heldFor.join(',') === blockedBy.join(',');
      if (same) return none;
      // It waits for something else now (stopped for one dependency's restart, then another was
      // not ready): say what, once.
      const rec = { ...record, heldFor: blockedBy, reason: describeReason({ kind: 'waiting', deps: blockedBy }), updatedAt: now };
      return { ...none, record: rec, alerts: [waitingAlert(`not started again after ${describeNames(record.heldFor ?? [])}`, blockedBy, record.restarts)] };
    }
    // waiting -> running: what it waited for is ready. Its budget is as it was.
    const next = mustTransition('waiting', 'start');
    const reason = describeReason({ kind: 'deps-ready', deps: record.heldFor ?? [], started: true });
    const rec: ProcessRecord = { ...record, status: next, heldFor: null, nextRestartAt: null, reason, updatedAt: now };
    // Not an automatic restart (no budget, no `restart` event): its `start` event says why.
    return { next, record: rec, decision: { action: 'spawn', delayMs: 0 }, alerts: [], effects: [{ kind: 'spawn-runner', delayMs: 0 }] };
  }

  if (record.status === 'crashed' && record.nextRestartAt !== null && !obs.runnerAlive && !obs.processAlive) {
    // A restart was pending in a runner that has since died: carry it out.
    const delayMs = Math.max(0, record.nextRestartAt - now);
    return {
      ...none,
      record: { ...record, updatedAt: now, reason: describeReason({ kind: 'pending-restart-resumed' }) },
      decision: { action: 'spawn', delayMs },
      effects: [{ kind: 'spawn-runner', delayMs }],
    };
  }

  // A job's failed run is not retried: its schedule runs it again.
  if (record.status === 'failed' && !obs.processAlive && !isJob(def)) {
    const due = nextFailedRetryAt(settings.failedRetryS, record);
    if (due !== null && now >= due) {
      // failed -> running: a retry (1 min after giving up, then 2, 4, ... up to failed_retry); the
      // budget stays spent, so one more premature death returns it to failed, while a stable run
      // earns a `recovered` alert.
      const next = mustTransition('failed', 'start');
      const waitedMs = now - Math.max(record.failedAt ?? 0, record.lastRetryAt ?? 0);
      const rec: ProcessRecord = {
        ...record, status: next, lastRetryAt: now, failedRetries: record.failedRetries + 1, recovering: true,
        totalRestarts: record.totalRestarts + 1, lastRestartAt: now,
        reason: describeReason({ kind: 'failed-retry', n: record.failedRetries + 1, waitedMs }), updatedAt: now,
      };
      return {
        next, record: rec, decision: { action: 'spawn', delayMs: 0 }, alerts: [],
        effects: [
          ledger({ event: 'restart', process: def.name, details: { reason: rec.reason, restarts: rec.restarts } }),
          { kind: 'spawn-runner', delayMs: 0 },
        ],
      };
    }
  }
  return none;
}
