// decide(): the whole restart policy as one pure function of the definition, the record, an
// observation and the clock. The runner's on-exit path, healthcheck and (later) watch all call it.
import { isStable, nextRestartNotBefore } from './backoff.js';
import { classifyExit, completionThresholdMs, describeDuration, describeExit, ranSeconds, runMs, type RunExit } from './exit.js';
import type { ExitInfo, ProcessRecord, RunInfo } from './record.js';
import type { ProcessDef, Settings } from './schema.js';
import { mustTransition, type Status } from './states.js';
import { countProbeResult, describeProbe, type ProbeResult, type ProbeState } from './probes.js';

export type Observation =
  /** The runner saw its process end. restartedAt: the runner already restarted it (armed fast path). */
  | { readonly kind: 'exited'; readonly exit: ExitInfo; readonly restartedAt: number | null }
  /** healthcheck's look: is the recorded run alive, and its runner? */
  | {
      readonly kind: 'checked';
      readonly processAlive: boolean;
      readonly runnerAlive: boolean;
    }
  /** Probe results (by index of `health`; null: not run this time) and the tree's resource use. */
  | {
      readonly kind: 'probed';
      readonly results: readonly (ProbeResult | null)[];
      readonly usage: { readonly rssMb: number; readonly cpuTicks: number; readonly ticksPerSecond: number } | null;
    }
  | { readonly kind: 'start-requested'; readonly by: 'user' | 'boot' | 'dependency' | 'rollback' }
  | { readonly kind: 'stop-requested' };

export type Decision =
  | { readonly action: 'none' }
  /** Spawn a new runner now (start, failed-retry, or recovery when the runner is gone). */
  | { readonly action: 'spawn'; readonly delayMs: number }
  /** The live runner restarts the process after delayMs (0 = at once). */
  | { readonly action: 'restart'; readonly delayMs: number }
  /** Signal the process tree: the user asked for a stop. */
  | { readonly action: 'stop' }
  /** End the run gracefully (stop_signal, SIGKILL after kill_timeout) so the runner restarts it. */
  | { readonly action: 'kill'; readonly reason: string };

export type AlertKind = 'crashed' | 'failed' | 'overrun' | 'recovered' | 'unhealthy' | 'resource' | 'watch-died' | 'rollback';

export interface AlertIntent {
  readonly kind: AlertKind;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly message: string;
  readonly evidence: {
    readonly from?: number | null;
    readonly to?: number;
    readonly code?: number | null;
    readonly signal?: string | null;
    readonly ran_s?: number;
    readonly restarts: number;
    readonly action: string;
  };
}

export interface Outcome {
  readonly next: Status;
  readonly record: ProcessRecord;
  readonly decision: Decision;
  readonly alerts: readonly AlertIntent[];
}

type Policy = Pick<
  ProcessDef,
  'durationMin' | 'autoRestart' | 'maxRestarts' | 'restartCooldownS' | 'minUptimeS' | 'backoff'
> & Partial<Pick<ProcessDef, 'health' | 'maxMemoryMb' | 'maxCpuPercent' | 'cpuWindowS'>>;
type PolicySettings = Pick<Settings, 'failedRetryS'>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** running or unhealthy: a run is (supposed to be) up. */
export function isUp(status: Status): boolean {
  return status === 'running' || status === 'unhealthy';
}

/** An overrun is a run lasting more than duration_min and half again. */
export const OVERRUN_FACTOR = 1.5;

export function decide(
  def: Policy,
  settings: PolicySettings,
  record: ProcessRecord,
  observation: Observation,
  now: number,
): Outcome {
  switch (observation.kind) {
    case 'start-requested': return decideStart(record, observation.by, now);
    case 'stop-requested': return decideStop(record, now);
    case 'exited': return decideExit(def, record, observation.exit, observation.restartedAt, now);
    case 'checked': return decideCheck(def, settings, record, observation, now);
    case 'probed': return decideProbed(def, record, observation, now);
  }
}

