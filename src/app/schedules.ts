// Schedules at work outside core: which look fires a process's schedule and how late a due time
// may be found before it counts as missed (each look's own cadence), the crontab line's own look
// (`pguard fire NAME`), and what fires it, in words, for status. The decisions are core's
// (core/on-schedule.ts), reached through the one look every caller shares (app/check.ts).
import { readFileSync, rmSync, statSync } from 'node:fs';
import { scheduleOf } from '../core/on-schedule.js';
import type { ProcessDef } from '../core/schema.js';
import { writeFileAtomic } from '../effects/atomic-write.js';
import { announceAndSend } from './notify.js';
import { checkProcess, type CheckResult } from './check.js';
import { requireDef, type Context } from './context.js';

/** watch looks every second: a due time a minute old when it sees it was missed (watch was not running, or asleep). */
export const WATCH_LATE_MS = 60_000;
/** cron starts a schedule's own line at its minute; two minutes of slack for a loaded machine. */
export const CRON_LINE_LATE_MS = 120_000;

/** What `cron install` wrote (state file cron.json): the healthcheck's interval, and the processes with a line of their own. */
export interface CronPlan {
  readonly every: number;
  readonly lines: readonly string[];
}

export function readCronPlan(ctx: Context): CronPlan | null {
  try {
    const p = JSON.parse(readFileSync(ctx.store.path('cronPlan'), 'utf8')) as Partial<CronPlan>;
    return typeof p.every === 'number' && Array.isArray(p.lines) ? { every: p.every, lines: p.lines.filter((l) => typeof l === 'string') } : null;
  } catch {
    return null;
  }
}

export function writeCronPlan(ctx: Context, plan: CronPlan | null): void {
  if (plan === null) {
    rmSync(ctx.store.path('cronPlan'), { force: true });
    return;
  }
  writeFileAtomic(ctx.store.path('cronPlan'), `${JSON.stringify(plan)}\n`);
}

/** A healthcheck finds a due time up to its interval late (5 min unless `cron install --every` said), and a minute more. */
export function healthcheckLateMs(ctx: Context): number {
  return ((readCronPlan(ctx)?.every ?? 5) + 1) * 60_000;
}

/** The processes whose schedule gets a crontab line of its own: a 5-field cron schedule (not an interval, nor seconds). */
export function cronLineSchedules(defs: readonly ProcessDef[]): { name: string; crontab: string }[] {
  return defs.flatMap((d) => {
    const s = scheduleOf(d);
    return s && s.schedule.kind === 'cron' && s.schedule.crontab !== null ? [{ name: d.name, crontab: s.schedule.crontab }] : [];
  });
}

/** `pguard fire NAME` (a crontab line of its own): one look at that process, which fires its due time. */
export async function fireFromCron(ctx: Context, name: string): Promise<CheckResult> {
  const def = requireDef(ctx, name);
  const res = await checkProcess(ctx, def, { sample: false, lateAfterMs: CRON_LINE_LATE_MS });
  if (res.alerts.length > 0) await announceAndSend(ctx, name, res.alerts);
  if (res.kill) await res.kill;
  return res;
}

/** watch runs for this registry: its beat (touched every tick) is fresh. */
export function isWatchTicking(ctx: Context): boolean {
  const st = statSync(ctx.store.path('watchBeat'), { throwIfNoEntry: false });
  return st !== undefined && ctx.clock.now() - st.mtimeMs < 5_000 && statSync(ctx.store.path('watchMarker'), { throwIfNoEntry: false }) !== undefined;
}

/** What fires a process's schedule, in words (status): watch, its crontab line, or the healthcheck. */
export function describeFiredBy(def: ProcessDef, opts: { watch: boolean; cron: CronPlan | null }): string {
  const s = scheduleOf(def);
  if (!s) return '';
  if (opts.watch) return 'watch';
  const ownLine = s.schedule.kind === 'cron' && s.schedule.crontab !== null;
  if (opts.cron?.lines.includes(def.name) && ownLine) return 'cron line';
  if (opts.cron) return `healthcheck every ${opts.cron.every} min${s.schedule.kind === 'cron' && s.schedule.hasSeconds ? ' (a seconds field needs watch)' : ''}`;
  return 'nothing: neither watch nor `pguard cron install` runs (`pguard watch`, or `pguard cron install`)';
}
