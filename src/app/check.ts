// One look at one process, shared by `healthcheck` (once) and `watch` (every tick): observe ->
// decide -> apply for liveness and recovery, then for its due probes and resource limits. A first
// look takes no lock: when the plan it yields is empty and nothing is due, the process is left
// alone (watch does this for every process every second). The probes run outside the process lock
// (an HTTP probe may take its whole timeout; the runner's exit report must not wait for it).
import type { AlertIntent } from '../core/alerts.js';
import { decide } from '../core/decide.js';
import { nextTimedDecision } from '../core/on-check.js';
import { hasResourceLimits, needsProbing } from '../core/on-probe.js';
import type { Plan } from '../core/plan.js';
import { isProbeDue } from '../core/probes.js';
import type { ProcessRecord, RunInfo } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { isUp } from '../core/states.js';
import { logNeedsRotation, rotateLog } from '../effects/log-file.js';
import { CLOCK_TICKS, readTreeUsage, readTreeUsageLive, type ProcessTable } from '../effects/resources.js';
import { WRITER_LOG_SLACK, writesOwnLog } from '../effects/spawn.js';
import { apply } from './apply.js';
import { withProcessLock, type Context } from './context.js';
import { blockedByOf, lineageOf, observe, type Observed } from './observe.js';
import { runProbe } from './probes.js';

/** How far past log_max_mb the healthcheck lets a log go: its runner's writer rotates it at log_max_mb. */
const logSlack = (def: ProcessDef): number => (writesOwnLog(def) ? WRITER_LOG_SLACK : 1);

export type CheckAction = 'restarted' | 'restart-scheduled' | 'adopted' | 'gave-up' | 'alerted' | 'killed' | 'scheduled-run' | 'scheduled-restart';

export interface CheckResult {
  readonly name: string;
  readonly before: ProcessRecord;
  readonly after: ProcessRecord;
  readonly action: CheckAction | null;
  readonly detail: string;
  readonly alerts: readonly AlertIntent[];
  /** A run pguard decided to end (failed probe, memory, CPU): the caller awaits it. */
  readonly kill: Promise<void> | null;
  /** Up, with nothing to decide and nothing due: the run watch may skip until something is due (or `until`). */
  readonly idle: { readonly run: RunInfo; readonly until: number } | null;
  /** The tree's resident memory, when this look sampled it. */
  readonly rssMb?: number;
}

/** What a plan did, in one word for healthcheck's and watch's report. */
function actionOf(before: ProcessRecord, plan: Plan): CheckAction | null {
  const d = plan.decision;
  if (plan.effects.some((e) => e.kind === 'scheduled-restart')) return 'scheduled-restart';
  if (d.action === 'spawn' && plan.record.schedule && plan.record.schedule.lastFiredAt !== before.schedule?.lastFiredAt) return 'scheduled-run';
  if (d.action === 'spawn') return d.delayMs > 0 ? 'restart-scheduled' : 'restarted';
  if (d.action === 'kill') return 'killed';
  if (d.action === 'adopt') return 'adopted';
  if (plan.next === 'failed' && before.status !== 'failed') return 'gave-up';
  return plan.alerts.length > 0 ? 'alerted' : null;
}

/** The observation of a look: liveness, with what the policy needs of generations and dependencies. */
function checked(ctx: Context, def: ProcessDef, seen: Observed, lateAfterMs: number | undefined) {
  return {
    kind: 'checked' as const, processAlive: seen.processAlive, runnerAlive: seen.runnerAlive,
    lineage: lineageOf(ctx, def.name, seen.record), blockedBy: blockedByOf(ctx, def),
    ...(lateAfterMs !== undefined ? { lateAfterMs } : {}),
  };
}

function isEmpty(plan: Plan, seen: Observed): boolean {
  return plan.record === seen.record && plan.effects.length === 0 && plan.alerts.length === 0;
}

/**
 * `full` (healthcheck): every probe now, and the housekeeping of a locked look (log and runs.log
 * rotation) for every process. Without it (watch), probes when due and a first look without a lock.
 */
