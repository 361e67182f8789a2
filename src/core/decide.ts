// decide(): the whole policy as one pure function of the definition, the record, an observation
// and the clock, answering with a plan (core/plan.ts). Each kind of observation has its decider
// (on-request, on-exit, on-check, on-probe); the rules every plan shares are added here, once:
//   - the runner's arm follows any change of the record;
//   - a run that lasted min_uptime (with probes passing) makes its generation known-good;
//   - a new generation that gives up, or never passes its probes, is rolled back;
//   - an automatic restart restarts the running dependents once the process is ready;
//   - a failure alert opens an outage, and a later run that is ready closes it with `recovered`.
import { DOWN_KINDS, type AlertIntent } from './alerts.js';
import { armFor, type Arm } from './arm.js';
import { describeDuration, downtimeAmount } from './exit.js';
import { isUp } from './states.js';
import { knownGoodMark, wantsRollback } from './lineage.js';
import { decideCheck } from './on-check.js';
import { decideExit } from './on-exit.js';
import { armSchedule, decideArm } from './on-schedule.js';
import { decideProbed } from './on-probe.js';
import { decideLeftRunning, decideStart, decideStop, decideStopFinished } from './on-request.js';
import { ledger, type Effect, type Observation, type Plan, type Step } from './plan.js';
import type { Outage, ProcessRecord } from './record.js';
import type { ProcessDef, Settings } from './schema.js';

export type PolicyDef = Pick<
  ProcessDef,
  'name' | 'command' | 'noRestartExitCodes' | 'successExitCodes' | 'durationMin' | 'autoRestart' | 'maxRestarts' | 'restartCooldownS' | 'minUptimeS' | 'backoff'
  | 'health' | 'maxMemoryMb' | 'maxCpuPercent' | 'cpuWindowS' | 'restartDependents' | 'killTimeoutS' | 'schedule' | 'restartSchedule'
  | 'readyAfterS'
>;
export type PolicySettings = Pick<Settings, 'failedRetryS'>;

export function decide(def: PolicyDef, settings: PolicySettings, record: ProcessRecord, observation: Observation, now: number): Plan {
  const step = withOutage(def, record, observation, decideStep(def, settings, record, observation, now), now);
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

/**
 * Outage bookkeeping, for every decider at once: a failure alert opens one (since the exit, or
 * now), a stop or a completion ends it without a word, and a run other than the one that failed,
 * ready (its probes pass, or it has run ready_after), closes it with one `recovered` alert saying
 * how long it was down: to the new run's start, or, with probes, to the look that found them passing.
 */
function withOutage(def: PolicyDef, record: ProcessRecord, obs: Observation, step: Step, now: number): Step {
  const prev = record.outage ?? null;
  const downs = step.alerts.filter((a) => DOWN_KINDS.includes(a.kind)).map((a) => a.kind);
  if (step.next === 'stopped' || step.next === 'completed') return prev || step.record.outage ? { ...step, record: { ...step.record, outage: null } } : step;
  if (downs.length > 0) {
    const fresh: Outage = { since: obs.kind === 'exited' ? obs.exit.endedAt : now, run: obs.kind === 'exited' ? obs.exit.runId : (record.run?.id ?? null), kinds: downs };
    // A run that came back, was ready and now failed in turn: the last outage ended when it came
    // back (nobody looked in between), and this is a new one, from this failure.
    const back = prev && obs.kind === 'exited' ? unseenRecovery(def, record, prev, obs.exit) : null;
    if (back) return { ...step, alerts: [back, ...step.alerts], record: { ...step.record, outage: fresh } };
    const outage: Outage = prev ? { ...prev, kinds: [...new Set([...prev.kinds, ...downs])] } : fresh;
    return { ...step, record: { ...step.record, outage } };
  }
  const rec = step.record;
  const run = rec.run;
  const alive = (obs.kind === 'checked' && obs.processAlive) || obs.kind === 'probed';
  if (!prev || !alive || !run || run.id === prev.run || !isUp(step.next)) return step;
  const probed = def.health.length > 0;
  if (probed ? rec.healthyRun !== run.id : now - run.startedAt < def.readyAfterS * 1000) return step;
  const backAt = probed ? now : Math.max(prev.since, run.startedAt);
  const recovered = recoveredAlert(prev, backAt, probed ? 'its probes pass' : `running for ${describeDuration(now - run.startedAt)}`, now - run.startedAt, rec.restarts);
  return { ...step, alerts: [...step.alerts, recovered], record: { ...rec, outage: null, updatedAt: now } };
}

const EPISODE_WORDS: Record<string, string> = { crashed: 'a crash', failed: 'failing', unhealthy: 'failing its probes', resource: 'going over its limit' };

function recoveredAlert(prev: Outage, backAt: number, how: string, ranMs: number, restarts: number): AlertIntent {
  const down = backAt - prev.since;
  return {
    kind: 'recovered', severity: 'info',
    message: `back ${down < 10 ? 'within 10 ms of' : `${downtimeAmount(down)} after`} ${prev.kinds.map((k) => EPISODE_WORDS[k] ?? k).join(' and ')}: ${how}`,
    evidence: {
      since: new Date(prev.since).toISOString(), down_ms: backAt - prev.since, closes: [...prev.kinds],
      ran_s: Math.round(ranMs / 1000), restarts, action: 'none',
    },
  };
}

/** The run that just failed had come back after the outage and been ready: the recovery nobody saw, dated by that run. */
function unseenRecovery(def: PolicyDef, record: ProcessRecord, prev: Outage, exit: Extract<Observation, { kind: 'exited' }>['exit']): AlertIntent | null {
  if (exit.runId === prev.run || exit.startedAt < prev.since) return null;
  const ready = def.health.length > 0 ? record.healthyRun === exit.runId : exit.endedAt - exit.startedAt >= def.readyAfterS * 1000;
  if (!ready) return null;
  return recoveredAlert(prev, exit.startedAt, `ran ${describeDuration(exit.endedAt - exit.startedAt)} before it failed again`, exit.endedAt - exit.startedAt, record.restarts);
}

function sameArm(a: Arm | null, b: Arm | null): boolean {
  if (!a || !b) return a === b;
  return a.normalAfterMs === b.normalAfterMs && a.stableAfterMs === b.stableAfterMs && a.unstableOk === b.unstableOk && a.notBefore === b.notBefore
    && a.finalStatuses.join(',') === b.finalStatuses.join(',');
}
