// Deciding on an exit: the runner saw its process end (or healthcheck found it gone with its
// runner). Classified once (core/exit.ts), then: completed, restart now or after the cooldown,
// recorded as already restarted by an armed runner, left down (auto_restart off), or given up.
import type { AlertIntent, EvidenceAction } from './alerts.js';
import { isStable, nextRestartNotBefore } from './backoff.js';
import { exitEvents } from './events.js';
import { CANNOT_EXECUTE, classifyExit, describeDuration, describeExit, NOT_FOUND, runMs, ranSeconds, type RunExit } from './exit.js';
import { ledger, waitingAlert, type Step } from './plan.js';
import { describeReason } from './reasons.js';
import { NOT_ENDING, type ExitInfo, type ProcessRecord } from './record.js';
import type { ProcessDef } from './schema.js';
import { onProbation, type Lineage } from './lineage.js';
import { compareRunIds } from './runs.js';
import { transition, isIllegal, mustTransition, type Status } from './states.js';
import { isJob, nextScheduledAt } from './on-schedule.js';

export type ExitPolicy = Pick<ProcessDef, 'name' | 'command' | 'durationMin' | 'autoRestart' | 'maxRestarts' | 'restartCooldownS' | 'minUptimeS' | 'backoff' | 'noRestartExitCodes' | 'successExitCodes'>
  & Partial<Pick<ProcessDef, 'schedule' | 'restartSchedule'>>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Evidence = Omit<AlertIntent['evidence'], 'restarts' | 'action'>;

export function decideExit(
  def: ExitPolicy, record: ProcessRecord, exit: ExitInfo, restartedAt: number | null, now: number, blockedBy: readonly string[] = [],
  lineage: Lineage | null = null,
): Step {
  // pguard's end of a run is explained by that run's exit; one of a later run is left in place
  // (a late report of an earlier exit). A record from before `ending` was kept: any exit explains it.
  const ended = record.killReason !== null && (record.ending === null || compareRunIds(record.ending.run, exit.runId) <= 0);
  const before = ended ? record : { ...record, killReason: null, ending: null };
  const step = classifyAndDecide(def, before, exit, restartedAt, now, blockedBy, ended ? NOT_ENDING : { killReason: record.killReason, ending: record.ending }, lineage);
  // The ledger's account of the exit and what was decided comes first, before any effect of it.
  const events = exitEvents(def.name, exit, before, step.next, step.record).map(ledger);
  return { ...step, effects: [...events, ...(step.effects ?? [])], goodRun: { record, ranMs: runMs(exit) } };
}

