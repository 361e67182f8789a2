// Deciding on probe results and resource use of a run that is up: count failures (outside grace),
// turn unhealthy or healthy, and end the run at a probe's failure_threshold, over max_memory_mb, or
// over max_cpu_percent for cpu_window. Probes only report {ok, detail}; this decides.
import type { AlertIntent } from './alerts.js';
import { allProbesPass } from './lineage.js';
import { ledger, waitingAlert, type Effect, type Observation, type Step } from './plan.js';
import { describeReason } from './reasons.js';
import { countProbeResult, describeProbe, type ProbeState } from './probes.js';
import type { ProcessRecord } from './record.js';
import type { ProcessDef } from './schema.js';
import { isUp, mustTransition, type Status } from './states.js';

export type ProbePolicy = Pick<ProcessDef, 'name' | 'autoRestart' | 'health' | 'maxMemoryMb' | 'maxCpuPercent' | 'cpuWindowS' | 'killTimeoutS'>;

/** Past kill_timeout and this, a run pguard set out to end and that still lives is ended again (whoever was ending it died). */
export const END_AGAIN_AFTER_S = 10;

/** A memory or CPU limit is set: the process table must be sampled for it. */
export function hasResourceLimits(def: Pick<ProcessDef, 'maxMemoryMb' | 'maxCpuPercent'>): boolean {
  return def.maxMemoryMb !== undefined || def.maxCpuPercent !== undefined;
}

/** Anything to look at beyond liveness: probes or limits. */
export function needsProbing(def: Pick<ProcessDef, 'health' | 'maxMemoryMb' | 'maxCpuPercent'>): boolean {
  return def.health.length > 0 || hasResourceLimits(def);
}

/** CPU of the tree between two samples, in percent of one core, to a tenth. */
export function cpuPercentBetween(before: { ticks: number; at: number }, ticks: number, ticksPerSecond: number, now: number): number | null {
  if (now <= before.at) return null;
  return Math.round(((ticks - before.ticks) / ticksPerSecond / ((now - before.at) / 1000)) * 1000) / 10;
}

/** How far over a limit, in percent: "+4.2%", "+50%". */
export function describeOverrun(value: number, limit: number): string {
  const pct = (value / limit - 1) * 100;
  return `+${pct >= 10 ? Math.round(pct) : pct.toFixed(1)}%`;
}

type Breach = { kind: 'unhealthy' | 'resource'; reason: string; evidence: Record<string, unknown> };