function decideStart(record: ProcessRecord, by: string, now: number): Outcome {
  // A manual start resets the budget (any non-running state -> running). The caller has checked
  // that nothing is alive, so a record still saying running/stopping is stale (its runner died).
  const from: Status = isUp(record.status) || record.status === 'stopping' ? 'stopped' : record.status;
  const next = mustTransition(from, 'start');
  return {
    next,
    record: {
      ...record, status: next, restarts: 0, nextRestartAt: null, failedAt: null, recovering: false,
      reason: `started by ${by}`, updatedAt: now,
    },
    decision: { action: 'spawn', delayMs: 0 },
    alerts: [],
  };
}

function decideStop(record: ProcessRecord, now: number): Outcome {
  // running -> stopping (signals follow); crashed/completed/failed -> stopped (nothing to signal
  // but a runner that may be waiting out a cooldown, which the stop marker ends).
  const next = mustTransition(record.status === 'never-started' ? 'stopped' : record.status, 'stop-requested');
  return {
    next,
    record: { ...record, status: next, nextRestartAt: null, reason: 'stopped by the user', updatedAt: now },
    decision: { action: 'stop' },
    alerts: [],
  };
}

function decideExit(
  def: Policy,
  record: ProcessRecord,
  exit: ExitInfo,
  restartedAt: number | null,
  now: number,
): Outcome {
  const ran = runMs(exit);
  const base: Mutable<ProcessRecord> = { ...record, lastExit: exit, updatedAt: now };
  const klass = classifyExit(def, exit, record.status === 'stopping' || record.status === 'stopped');
  if (klass === 'user-stopped') {
    // stopping -> stopped (the signal did its work)
    const next = record.status === 'stopping' ? mustTransition('stopping', 'stop-done') : 'stopped';
    return { next, record: { ...base, status: next, reason: 'stopped by the user' }, decision: { action: 'none' }, alerts: [] };
  }
  // The exit belongs to a run that was up, whatever the record said before reconcileRun() caught up
  // with the runner (a delayed restart leaves it at crashed until the new run is seen).
  const from: Status = 'running';
  if (klass === 'completed') {
    // running -> completed (exit 0 after 80% of duration_min)
    const next = mustTransition(from, 'exit-normal');
    return {
      next,
      record: { ...base, status: next, restarts: 0, nextRestartAt: null, reason: `completed normally (${describeExit(exit)})` },
      decision: { action: 'none' },
      alerts: [],
    };
  }
  // running -> crashed (premature)
  const crashed = mustTransition(from, 'exit-premature');
  const stable = isStable(def, ran);
  const window = stable ? 0 : record.restarts;
  const evidence = { code: exit.code, signal: exit.signal, ran_s: ranSeconds(exit) };
  // pguard ended this run itself (failed probe, memory, CPU): say so; that alert was raised then.
  const killedFor = record.killReason;
  const why = killedFor ? `was ended by pguard (${killedFor})` : prematureWhy(def, exit);
  base.killReason = null;
  base.probes = [];
  base.cpu = null;

  if (restartedAt !== null) {
    // The runner was armed and has already restarted it: record what happened.
    const restarts = window + 1;
    const next = mustTransition(crashed, 'restart'); // crashed -> running (armed runner restarted it)
    return {
      next,
      record: {
        ...base, status: next, restarts, totalRestarts: record.totalRestarts + 1, lastRestartAt: restartedAt,
        nextRestartAt: null, reason: `restarted after it ${why}`,
      },
      decision: { action: 'none' },
      alerts: killedFor ? [] : [crashAlert(`${why}; restarted at once (restart ${restarts} of ${def.maxRestarts})`, evidence, restarts, 'restarted')],
    };
  }
  if (!def.autoRestart) {
    return {
      next: crashed,
      record: { ...base, status: crashed, restarts: window, nextRestartAt: null, reason: `${why}; auto_restart is off` },
      decision: { action: 'none' },
      alerts: [crashAlert(`${why}; not restarted (auto_restart is off)`, evidence, window, 'none')],
    };
  }
  if (window >= def.maxRestarts) {
    return giveUp(def, base, crashed, why, evidence, window, now);
  }
  const at = Math.max(now, nextRestartNotBefore(def, window, window === 0 ? null : record.lastRestartAt));
  const restarts = window + 1;
  const delayMs = at - now;
  const when = delayMs === 0 ? 'restarting at once' : `restarting in ${describeDuration(delayMs)} (restart_cooldown)`;
  return {
    next: crashed,
    record: {
      ...base, status: crashed, restarts, totalRestarts: record.totalRestarts + 1, lastRestartAt: at,
      nextRestartAt: at, reason: `${why}; ${when}`,
    },
    decision: { action: 'restart', delayMs },
    alerts: killedFor ? [] : [crashAlert(`${why}; ${when} (restart ${restarts} of ${def.maxRestarts})`, evidence, restarts, delayMs === 0 ? 'restarted' : 'restart-scheduled')],
  };
}