function classifyAndDecide(
  def: ExitPolicy, record: ProcessRecord, exit: ExitInfo, restartedAt: number | null, now: number, blockedBy: readonly string[],
  after: Pick<ProcessRecord, 'killReason' | 'ending'>, lineage: Lineage | null,
): Step {
  // What pguard was ending, this exit explains (or supersedes: a stop, a completion).
  const base: Mutable<ProcessRecord> = { ...record, ...after, lastExit: exit, updatedAt: now };
  const klass = classifyExit(def, exit, record.status === 'stopping' || record.status === 'stopped');
  if (klass === 'user-stopped') {
    const next = record.status === 'stopping' ? mustTransition('stopping', 'stop-done') : record.status; // stopping -> stopped
    return { next, record: { ...base, status: next, reason: describeReason({ kind: 'stopped' }) }, decision: { action: 'none' }, alerts: [] };
  }
  const edge = transition(record.status, klass === 'completed' ? 'exit-normal' : klass === 'final' ? 'exit-final' : 'exit-premature');
  if (isIllegal(edge)) {
    // An exit reported for a run the record no longer calls up (a late report after a start or a
    // give-up): keep it as the last exit, decide nothing on it.
    return { next: record.status, record: base, decision: { action: 'none' }, alerts: [] };
  }
  if (klass === 'completed') {
    // running -> completed (exit 0 after 80% of duration_min)
    return {
      next: edge,
      record: { ...base, status: edge, restarts: 0, nextRestartAt: null, reason: describeReason({ kind: 'completed', what: describeExit(exit) }) },
      decision: { action: 'none' },
      alerts: [],
    };
  }
  if (klass === 'final' && isJob(def)) {
    // running/unhealthy -> failed: a job's run failed (any exit but 0, a signal). One alert, as any
    // failure; not restarted: it runs again at its next time (its schedule stays armed).
    const next = nextScheduledAt(def, record);
    const message = describeReason({ kind: 'run-failed', what: describeExit(exit), next });
    return {
      next: edge,
      record: { ...base, status: edge, probes: [], cpu: null, failedAt: null, nextRestartAt: null, recovering: false, reason: message },
      decision: { action: 'none' },
      alerts: [{ kind: 'failed', severity: 'critical', message, evidence: { code: exit.code, signal: exit.signal, ran_s: ranSeconds(exit), restarts: 0, action: 'next-run' } }],
    };
  }
  if (klass === 'final' && restartedAt === null) {
    // running/unhealthy -> failed: a broken command, or a program saying "do not restart me".
    const message = describeReason({ kind: 'not-restarted', why: describeFinalExit(def, exit) });
    return {
      next: edge,
      record: {
        ...base, status: edge, probes: [], cpu: null, failedAt: now, nextRestartAt: null, recovering: false,
        reason: message,
      },
      decision: { action: 'none' },
      alerts: [{ kind: 'failed', severity: 'critical', message, evidence: { code: exit.code, signal: exit.signal, ran_s: ranSeconds(exit), restarts: record.restarts, action: 'not-restarted' } }],
      failure: 'gave-up',
    };
  }
  // running/unhealthy -> crashed (premature; or final, but an older arm had the runner restart it)
  const crashed = klass === 'final' ? mustTransition(record.status, 'exit-premature') : edge;
  const window = isStable(def, runMs(exit)) ? 0 : record.restarts;
  const evidence: Evidence = { code: exit.code, signal: exit.signal, ran_s: ranSeconds(exit) };
  // pguard ended this run itself (failed probe, memory, CPU): say so; that alert was raised then.
  const killedFor = record.killReason;
  const why = killedFor ? `ended by pguard (${killedFor})` : prematureWhy(def, exit);
  base.probes = [];
  base.cpu = null;

  if (blockedBy.length > 0 && def.autoRestart) {
    // A dependency is not ready: the death is most likely its doing. No restart against it, no
    // budget spent, one alert naming it; started again once it is ready (core/on-check.ts).
    const alerts = record.heldFor ? [] : [waitingAlert(why, blockedBy, window)];
    if (restartedAt !== null) {
      const next = mustTransition(crashed, 'restart'); // crashed -> running (the runner restarted it before the report)
      return {
        next,
        record: {
          ...base, status: next, restarts: window, totalRestarts: record.totalRestarts + 1, lastRestartAt: restartedAt, nextRestartAt: null,
          heldFor: blockedBy, reason: describeReason({ kind: 'restarted-then-held', why, deps: blockedBy }),
        },
        decision: { action: 'none' },
        alerts,
      };
    }
    const next = mustTransition(crashed, 'hold'); // crashed -> waiting
    return {
      next,
      record: { ...base, status: next, restarts: window, nextRestartAt: null, heldFor: blockedBy, reason: describeReason({ kind: 'waiting', why, deps: blockedBy }) },
      decision: { action: 'none' },
      alerts,
    };
  }
  if (restartedAt !== null) {
    // The runner was armed and has already restarted it: record what happened.
    const restarts = window + 1;
    const next = mustTransition(crashed, 'restart'); // crashed -> running (armed runner restarted it)
    return {
      next,
      record: {
        ...base, status: next, restarts, totalRestarts: record.totalRestarts + 1, lastRestartAt: restartedAt,
        nextRestartAt: null, reason: describeReason({ kind: 'restarted', why }),
      },
      decision: { action: 'none' },
      alerts: killedFor ? [] : [crashAlert(`${why}; restarted at once (restart ${restarts} of ${def.maxRestarts})`, evidence, restarts, 'restarted')],
    };
  }
  if (!def.autoRestart) {
    return {
      next: crashed,
      record: { ...base, status: crashed, restarts: window, nextRestartAt: null, reason: describeReason({ kind: 'auto-restart-off', why }) },
      decision: { action: 'none' },
      alerts: [crashAlert(`${why}; not restarted (auto_restart is off)`, evidence, window, 'none')],
    };
  }
  if (window >= def.maxRestarts) return giveUp(def, base, crashed, why, evidence, window, now);
  // A new definition that has never proved itself died early a second time: back to the
  // known-good one now, not after the whole budget's cooldowns (a bad deploy).
  if (window >= 1 && onProbation(lineage)) {
    const message = describeReason({ kind: 'unproven', why, deaths: window + 1, generation: lineage!.generation, fallback: lineage!.fallback! });
    return notRestarted(base, crashed, message, evidence, window, 'rollback', now);
  }
  const at = Math.max(now, nextRestartNotBefore(def, window, window === 0 ? null : record.lastRestartAt));
  const restarts = window + 1;
  const delayMs = at - now;
  const when = delayMs === 0 ? 'restarting at once' : `restarting in ${describeDuration(delayMs)} (restart_cooldown)`;
  return {
    next: crashed,
    record: {
      ...base, status: crashed, restarts, totalRestarts: record.totalRestarts + 1, lastRestartAt: at,
      nextRestartAt: at, reason: describeReason({ kind: 'restart-pending', why, delayMs }),
    },
    decision: { action: 'restart', delayMs },
    alerts: killedFor ? [] : [crashAlert(`${why}; ${when} (restart ${restarts} of ${def.maxRestarts})`, evidence, restarts, delayMs === 0 ? 'restarted' : 'restart-scheduled')],
  };
}