export function decideProbed(def: ProbePolicy, record: ProcessRecord, obs: Extract<Observation, { kind: 'probed' }>, now: number): Step {
  const none: Step = { next: record.status, record, decision: { action: 'none' }, alerts: [] };
  const run = record.run;
  if (!isUp(record.status) || !run) return none;
  const ending = record.ending;
  if (record.killReason !== null && ending?.run === run.id) {
    // pguard is ending this run already: its exit will come. Unless that was long ago (the one
    // ending it died before its SIGKILL): then end it again, so that no probe or limit stays off.
    if (now - ending.at < (def.killTimeoutS + END_AGAIN_AFTER_S) * 1000) return none;
    return {
      ...none,
      record: { ...record, ending: { ...ending, at: now }, updatedAt: now },
      decision: { action: 'kill', reason: record.killReason },
      effects: [
        ledger({
          event: ending.kind === 'resource' ? 'resource-breach' : 'probe-failure', process: def.name,
          details: { run: run.id, reason: `${record.killReason}; still alive ${Math.round((now - ending.at) / 1000)} s after pguard set out to end it`, action: 'ended again' },
        }),
        { kind: 'end-run' },
      ],
    };
  }
  const probes: (ProbeState | null)[] = def.health.map((p, i) => {
    const result = obs.results[i];
    const prev = record.probes[i] ?? undefined;
    if (!result) return prev ?? null;
    return countProbeResult(prev, result, now - run.startedAt < p.graceS * 1000, now);
  });
  let cpu = record.cpu;
  let breach: Breach | null = null;
  const failing = def.health.findIndex((p, i) => (probes[i]?.failures ?? 0) >= p.failureThreshold);
  if (failing >= 0) {
    const p = def.health[failing]!;
    const st = probes[failing]!;
    breach = {
      kind: 'unhealthy',
      reason: `probe ${describeProbe(p)} failed ${st.failures} times in a row (${st.detail})`,
      evidence: { probe: describeProbe(p), failures: st.failures, detail: st.detail },
    };
  }
  if (obs.usage) {
    const u = obs.usage;
    const percent = record.cpu ? cpuPercentBetween(record.cpu, u.cpuTicks, u.ticksPerSecond, now) : null;
    const over = percent !== null && def.maxCpuPercent !== undefined && percent > def.maxCpuPercent;
    const overSince = over ? (record.cpu?.overSince ?? record.cpu!.at) : null;
    cpu = { ticks: u.cpuTicks, at: now, overSince, percent };
    if (!breach && def.maxMemoryMb !== undefined && u.rssMb > def.maxMemoryMb) {
      breach = {
        kind: 'resource',
        reason: `memory ${u.rssMb} MB is over max_memory_mb ${def.maxMemoryMb} (${describeOverrun(u.rssMb, def.maxMemoryMb)})`,
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
  // An unhealthy process says which probe fails, and how far it is from its threshold.
  const failingNow = def.health.findIndex((_, i) => (probes[i]?.failures ?? 0) > 0);
  const reason = failingNow >= 0
    ? describeReason({ kind: 'probe-failing', probe: describeProbe(def.health[failingNow]!), detail: probes[failingNow]!.detail, failures: probes[failingNow]!.failures, threshold: def.health[failingNow]!.failureThreshold })
    : next !== record.status ? describeReason({ kind: 'healthy-again' }) : record.reason;
  const rec: ProcessRecord = { ...record, status: next, probes, cpu, reason, updatedAt: now };
  const effects: Effect[] = [];
  const failed = def.health.flatMap((p, i) => {
    const r = obs.results[i];
    return r && !r.ok ? [{ probe: describeProbe(p), detail: r.detail }] : [];
  });
  // One probe-failure event per episode: on turning unhealthy, or with the restart it leads to.
  if (next === 'unhealthy' && record.status !== 'unhealthy' && !breach) {
    effects.push(ledger({ event: 'probe-failure', process: def.name, details: { run: run.id, probes: failed } }));
  }
  const passing = allProbesPass(def, rec);
  let recNow = rec;
  if (passing && record.healthyRun !== run.id) {
    // The first time this run's probes all pass: healthy (once per run, however it flaps after).
    effects.push(ledger({ event: 'healthy', process: def.name, details: { run: run.id, generation: record.generation } }));
    if (record.generation !== null) effects.push({ kind: 'mark-generation', generation: record.generation, what: 'healthy_at' });
    recNow = { ...rec, healthyRun: run.id };
  }
  const goodRun = { record: recNow, ranMs: now - run.startedAt };
  if (!breach) return { next, record: recNow, decision: { action: 'none' }, alerts: [], effects, goodRun };

  const blockedBy = obs.blockedBy ?? [];
  if (breach.kind === 'unhealthy' && blockedBy.length > 0) {
    // Its probe fails because a dependency is not ready: restarting it would not help, and would
    // spend its budget. It is left running, unhealthy, and told once.
    const held = { ...recNow, heldFor: blockedBy, reason: describeReason({ kind: 'probe-held', what: breach.reason, deps: blockedBy }) };
    const alerts = record.heldFor ? [] : [waitingAlert(breach.reason, blockedBy, record.restarts)];
    return { next, record: held, decision: { action: 'none' }, alerts, effects, goodRun };
  }
  const action = def.autoRestart ? 'restarting it (stop_signal, then SIGKILL after kill_timeout)' : 'stopping it (auto_restart is off)';
  const killed = { ...recNow, killReason: breach.reason, ending: { run: run.id, at: now, kind: breach.kind }, reason: describeReason({ kind: 'ending', what: breach.reason }) };
  effects.push(
    ledger({ event: breach.kind === 'resource' ? 'resource-breach' : 'probe-failure', process: def.name, details: { run: run.id, reason: breach.reason, action: 'graceful restart' } }),
    { kind: 'end-run' },
  );
  return {
    next,
    record: killed,
    decision: { action: 'kill', reason: breach.reason },
    alerts: [{
      kind: breach.kind, severity: 'warning', message: `${breach.reason}; ${action}`,
      evidence: { ...breach.evidence, restarts: record.restarts, action: 'restart' } as AlertIntent['evidence'],
    }],
    effects,
    goodRun: { ...goodRun, record: killed },
    ...(breach.kind === 'unhealthy' ? { failure: 'probe-never-passed' as const } : {}),
  };
}
