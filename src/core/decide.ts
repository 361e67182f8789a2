// decide(): the whole policy as one pure function of the definition, the record, an observation
// and the clock, answering with a plan (core/plan.ts). Each kind of observation has its decider
// (on-request, on-exit, on-check, on-probe); the rules every plan shares are added here, once:
//   - the runner's arm follows any change of the record;
//   - a run that lasted min_uptime (with probes passing) makes its generation known-good;
//   - a new generation that gives up, or never passes its probes, is rolled back;
//   - an automatic restart restarts the running dependents once the process is ready.
import { armFor, type Arm } from './arm.js';
import { isUp } from './states.js';
import { knownGoodMark, wantsRollback } from './lineage.js';
import { decideCheck } from './on-check.js';
import { decideExit } from './on-exit.js';
import { armSchedule, decideArm } from './on-schedule.js';
import { decideProbed } from './on-probe.js';
import { decideLeftRunning, decideStart, decideStop, decideStopFinished } from './on-request.js';
import { ledger, type Effect, type Observation, type Plan, type Step } from './plan.js';
import type { ProcessRecord } from './record.js';
import type { ProcessDef, Settings } from './schema.js';

export type PolicyDef = Pick<
  ProcessDef,
  'name' | 'command' | 'noRestartExitCodes' | 'successExitCodes' | 'durationMin' | 'autoRestart' | 'maxRestarts' | 'restartCooldownS' | 'minUptimeS' | 'backoff'
  | 'health' | 'maxMemoryMb' | 'maxCpuPercent' | 'cpuWindowS' | 'restartDependents' | 'killTimeoutS' | 'schedule' | 'restartSchedule'
>;
export type PolicySettings = Pick<Settings, 'failedRetryS'>;

export function decide(def: PolicyDef, settings: PolicySettings, record: ProcessRecord, observation: Observation, now: number): Plan {
  const step = decideStep(def, settings, record, observation, now);
  const lineage = 'lineage' in observation ? (observation.lineage ?? null) : null;
  // While a dependency is not ready, the runner restarts nothing alone: its exits come to decide().
  const blocked = 'blockedBy' in observation && (observation.blockedBy?.length ?? 0) > 0;
  const blockedUp = blocked && isUp(step.record.status); // a live runner could restart it alone
  const effects: Effect[] = [...(step.effects ?? [])];

  // Known-good, from whatever run this observation showed: at its exit, its stop, or any look.
  const good = step.goodRun ? knownGoodMark(def, lineage, step.goodRun.record, step.goodRun.ranMs) : null;
  if (good) effects.push({ kind: 'mark-generation', ...good.mark }, ledger(good.event));
  // A failing new generation goes back to the last known-good one.
  if (!good && wantsRollback(lineage, step.failure ?? null)) {
    effects.push({ kind: 'rollback', reason: step.decision.action === 'kill' ? step.decision.reason : step.record.reason });
  }
  // The runner's arm changes only when what it allows changes, or for a new runner: rewriting an
  // unchanged arm could re-arm one the runner has just spent, on a budget not yet counted.
  const arm = blocked ? null : armFor(def, step.record, lineage);
  const released = record.heldFor !== null && step.record.heldFor === null;
  if (blockedUp || released || effects.some((e) => e.kind === 'spawn-runner') || !sameArm(arm, armFor(def, record, lineage))) {
    // As early as it can be: the runner may need it within milliseconds (a process that dies at
    // once, just after a restart). A new runner finds it before its first exit (no runner is alive
    // to read it earlier); a stop takes it after the marker and before any signal; anything else
    // leads with it.
    const spawned = effects.findIndex((e) => e.kind === 'spawn-runner');
    const at = spawned >= 0 ? spawned : effects[0]?.kind === 'stop-marker' ? 1 : 0;
    effects.splice(at, 0, { kind: 'arm', arm });
  }
  // Every automatic restart counts in totalRestarts: that is the moment dependents are told.
  // Not while it waits for a dependency of its own: it will not be ready before that one is.
  if (def.restartDependents && !blocked && step.record.totalRestarts > record.totalRestarts) effects.push({ kind: 'restart-dependents' });

  return { next: step.next, record: step.record, decision: step.decision, alerts: step.alerts, effects };
}

function decideStep(def: PolicyDef, settings: PolicySettings, record: ProcessRecord, obs: Observation, now: number): Step {
  switch (obs.kind) {
    case 'start-requested': return decideStart(record, obs.by, now, obs.after, armSchedule(def, now, record.schedule));
    case 'arm-requested': return decideArm(def, record, now);
    case 'stop-requested': return decideStop(record, obs.heldFor, now);
    case 'stop-finished': return decideStopFinished(def.name, record, obs, now);
    case 'exited': return decideExit(def, record, obs.exit, obs.restartedAt, now, obs.blockedBy ?? [], obs.lineage ?? null);
    case 'checked': return decideCheck(def, settings, record, obs, now);
    case 'probed': return decideProbed(def, record, obs, now);
    case 'left-running': return decideLeftRunning(def.name, record, obs, now);
  }
}

function sameArm(a: Arm | null, b: Arm | null): boolean {
  if (!a || !b) return a === b;
  return a.normalAfterMs === b.normalAfterMs && a.stableAfterMs === b.stableAfterMs && a.unstableOk === b.unstableOk && a.notBefore === b.notBefore
    && a.finalStatuses.join(',') === b.finalStatuses.join(',');
}
