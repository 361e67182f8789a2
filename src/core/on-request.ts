// Deciding on what a person (or boot, or a dependency, or a rollback) asked for: start and stop.
import { runMs } from './exit.js';
import { NOT_ENDING, type ProcessRecord, type ScheduleState } from './record.js';
import { isUp, mustTransition, type Status } from './states.js';
import { ledger, type Effect, type Observation, type StartedBy, type Step } from './plan.js';
import { describeReason } from './reasons.js';
import { disarmSchedule } from './on-schedule.js';

/** schedule: its schedule, armed by this start (null: it has none). */
export function decideStart(record: ProcessRecord, by: StartedBy, now: number, after?: string, schedule: ScheduleState | null = null): Step {
  // The caller has checked that nothing is alive, so a record still saying running/stopping is
  // stale: its runner died unseen. Name that edge first, then start (which resets the budget).
  const from: Status = isUp(record.status) || record.status === 'stopping'
    ? mustTransition(record.status, 'vanished') // running/unhealthy -> crashed, stopping -> stopped (stale)
    : record.status;
  const next = mustTransition(from, 'start'); // any settled status -> running
  return {
    next,
    record: {
      // A start resets the budget, but not one for a dependency: what it waited for spent nothing.
      ...record, status: next, restarts: by === 'dependency' ? record.restarts : 0, nextRestartAt: null, failedAt: null,
      recovering: false, failedRetries: 0, heldFor: null, schedule,
      // A new runner's runs start afresh: no probe count, CPU sample or kill of an earlier run carries over.
      ...NOT_ENDING, probes: [], cpu: null,
      reason: describeReason({ kind: 'started', by, ...(after ? { after } : {}) }), updatedAt: now,
    },
    decision: { action: 'spawn', delayMs: 0 },
    alerts: [],
    effects: [{ kind: 'spawn-runner', delayMs: 0 }],
  };
}

export function decideStop(record: ProcessRecord, heldFor: readonly string[] | undefined, now: number): Step {
  if (heldFor && heldFor.length > 0) return decideHold(record, heldFor, now);
  // A job that completed has nothing left to stop: it stays completed (stop --all keeps that true).
  // One with an armed schedule is disarmed: stopped.
  if (record.status === 'completed' && !record.schedule?.armed) return { next: 'completed', record, decision: { action: 'none' }, alerts: [] };
  // running -> stopping (signals follow); crashed/completed/failed/waiting -> stopped (nothing to
  // signal but a runner that may be waiting out a cooldown, which the stop marker ends).
  const next = mustTransition(record.status, 'stop-requested');
  return {
    next,
    // The user's stop takes over from any end pguard had begun (a limit, a probe): not carried over.
    record: { ...record, ...NOT_ENDING, status: next, nextRestartAt: null, heldFor: null, schedule: disarmSchedule(record.schedule), reason: describeReason({ kind: 'stopped' }), updatedAt: now },
    decision: { action: 'stop' },
    alerts: [],
    // The marker first: a runner that sees its process end from now on knows the user did it.
    effects: [{ kind: 'stop-marker', on: true }, { kind: 'end-run' }],
  };
}

/**
 * pguard stops a process for its dependencies (restart_dependents): it waits for them, and is
 * started again once they are ready; never taken for a stop by the user. A process the user
 * stopped, or one that gave up or completed, is left as it is.
 */
function decideHold(record: ProcessRecord, heldFor: readonly string[], now: number): Step {
  const reason = describeReason({ kind: 'held', deps: heldFor });
  const effects: Effect[] = [{ kind: 'stop-marker', on: true }, { kind: 'end-run' }];
  if (isUp(record.status)) {
    const next = mustTransition(record.status, 'stop-requested'); // running/unhealthy -> stopping (held)
    return { next, record: { ...record, ...NOT_ENDING, status: next, nextRestartAt: null, heldFor, reason, updatedAt: now }, decision: { action: 'stop' }, alerts: [], effects };
  }
  if (record.status === 'crashed') {
    const next = mustTransition('crashed', 'hold'); // crashed -> waiting (its pending restart waits too)
    return { next, record: { ...record, status: next, nextRestartAt: null, heldFor, reason, updatedAt: now }, decision: { action: 'stop' }, alerts: [], effects };
  }
  return { next: record.status, record, decision: { action: 'none' }, alerts: [] };
}

export function decideStopFinished(
  name: string, record: ProcessRecord, obs: Extract<Observation, { kind: 'stop-finished' }>, now: number,
): Step {
  // The runner exits quietly on a user stop (no Node to start per process): the exit is recorded here.
  // A run that lasted min_uptime before the user stopped it proves its definition as any other.
  const ranMs = obs.exit ? runMs(obs.exit) : obs.run ? now - obs.run.startedAt : 0;
  // stopping -> stopped (the user's stop), or -> waiting (pguard's, for its dependencies)
  const rec = record.status === 'stopping'
    ? { ...record, status: mustTransition('stopping', record.heldFor ? 'hold' : 'stop-done'), lastExit: obs.exit ?? record.lastExit, updatedAt: now }
    : record;
  return {
    next: rec.status, record: rec, decision: { action: 'none' }, alerts: [],
    effects: obs.wasRunning ? [ledger({ event: 'stop', process: name, details: { signal: obs.signal, sigkill: obs.sigkill, ...(record.heldFor ? { held_for: record.heldFor } : {}) } })] : [],
    ...(obs.run ? { goodRun: { record, ranMs } } : {}),
  };
}

/** A dependent left running after its dependency restarted: said in its reason and the ledger, nothing else changes. */
export function decideLeftRunning(name: string, record: ProcessRecord, obs: Extract<Observation, { kind: 'left-running' }>, now: number): Step {
  if (!isUp(record.status)) return { next: record.status, record, decision: { action: 'none' }, alerts: [] };
  return {
    next: record.status,
    record: { ...record, reason: describeReason({ kind: 'left-running', after: obs.after, detail: obs.detail }), updatedAt: now },
    decision: { action: 'none' },
    alerts: [],
    effects: [ledger({ event: 'left-running', process: name, details: { after: obs.after, why: obs.detail, run: record.run?.id ?? null } })],
  };
}