function prematureWhy(def: Policy, exit: RunExit): string {
  const how = describeExit(exit);
  if (exit.code === 0 && def.durationMin > 0) {
    return `${how}, before 80% of its duration_min (${def.durationMin} min)`;
  }
  return how;
}

function crashAlert(message: string, evidence: Omit<AlertIntent['evidence'], 'restarts' | 'action'>, restarts: number, action: string): AlertIntent {
  return { kind: 'crashed', severity: 'warning', message, evidence: { ...evidence, restarts, action } };
}

function giveUp(
  def: Policy,
  base: ProcessRecord,
  crashed: Status,
  why: string,
  evidence: Omit<AlertIntent['evidence'], 'restarts' | 'action'>,
  restarts: number,
  now: number,
): Outcome {
  const next = mustTransition(crashed, 'budget-exhausted'); // crashed -> failed (budget spent)
  const message = `${why}; gave up after ${restarts} restart${restarts === 1 ? '' : 's'} (max_restarts ${def.maxRestarts})`;
  return {
    next,
    record: { ...base, status: next, restarts, failedAt: now, nextRestartAt: null, recovering: false, reason: message },
    decision: { action: 'none' },
    alerts: [{ kind: 'failed', severity: 'critical', message, evidence: { ...evidence, restarts, action: 'gave-up' } }],
  };
}

