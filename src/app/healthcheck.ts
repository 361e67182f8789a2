// One pass over the registry (what cron runs every few minutes): find processes that died with
// their runner, pending restarts whose runner is gone, failed processes due a retry, overruns;
// apply the same decide() as the runner's on-exit path. A singleton: overlapping passes never
// restart one death twice.
import { groupIssues, invalidEntryAlert, type AlertIntent } from '../core/alerts.js';
import { describeIssue } from '../errors.js';
import { hasResourceLimits } from '../core/on-probe.js';
import { isProblem, type Status } from '../core/states.js';
import { acquireLock, LockBusyError, type LockHolder } from '../effects/lock.js';
import { readProcessTable, readTreeUsageLive } from '../effects/resources.js';
import { announceAndSend, flushHeldAlerts } from './notify.js';
import { supervisedDefs, type Context } from './context.js';
import { checkProcess, type CheckAction } from './check.js';
import { guardWatch } from './watch.js';
import { healthcheckLateMs } from './schedules.js';

export interface HealthAction {
  readonly name: string;
  readonly action: CheckAction;
  readonly detail: string;
}

export interface HealthSummary {
  readonly ok: boolean;
  readonly skipped?: string;
  readonly checked: number;
  readonly counts: Partial<Record<Status, number>>;
  readonly actions: readonly HealthAction[];
  readonly problems: readonly { name: string; status: Status; reason: string }[];
  readonly errors: readonly { name: string; error: string }[];
  /** Entries that break the schema: not supervised until fixed, each named in an alert. */
  readonly invalid?: readonly { name: string; issues: readonly string[] }[];
  readonly duration_ms: number;
  /** With $settings.watch: whether the watcher runs, and what healthcheck did about it. */
  readonly watch?: { readonly running: boolean; readonly started: number | null; readonly had_died: boolean; readonly stalled?: boolean };
}

export async function healthcheck(ctx: Context, opts: { waitMs?: number } = {}): Promise<HealthSummary> {
  const started = Date.now();
  let holder: LockHolder | null = null;
  const lock = await acquireLock(ctx.store.path('locks'), 'healthcheck', 'healthcheck', opts.waitMs ?? 0).catch((err: unknown) => {
    if (!(err instanceof LockBusyError)) throw err;
    holder = err.holder; // held past the wait: another pass is doing the work
    return null;
  });
  if (!lock) {
    const h = holder as LockHolder | null;
    return {
      ok: true, skipped: `another healthcheck is running${h ? ` (pid ${h.pid}, since ${h.since})` : ''}`,
      checked: 0, counts: {}, actions: [], problems: [], errors: [], duration_ms: Date.now() - started,
    };
  }
  try {
    const counts: Partial<Record<Status, number>> = {};
    const actions: HealthAction[] = [];
    const problems: { name: string; status: Status; reason: string }[] = [];
    const errors: { name: string; error: string }[] = [];
    const pendingAlerts: { name: string; alerts: readonly AlertIntent[] }[] = [];
    const defs = supervisedDefs(ctx);
    // Trees are read from /proc; a process table only where the kernel has no `children` files.
    const table = defs.some(hasResourceLimits) && readTreeUsageLive(process.pid) === null ? await readProcessTable() : null;
    const kills: Promise<void>[] = [];
    // An entry that breaks the schema is not acted on, but named: one alert each (folded within cooldown).
    const invalid = [...groupIssues(ctx.registry.issues)].map(([name, issues]) => ({ name: name || 'registry', issues }));
    for (const i of invalid) pendingAlerts.push({ name: i.name, alerts: [invalidEntryAlert(ctx.registry.path, i.name === 'registry' ? '' : i.name, i.issues)] });
    const lateAfterMs = healthcheckLateMs(ctx);
    for (const def of defs) {
      try {
        const res = await checkProcess(ctx, def, { sample: true, table, full: true, lateAfterMs });
        if (res.action) {
          const detail = res.action === 'alerted' ? res.alerts.map((a) => a.message).join('; ') : res.detail;
          actions.push({ name: def.name, action: res.action, detail });
        }
        if (res.alerts.length > 0) pendingAlerts.push({ name: def.name, alerts: res.alerts });
        if (res.kill) kills.push(res.kill);
        const status = res.after.status;
        counts[status] = (counts[status] ?? 0) + 1;
        if (isProblem(status)) {
          problems.push({ name: def.name, status, reason: res.after.reason });
        }
      } catch (err) {
        errors.push({ name: def.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    await Promise.all(kills);
    // Channels after the restarts and kills are carried out, never before.
    for (const p of pendingAlerts) await announceAndSend(ctx, p.name, p.alerts);
    // Alerts held during a channel's quiet hours go out as one digest once they are over.
    try { await flushHeldAlerts(ctx); } catch (err) { errors.push({ name: 'notify', error: err instanceof Error ? err.message : String(err) }); }
    let watch: HealthSummary['watch'];
    if (ctx.registry.settings.watch) {
      try {
        const g = await guardWatch(ctx);
        watch = { running: true, started: g.started, had_died: g.died, ...(g.stalled ? { stalled: true } : {}) };
      } catch (err) {
        errors.push({ name: 'pguard-watch', error: err instanceof Error ? err.message : String(err) });
        watch = { running: false, started: null, had_died: false };
      }
    }
    return {
      ok: problems.length === 0 && errors.length === 0 && invalid.length === 0,
      checked: defs.length, counts, actions, problems, errors, duration_ms: Date.now() - started,
      ...(invalid.length > 0 ? { invalid: invalid.map((i) => ({ name: i.name, issues: i.issues.map((x) => describeIssue(ctx.registry.path, x)) })) } : {}),
      ...(watch ? { watch } : {}),
    };
  } finally {
    await lock.release();
  }
}