export async function checkProcess(
  ctx: Context, def: ProcessDef, opts: { sample: boolean; table?: ProcessTable | null; full?: boolean; lateAfterMs?: number },
): Promise<CheckResult> {
  const name = def.name;
  const dueAt = (seen: Observed, now: number) => ({
    probes: seen.processAlive && (opts.full ? def.health.length > 0 : def.health.some((p, i) => isProbeDue(p, seen.record.probes[i] ?? undefined, now))),
    resources: seen.processAlive && opts.sample && hasResourceLimits(def),
  });

  {
    // A look without the lock first: most looks change nothing. (healthcheck's full look also
    // rotates the logs, under the lock, when one is past its size.)
    const glance = observe(ctx, name);
    const look = checked(ctx, def, glance, opts.lateAfterMs);
    const now = ctx.clock.now();
    const plan = decide(def, ctx.registry.settings, glance.record, look, now);
    const due = dueAt(glance, now);
    const rotate = opts.full && (logNeedsRotation(ctx.store.logFile(name), def.logMaxMb, logSlack(def)) || ctx.store.runsNeedRotation(name));
    if (isEmpty(plan, glance) && !due.probes && !due.resources && !rotate) {
      const idle = glance.liveRun && isUp(glance.record.status) ? { run: glance.liveRun, until: nextTimedDecision(def, glance.record, look.lineage) } : null;
      return { name, before: glance.record, after: glance.record, action: null, detail: glance.record.reason, alerts: [], kill: null, idle };
    }
  }

  // Liveness and recovery, under the lock.
  const first = await withProcessLock(ctx, name, async () => {
    const seen = observe(ctx, name);
    // (With log_writer the runner's writer rotates it, and a copytruncate here would race it: only
    // a log past 1.1 x log_max_mb, which no writer leaves, is rotated here.)
    if (seen.processAlive) rotateLog(ctx.store.logFile(name), def.logMaxMb, def.logKeep, logSlack(def));
    // A runner that restarts for months never spawns anew: keep its runs.log short here too.
    ctx.store.rotateRuns(name);
    const plan = decide(def, ctx.registry.settings, seen.record, checked(ctx, def, seen, opts.lateAfterMs), ctx.clock.now());
    const applied = await apply(ctx, def, seen, plan);
    return { seen, plan, record: applied.record };
  }, 10_000);
  const base: CheckResult = {
    name, before: first.seen.record, after: first.record, action: actionOf(first.seen.record, first.plan),
    detail: first.record.reason, alerts: first.plan.alerts, kill: null, idle: null,
  };
  const run = first.seen.liveRun;
  if (!run || base.action === 'restarted' || base.action === 'scheduled-run' || !needsProbing(def)) return base;
  const due = dueAt(first.seen, ctx.clock.now());
  if (!due.probes && !due.resources) return base;

  // The due probes and the tree's resource use, no lock held.
  const now = ctx.clock.now();
  const results = await Promise.all(def.health.map((p, i) =>
    opts.full || isProbeDue(p, first.record.probes[i] ?? undefined, now) ? runProbe(ctx, def, p, run) : Promise.resolve(null)));
  const tree = due.resources ? (readTreeUsageLive(run.identity.pid) ?? (opts.table ? readTreeUsage(opts.table, run.identity.pid) : null)) : null;
  const usage = tree ? { ...tree, ticksPerSecond: CLOCK_TICKS } : null;

  // Decide on what was seen, if the run is still the one probed.
  return withProcessLock(ctx, name, async () => {
    const seen = observe(ctx, name);
    if (seen.liveRun?.id !== run.id) return base;
    const plan = decide(def, ctx.registry.settings, seen.record, { kind: 'probed', results, usage, lineage: lineageOf(ctx, name, seen.record), blockedBy: blockedByOf(ctx, def) }, ctx.clock.now());
    const applied = await apply(ctx, def, seen, plan);
    const alerts = [...base.alerts, ...plan.alerts];
    const action = plan.decision.action === 'kill' ? 'killed' : base.action;
    const detail = plan.decision.action === 'kill' ? plan.decision.reason : base.detail;
    return { ...base, after: applied.record, action, detail, alerts, kill: applied.ending ? applied.ending.then(() => undefined) : null, ...(usage ? { rssMb: usage.rssMb } : {}) };
  }, 10_000);
}
