// One look at one process, shared by `healthcheck` (once) and `watch` (every tick): liveness and
// recovery, then its due probes and resource limits. The probes run outside the process lock (an
// HTTP probe may take its whole timeout; the runner's exit report must not wait for it).
import { join } from 'node:path';
import { decide, type AlertIntent, type Outcome } from '../core/policy.js';
import { describeProbe, isProbeDue, type ProbeDef, type ProbeResult } from '../core/probes.js';
import { recordEvent, recordEvents, type PendingEvent } from './ledger.js';
import { exitEvents } from './lifecycle.js';
import type { RunInfo } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { stopTree } from '../effects/kill.js';
import { rotateLog } from '../effects/log-file.js';
import { probeExec } from '../effects/probes/exec.js';
import { probeHeartbeat } from '../effects/probes/heartbeat.js';
import { probeHttp } from '../effects/probes/http.js';
import { probeTcp } from '../effects/probes/tcp.js';
import { CLOCK_TICKS, readTreeUsage, type ProcessTable } from '../effects/resources.js';
import { buildEnv, resolveCwd } from '../effects/spawn.js';
import { withProcessLock, type Context } from './context.js';
import { observe } from './observe.js';
import { launchRunner, rollbackLater, writeArmFor } from './runner-control.js';
import { markGeneration, noteKnownGood, readGenerations } from './generations.js';

export interface CheckResult {
  readonly name: string;
  readonly before: Outcome['record'];
  readonly after: Outcome['record'];
  readonly action: 'restarted' | 'restart-scheduled' | 'gave-up' | 'alerted' | 'killed' | null;
  readonly detail: string;
  readonly alerts: readonly AlertIntent[];
  /** A run pguard decided to end (failed probe, memory, CPU): the caller awaits it. */
  readonly kill: Promise<void> | null;
}

function allProbesPass(def: ProcessDef, record: { probes: readonly ({ lastOk: boolean | null } | null)[] }): boolean {
  return def.health.length > 0 && record.probes.length === def.health.length && record.probes.every((p) => p?.lastOk === true);
}

export function heartbeatFile(ctx: Context, name: string): string {
  return join(ctx.store.procDir(name), 'heartbeat');
}

export function runProbe(ctx: Context, def: ProcessDef, probe: ProbeDef, run: RunInfo): Promise<ProbeResult> {
  const timeoutMs = probe.timeoutS * 1000;
  switch (probe.type) {
    case 'http': return probeHttp(probe.url, probe.expectStatus, timeoutMs);
    case 'tcp': return probeTcp(probe.host, probe.port, timeoutMs);
    case 'exec': return probeExec(probe.command, resolveCwd(def, ctx.registry.path), buildEnv(def, ctx.registry.path, ctx.env), timeoutMs);
    case 'heartbeat': return Promise.resolve(probeHeartbeat(heartbeatFile(ctx, def.name), probe.maxAgeS, run.startedAt, ctx.clock.now()));
  }
}

function needsProbing(def: ProcessDef): boolean {
  return def.health.length > 0 || def.maxMemoryMb !== undefined || def.maxCpuPercent !== undefined;
}