/** "command not found: /x/y (exit 127)": what a final exit means, in words. */
export function describeFinalExit(def: Pick<ExitPolicy, 'command'>, exit: RunExit): string {
  const cmd = def.command.length > 120 ? `${def.command.slice(0, 119)}…` : def.command;
  if (exit.code === NOT_FOUND) return `command not found: ${cmd} (exit 127); fix its command, then start it`;
  if (exit.code === CANNOT_EXECUTE) return `command cannot be executed: ${cmd} (exit 126: not executable, or a directory); fix its command, then start it`;
  return `${describeExit(exit)}, one of its no_restart_exit_codes`;
}

function prematureWhy(def: ExitPolicy, exit: RunExit): string {
  const how = describeExit(exit);
  return exit.code === 0 && def.durationMin > 0 ? `${how}, before 80% of its duration_min (${def.durationMin} min)` : how;
}

function crashAlert(message: string, evidence: Evidence, restarts: number, action: EvidenceAction): AlertIntent {
  return { kind: 'crashed', severity: 'warning', message, evidence: { ...evidence, restarts, action } };
}

function giveUp(def: ExitPolicy, base: ProcessRecord, crashed: Status, why: string, evidence: Evidence, restarts: number, now: number): Step {
  return notRestarted(base, crashed, describeReason({ kind: 'gave-up', why, restarts, max: def.maxRestarts }), evidence, restarts, 'gave-up', now);
}

/** crashed -> failed: not restarted again (its budget spent, or a generation on probation rolled back), with its critical alert. */
function notRestarted(base: ProcessRecord, crashed: Status, message: string, evidence: Evidence, restarts: number, action: 'gave-up' | 'rollback', now: number): Step {
  const next = mustTransition(crashed, 'budget-exhausted'); // crashed -> failed
  return {
    next,
    record: { ...base, status: next, restarts, failedAt: now, nextRestartAt: null, recovering: false, reason: message },
    decision: { action: 'none' },
    alerts: [{ kind: 'failed', severity: 'critical', message, evidence: { ...evidence, restarts, action } }],
    failure: 'gave-up',
  };
}
