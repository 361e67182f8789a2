// Deciding on what a person (or boot, or a dependency, or a rollback) asked for: start and stop.
import { runMs } from './exit.js';
import type { ProcessRecord } from './record.js';
import { isUp, mustTransition, type Status } from './states.js';
import { ledger, type Observation, type StartedBy, type Step } from './plan.js';

export function decideStart(record: ProcessRecord, by: StartedBy, now: number): Step {
  // The caller has checked that nothing is alive, so a record still saying running/stopping is
  // stale: its runner died unseen. Name that edge first, then start (which resets the budget).
  const from: Status = isUp(record.status) || record.status === 'stopping'
    ? mustTransition(record.status, 'vanished') // running/unhealthy -> crashed, stopping -> stopped (stale)
    : record.status;
  const next = mustTransition(from, 'start'); // any settled status -> running
  return {
    next,
    record: {
      ...record, status: next, restarts: 0, nextRestartAt: null, failedAt: null, recovering: false, failedRetries: 0,
      reason: `started by ${by}`, updatedAt: now,
    },
    decision: { action: 'spawn', delayMs: 0 },
    alerts: [],
    effects: [{ kind: 'spawn-runner', delayMs: 0 }],
  };
}

export function decideStop(record: ProcessRecord, now: number): Step {
  // running -> stopping (signals follow); crashed/completed/failed -> stopped (nothing to signal
  // but a runner that may be waiting out a cooldown, which the stop marker ends).
  const next = mustTransition(record.status, 'stop-requested');
  return {
    next,
    record: { ...record, status: next, nextRestartAt: null, reason: 'stopped by the user', updatedAt: now },
    decision: { action: 'stop' },
    alerts: [],
    // The marker first: a runner that sees its process end from now on knows the user did it.
    effects: [{ kind: 'stop-marker', on: true }, { kind: 'end-run' }],
  };
}

export function decideStopFinished(
  name: string, record: ProcessRecord, obs: Extract<Observation, { kind: 'stop-finished' }>, now: number,
): Step {
  // The runner exits quietly on a user stop (no Node to start per process): the exit is recorded here.
  // A run that lasted min_uptime before the user stopped it proves its definition as any other.
  const ranMs = obs.exit ? runMs(obs.exit) : obs.run ? now - obs.run.startedAt : 0;
  const rec = record.status === 'stopping'
    ? { ...record, status: mustTransition('stopping', 'stop-done'), lastExit: obs.exit ?? record.lastExit, updatedAt: now } // stopping -> stopped
    : record;
  return {
    next: rec.status, record: rec, decision: { action: 'none' }, alerts: [],
    effects: obs.wasRunning ? [ledger({ event: 'stop', process: name, details: { signal: obs.signal, sigkill: obs.sigkill } })] : [],
    ...(obs.run ? { goodRun: { record, ranMs } } : {}),
  };
}