function decideCheck(
  def: Policy,
  settings: PolicySettings,
  record: ProcessRecord,
  obs: { processAlive: boolean; runnerAlive: boolean },
  now: number,
): Outcome {
  const none: Outcome = { next: record.status, record, decision: { action: 'none' }, alerts: [] };
  const run = record.run;

  if (isUp(record.status) && obs.processAlive && run) {
    const ran = now - run.startedAt;
    const alerts: AlertIntent[] = [];
    let rec = record;
    if (def.durationMin > 0 && ran > def.durationMin * 60_000 * OVERRUN_FACTOR && record.overrunAlerted !== run.id) {
      alerts.push({
        kind: 'overrun', severity: 'warning',
        message: `still running after ${describeDuration(ran)}, more than 1.5 x its duration_min (${def.durationMin} min); left running`,
        evidence: { ran_s: Math.round(ran / 1000), restarts: record.restarts, action: 'none' },
      });
      rec = { ...rec, overrunAlerted: run.id, updatedAt: now };
    }
    if (record.recovering && isStable(def, ran)) {
      alerts.push({
        kind: 'recovered', severity: 'info',
        message: `recovered: running for ${describeDuration(ran)} after it had failed`,
        evidence: { ran_s: Math.round(ran / 1000), restarts: record.restarts, action: 'none' },
      });
      rec = { ...rec, recovering: false, restarts: 0, updatedAt: now };
    }
    return { ...none, record: rec, alerts };
  }

  if (isUp(record.status) && !obs.processAlive && !obs.runnerAlive) {
    // The runner died with its process, so no exit was recorded: infer one and apply the same policy.
    const exit: ExitInfo = {
      runId: run?.id ?? '?', startedAt: run?.startedAt ?? now, endedAt: now, code: null, signal: null, vanished: true,
    };
    const out = decideExit(def, record, exit, null, now);
    // The runner that would have restarted it is gone: a new one must be spawned.
    if (out.decision.action === 'restart') return { ...out, decision: { action: 'spawn', delayMs: out.decision.delayMs } };
    return out;
  }

  if (record.status === 'crashed' && record.nextRestartAt !== null && !obs.runnerAlive && !obs.processAlive) {
    // A restart was pending in a runner that has since died: carry it out.
    return {
      ...none,
      record: { ...record, updatedAt: now, reason: `${record.reason}; its runner was gone, healthcheck restarts it` },
      decision: { action: 'spawn', delayMs: Math.max(0, record.nextRestartAt - now) },
    };
  }

  if (record.status === 'failed' && !obs.processAlive && settings.failedRetryS > 0) {
    const since = Math.max(record.failedAt ?? 0, record.lastRetryAt ?? 0);
    if (now - since >= settings.failedRetryS * 1000) {
      // failed -> running: a retry after failed_retry; the budget stays spent, so one more
      // premature death returns it to failed, while a stable run earns a `recovered` alert.
      const next = mustTransition('failed', 'start');
      return {
        next,
        record: {
          ...record, status: next, lastRetryAt: now, recovering: true, totalRestarts: record.totalRestarts + 1,
          lastRestartAt: now, reason: `retrying after failed_retry (${settings.failedRetryS} s)`, updatedAt: now,
        },
        decision: { action: 'spawn', delayMs: 0 },
        alerts: [],
      };
    }
  }
  return none;
}

function decideProbed(
  def: Policy,
  record: ProcessRecord,
  obs: Extract<Observation, { kind: 'probed' }>,
  now: number,
): Outcome {
  const none: Outcome = { next: record.status, record, decision: { action: 'none' }, alerts: [] };
  const run = record.run;
  if (!isUp(record.status) || !run || record.killReason) return none;
  const health = def.health ?? [];
  const probes: (ProbeState | null)[] = health.map((p, i) => {
    const result = obs.results[i];
    const prev = record.probes[i] ?? undefined;
    if (!result) return prev ?? null;
    return countProbeResult(prev, result, now - run.startedAt < p.graceS * 1000, now);
  });
  let cpu = record.cpu;
  let breach: { kind: 'unhealthy' | 'resource'; reason: string; evidence: Record<string, unknown> } | null = null;
  const failing = health.findIndex((p, i) => (probes[i]?.failures ?? 0) >= p.failureThreshold);
  if (failing >= 0) {
    const p = health[failing]!;
    const st = probes[failing]!;
    breach = {
      kind: 'unhealthy',
      reason: `probe ${describeProbe(p)} failed ${st.failures} times in a row (${st.detail})`,
      evidence: { probe: describeProbe(p), failures: st.failures, detail: st.detail },
    };
  }
  if (obs.usage) {
    const u = obs.usage;
    const percent = record.cpu && now > record.cpu.at
      ? Math.round(((u.cpuTicks - record.cpu.ticks) / u.ticksPerSecond / ((now - record.cpu.at) / 1000)) * 1000) / 10
      : null;
    const over = percent !== null && def.maxCpuPercent !== undefined && percent > def.maxCpuPercent;
    const overSince = over ? (record.cpu?.overSince ?? record.cpu!.at) : null;
    cpu = { ticks: u.cpuTicks, at: now, overSince, percent };
    if (!breach && def.maxMemoryMb !== undefined && u.rssMb > def.maxMemoryMb) {
      breach = {
        kind: 'resource',
        reason: `memory ${u.rssMb} MB is over max_memory_mb ${def.maxMemoryMb}`,
        evidence: { memory_mb: u.rssMb, max_memory_mb: def.maxMemoryMb },
      };
    }
    if (!breach && overSince !== null && now - overSince >= (def.cpuWindowS ?? 60) * 1000) {
      breach = {
        kind: 'resource',
        reason: `CPU ${percent}% has been over max_cpu_percent ${def.maxCpuPercent} for ${Math.round((now - overSince) / 1000)} s`,
        evidence: { cpu_percent: percent, max_cpu_percent: def.maxCpuPercent },
      };
    }
  }
  const anyFailing = probes.some((st) => (st?.failures ?? 0) > 0);
  // running -> unhealthy (a probe failed) / unhealthy -> running (all pass again)
  const next: Status = anyFailing
    ? (record.status === 'running' ? mustTransition('running', 'probe-failed') : record.status)
    : (record.status === 'unhealthy' ? mustTransition('unhealthy', 'probe-ok') : record.status);
  const rec: ProcessRecord = { ...record, status: next, probes, cpu, updatedAt: now };
  if (!breach) return { next, record: rec, decision: { action: 'none' }, alerts: [] };
  const action = def.autoRestart ? 'restarting it (stop_signal, then SIGKILL after kill_timeout)' : 'stopping it (auto_restart is off)';
  return {
    next,
    record: { ...rec, killReason: breach.reason, reason: breach.reason },
    decision: { action: 'kill', reason: breach.reason },
    alerts: [{
      kind: breach.kind, severity: 'warning', message: `${breach.reason}; ${action}`,
      evidence: { ...breach.evidence, restarts: record.restarts, action: 'restart' } as AlertIntent['evidence'],
    }],
  };
}