export async function checkProcess(ctx: Context, def: ProcessDef, opts: { table: ProcessTable | null; probeAll?: boolean }): Promise<CheckResult> {
  const name = def.name;
  const first = await withProcessLock(ctx, name, async () => {
    const obs = observe(ctx, name);
    if (obs.processAlive) rotateLog(ctx.store.logFile(name), def.logMaxMb, def.logKeep);
    // A runner that restarts for months never passes through launchRunner: keep its runs.log short here too.
    ctx.store.rotateRuns(name);
    const outcome = decide(def, ctx.registry.settings, obs.record, { kind: 'checked', processAlive: obs.processAlive, runnerAlive: obs.runnerAlive }, ctx.clock.now());
    let record = outcome.record;
    let action: CheckResult['action'] = null;
    const events: PendingEvent[] = record.lastExit !== obs.record.lastExit && record.lastExit
      ? exitEvents(name, record.lastExit, obs.record, outcome) : [];
    if (outcome.decision.action === 'spawn') {
      if (obs.record.status === 'failed') events.push({ event: 'restart', process: name, details: { reason: record.reason, restarts: record.restarts } });
      await recordEvents(ctx, events);
      events.length = 0;
      record = await launchRunner(ctx, def, record, outcome.decision.delayMs);
      action = outcome.decision.delayMs > 0 ? 'restart-scheduled' : 'restarted';
    } else if (record !== obs.record) {
      ctx.store.writeRecord(name, record);
      writeArmFor(ctx, def, record);
      if (record.status === 'failed' && obs.record.status !== 'failed') action = 'gave-up';
    }
    if (!action && outcome.alerts.length > 0) action = 'alerted';
    const up = obs.liveRun;
    const good = up ? noteKnownGood(ctx, def, record, ctx.clock.now() - up.startedAt, false) : null;
    if (good) events.push(good);
    if (record.status === 'failed' && obs.record.status !== 'failed') rollbackLater(ctx, name, record.reason);
    await recordEvents(ctx, events);
    return { before: obs.record, record, action, alerts: outcome.alerts, liveRun: obs.liveRun };
  }, 10_000);
  const base = { name, before: first.before, after: first.record, action: first.action, detail: first.record.reason, alerts: first.alerts, kill: null };
  const run = first.liveRun;
  if (!run || first.action === 'restarted' || !needsProbing(def)) return base;

  // Phase 2, no lock held: the due probes and the tree's resource use.
  const now = ctx.clock.now();
  const results = await Promise.all(def.health.map((p, i) =>
    opts.probeAll || isProbeDue(p, first.record.probes[i] ?? undefined, now) ? runProbe(ctx, def, p, run) : Promise.resolve(null)));
  const usage = opts.table && (def.maxMemoryMb !== undefined || def.maxCpuPercent !== undefined)
    ? { ...readTreeUsage(opts.table, run.identity.pid), ticksPerSecond: CLOCK_TICKS }
    : null;

  // Phase 3: decide on what was seen, if the run is still the one probed.
  return withProcessLock(ctx, name, async () => {
    const obs = observe(ctx, name);
    if (obs.liveRun?.id !== run.id) return base;
    const outcome = decide(def, ctx.registry.settings, obs.record, { kind: 'probed', results, usage }, ctx.clock.now());
    ctx.store.writeRecord(name, outcome.record);
    const alerts = [...first.alerts, ...outcome.alerts];
    const failed = def.health.map((p, i) => ({ p, r: results[i] })).filter((x) => x.r && !x.r.ok);
    // One probe-failure event per episode: on turning unhealthy, or with the restart it leads to.
    if (outcome.next === 'unhealthy' && obs.record.status !== 'unhealthy' && outcome.decision.action !== 'kill') {
      await recordEvent(ctx, 'probe-failure', name, { run: run.id, probes: failed.map((x) => ({ probe: describeProbe(x.p), detail: x.r!.detail })) });
    }
    if (outcome.decision.action === 'kill') {
      const breach = outcome.alerts[0]?.kind === 'resource' ? 'resource-breach' : 'probe-failure';
      await recordEvent(ctx, breach, name, { run: run.id, reason: outcome.decision.reason, action: 'graceful restart' });
    }
    const allOk = allProbesPass(def, outcome.record);
    if (allOk && !allProbesPass(def, obs.record)) {
      await recordEvent(ctx, 'healthy', name, { run: run.id, generation: obs.record.generation });
      if (obs.record.generation !== null) markGeneration(ctx, name, obs.record.generation, 'healthy_at');
    }
    const good = noteKnownGood(ctx, def, outcome.record, ctx.clock.now() - run.startedAt, allOk);
    if (good) await recordEvents(ctx, [good]);
    // A new generation that never passed its probes is not restarted again and again: rolled back.
    if (outcome.decision.action === 'kill' && outcome.alerts[0]?.kind === 'unhealthy' && obs.record.generation !== null
        && !readGenerations(ctx, name).find((g) => g.gen === obs.record.generation)?.healthy_at) {
      rollbackLater(ctx, name, outcome.decision.reason);
    }
    if (outcome.decision.action !== 'kill') return { ...base, after: outcome.record, alerts };
    // End the run gracefully; its runner sees a premature exit and restarts it under the policy.
    const kill = stopTree(run.identity, def.stopSignal, def.killTimeoutS * 1000).then(() => undefined);
    return { ...base, after: outcome.record, action: 'killed' as const, detail: outcome.decision.reason, alerts, kill };
  }, 10_000);
}