/**
 * What the runner may do on its own at the next exit, precomputed by the same rules as decideExit:
 * written to the runner's arm file so a premature death is restarted without starting Node.
 */
export interface Arm {
  /** Exit 0 after at least this long is a normal completion; 0 = never (duration_min 0). */
  readonly normalAfterMs: number;
  /** A run this long is stable: restart at once. -1 = never (max_restarts 0). */
  readonly stableAfterMs: number;
  /** An unstable run may be restarted, but not before this time (ms since epoch). */
  readonly unstableOk: boolean;
  readonly notBefore: number;
}

export function armFor(def: Policy, record: ProcessRecord): Arm | null {
  if (!def.autoRestart || def.maxRestarts === 0) return null;
  if (!isUp(record.status)) return null;
  return {
    normalAfterMs: def.durationMin > 0 ? completionThresholdMs(def) : 0,
    stableAfterMs: def.minUptimeS * 1000,
    unstableOk: record.restarts < def.maxRestarts,
    notBefore: nextRestartNotBefore(def, record.restarts, record.lastRestartAt),
  };
}

/**
 * The runner may have started a newer run than the record knows of (a delayed restart it carried
 * out after the cooldown). Bring the record up to date before deciding anything else.
 */
export function reconcileRun(record: ProcessRecord, latest: RunInfo | null, now: number): ProcessRecord {
  if (!latest || latest.id === record.run?.id) return record;
  if (record.run && compareRunIds(latest.id, record.run.id) <= 0) return record;
  if (record.status === 'crashed') {
    const next = mustTransition('crashed', 'restart'); // crashed -> running (the runner's delayed restart)
    // The restart happened when the run started, which may be later than it was scheduled (the
    // runner heard of it late): the next cooldown counts from then.
    const lastRestartAt = Math.max(record.lastRestartAt ?? 0, latest.startedAt);
    return { ...record, status: next, run: latest, nextRestartAt: null, lastRestartAt, probes: [], cpu: null, updatedAt: now };
  }
  // A new run's probes and CPU start afresh. killReason stays until the exit it explains is handled.
  return { ...record, run: latest, probes: [], cpu: null, updatedAt: now };
}

/** Run ids are "<epoch>.<seq>"; compare numerically. */
export function compareRunIds(a: string, b: string): number {
  const [ae = 0, as = 0] = a.split('.').map(Number);
  const [be = 0, bs = 0] = b.split('.').map(Number);
  return ae - be || as - bs;
}
