// `pguard status`: what is recorded and what is live, as a view for the table or --json.
import { isIllegal, isUp, transition, type Status } from '../core/states.js';
import { exitOf } from '../core/runs.js';
import { describeExit, ranSeconds } from '../core/exit.js';
import { describeProbe } from '../core/probes.js';
import { nextFailedRetryAt } from '../core/backoff.js';
import type { ProcessRecord } from '../core/record.js';
import { canReadTreesLive, CLOCK_TICKS, readProcessTable, readTreeUsage, readTreeUsageLive, type ProcessTable } from '../effects/resources.js';
import { fileNames, issuesOf, requireAnyDef, type Context } from './context.js';
import { observe } from './observe.js';
import { isJob, nextScheduledAt, scheduleOf } from '../core/on-schedule.js';
import { describeSchedule } from '../core/schedule.js';
import type { ProcessDef } from '../core/schema.js';
import { describeFiredBy, isWatchTicking, readCronPlan, type CronPlan } from './schedules.js';

export interface StatusView {
  readonly name: string;
  /** `invalid`: the entry breaks the schema (see `issues`); it is not supervised until fixed. */
  readonly status: Status | 'invalid';
  readonly issues?: readonly string[];
  readonly pid: number | null;
  readonly uptime_s: number | null;
  readonly restarts: number;
  readonly budget_used: number;
  readonly max_restarts: number;
  readonly command: string;
  readonly duration_min: number;
  readonly auto_restart: boolean;
  readonly next_restart_at: string | null;
  /** Resident memory of the whole process tree. */
  readonly memory_mb: number | null;
  /** CPU of the tree (100 = one core): the last watch/healthcheck sample, else the average over the run. */
  readonly cpu_percent: number | null;
  /** Per probe: ok null while it has not run on this run (state `pending`), else its last result. */
  readonly health: readonly { probe: string; ok: boolean | null; state: 'pending' | 'passing' | 'failing'; failures: number; detail: string; at: string | null }[];
  /** When watch or healthcheck last sampled the tree against max_memory_mb / max_cpu_percent (this run; null: not yet, or no limits). */
  readonly limits_checked_at: string | null;
  readonly reason: string;
  /** The dependencies it waits for (status waiting, or up with its restarts held for them). */
  readonly waiting_for: readonly string[];
  readonly last_exit: {
    readonly code: number | null;
    readonly signal: string | null;
    readonly started_at: string;
    readonly ended_at: string;
    readonly ran_s: number;
    readonly vanished?: boolean;
  } | null;
  /** A process with `schedule` or `restart_schedule`: its next and last run, and what fires it. */
  readonly schedule?: ScheduleView;
}

export interface ScheduleView {
  readonly field: 'schedule' | 'restart_schedule';
  readonly expression: string;
  /** Armed by start (a stop disarms it). */
  readonly armed: boolean;
  readonly next_run_at: string | null;
  /** watch, cron line, healthcheck every N min, or nothing (and what to do). */
  readonly fired_by: string;
  /** The last scheduled run (or restart): when it was due and started; for a job, how it ended and how long it ran (null while it runs). */
  readonly last_run: {
    readonly due_at: string | null;
    readonly started_at: string;
    readonly outcome: 'running' | 'completed' | 'failed' | 'stopped' | 'restarted';
    readonly ended_at: string | null;
    readonly code: number | null;
    readonly signal: string | null;
    readonly ran_s: number | null;
  } | null;
  readonly skipped: number;
  readonly missed: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A pending restart of a crashed process, or the next retry of a failed one. */
function nextRestart(ctx: Context, status: Status, rec: ProcessRecord, job: boolean): string | null {
  if (job) return null; // a job is not restarted: its schedule (status's `schedule`) runs it again
  if (status === 'crashed' && rec.nextRestartAt) return iso(rec.nextRestartAt);
  const retry = status === 'failed' ? nextFailedRetryAt(ctx.registry.settings.failedRetryS, rec) : null;
  return retry === null ? null : iso(retry);
}

export function describeStatus(ctx: Context, name: string, table: ProcessTable | null = null, firing: Firing = firingReader(ctx)): StatusView {
  const base = describeSupervised(ctx, name, table);
  const def = ctx.registry.defs.get(name);
  const sched = def ? describeScheduleOf(ctx, def, base, firing) : null;
  const view = sched ? { ...base, schedule: sched } : base;
  const issues = issuesOf(ctx, name);
  // Shown with what it runs, if it still does (pguard does not supervise it until it is fixed).
  return issues.length === 0 ? view : { ...view, status: 'invalid', issues, reason: `not supervised: ${issues.join('; ')}`, next_restart_at: null };
}

function describeSupervised(ctx: Context, name: string, table: ProcessTable | null): StatusView {
  const def = requireAnyDef(ctx, name);
  const obs = observe(ctx, name);
  const rec = obs.record;
  const now = ctx.clock.now();
  let status: Status = rec.status;
  let reason = rec.reason;
  // A record that says running while neither the process nor its runner lives: it died with its
  // runner (SIGKILL of the group, OOM, reboot). The next healthcheck recovers it; say so now.
  const vanished = transition(status, 'vanished'); // running/unhealthy -> crashed, stopping -> stopped
  if (!isIllegal(vanished) && !obs.processAlive && !obs.runnerAlive) {
    status = vanished;
    reason = status === 'crashed' ? 'died with its runner; the next `pguard healthcheck` recovers it' : reason;
  }
  // Alive, its runner dead: unguarded until the next look adopts it (core/on-check.ts).
  if (isUp(status) && obs.processAlive && !obs.runnerAlive) reason = 'its runner died; the next `pguard healthcheck` (or watch) adopts it';
  // The latest exit: the record's, or a newer one the runner wrote and on-exit has not yet handled.
  const lastRunExit = rec.run ? exitOf(obs.runs, rec.run.id) : null;
  const exit = lastRunExit ?? rec.lastExit;
  if (isUp(status) && !obs.processAlive && obs.runnerAlive && lastRunExit) {
    // The runner is reporting this exit right now (a few ms): show it as what it most likely is.
    status = isJob(def) ? (lastRunExit.code === 0 ? 'completed' : 'failed') : 'crashed';
    reason = `${describeExit(lastRunExit)}; its runner is deciding what to do`;
  }
  // From /proc alone where the kernel lists children (no `ps` spawned), else from the table.
  const root = obs.liveRun?.identity.pid;
  const usage = root === undefined ? null : readTreeUsageLive(root) ?? (table ? readTreeUsage(table, root) : null);
  const recentCpu = rec.cpu && rec.cpu.percent !== null && now - rec.cpu.at < 60_000 ? rec.cpu.percent : null;
  const avgCpu = usage && obs.liveRun && now > obs.liveRun.startedAt
    ? Math.round((usage.cpuTicks / CLOCK_TICKS / ((now - obs.liveRun.startedAt) / 1000)) * 1000) / 10 : null;
  return {
    name,
    status,
    pid: obs.liveRun?.identity.pid ?? null,
    uptime_s: obs.liveRun ? Math.max(0, Math.round((now - obs.liveRun.startedAt) / 1000)) : null,
    restarts: rec.totalRestarts,
    budget_used: rec.restarts,
    max_restarts: def.maxRestarts,
    command: def.command,
    duration_min: def.durationMin,
    auto_restart: def.autoRestart,
    next_restart_at: nextRestart(ctx, status, rec, isJob(def)),
    memory_mb: usage ? usage.rssMb : null,
    cpu_percent: obs.liveRun ? (recentCpu ?? avgCpu) : null,
    health: def.health.map((p, i) => {
      const st = obs.liveRun ? rec.probes[i] : null;
      const ok = st?.lastOk ?? null;
      return { probe: describeProbe(p), ok, state: ok === null ? 'pending' : ok ? 'passing' : 'failing', failures: st?.failures ?? 0, detail: st?.detail ?? '', at: st?.lastAt ? iso(st.lastAt) : null };
    }),
    limits_checked_at: obs.liveRun && rec.cpu && (def.maxMemoryMb !== undefined || def.maxCpuPercent !== undefined) ? iso(rec.cpu.at) : null,
    reason,
    waiting_for: rec.heldFor ?? [],
    last_exit: exit
      ? {
          code: exit.code, signal: exit.signal, started_at: iso(exit.startedAt), ended_at: iso(exit.endedAt),
          ran_s: ranSeconds(exit),
          ...(exit.vanished ? { vanished: true } : {}),
        }
      : null,
  };
}

/** What fires schedules in this registry (watch's beat, cron.json), read when first asked. */
type Firing = () => { watch: boolean; cron: CronPlan | null };
function firingReader(ctx: Context): Firing {
  let f: ReturnType<Firing> | null = null;
  return () => (f ??= { watch: isWatchTicking(ctx), cron: readCronPlan(ctx) });
}

function describeScheduleOf(ctx: Context, def: ProcessDef, view: StatusView, firing: Firing): ScheduleView | null {
  const s = scheduleOf(def);
  if (!s) return null;
  const rec = ctx.store.readRecord(def.name);
  const st = rec.schedule;
  const next = nextScheduledAt(def, rec);
  let lastRun: ScheduleView['last_run'] = null;
  if (st?.lastFiredAt != null || (isJob(def) && view.last_exit)) {
    const startedAt = st?.lastFiredAt ?? null;
    const exit = view.last_exit;
    // The last exit belongs to this run when it began at (or after) the run was fired.
    const ended = exit && (startedAt === null || Date.parse(exit.started_at) >= startedAt - 1000) ? exit : null;
    const up = view.status === 'running' || view.status === 'unhealthy';
    const outcome = s.field === 'restart_schedule' ? 'restarted' as const
      : up && (ended === null || Date.parse(ended.started_at) < (startedAt ?? 0)) ? 'running' as const
      : view.status === 'completed' ? 'completed' as const : view.status === 'stopped' ? 'stopped' as const : 'failed' as const;
    lastRun = {
      due_at: st?.lastDueAt != null ? new Date(st.lastDueAt).toISOString() : null,
      started_at: ended?.started_at ?? (startedAt !== null ? new Date(startedAt).toISOString() : ''),
      outcome,
      ended_at: outcome === 'running' || outcome === 'restarted' ? null : ended?.ended_at ?? null,
      code: outcome === 'running' || outcome === 'restarted' ? null : ended?.code ?? null,
      signal: outcome === 'running' || outcome === 'restarted' ? null : ended?.signal ?? null,
      ran_s: outcome === 'running' || outcome === 'restarted' ? null : ended?.ran_s ?? null,
    };
  }
  return {
    field: s.field, expression: describeSchedule(s.schedule), armed: st?.armed ?? false,
    next_run_at: next === null ? null : new Date(next).toISOString(),
    fired_by: !st?.armed ? 'nothing: not armed (`pguard start` arms it)' : describeFiredBy(def, firing()),
    last_run: lastRun, skipped: st?.skipped ?? 0, missed: st?.missed ?? 0,
  };
}

/** `status --json`: every entry of the file (or those named), for the CLI, the dashboard and MCP alike. */
export function describeRegistryStatus(ctx: Context, names?: string | readonly string[]): Promise<StatusView[]> {
  const named = names === undefined ? [] : typeof names === 'string' ? [names] : [...new Set(names)];
  return describeStatuses(ctx, named.length > 0 ? named.map((n) => requireAnyDef(ctx, n).name) : fileNames(ctx));
}

export async function describeStatuses(ctx: Context, names: readonly string[]): Promise<StatusView[]> {
  // Memory and CPU of each tree from /proc; a process-table snapshot (one `ps`) only where /proc
  // cannot list children, and only when something runs.
  const anyUp = names.some((n) => ctx.store.readRecord(n).runner !== null);
  const table = anyUp && !canReadTreesLive() ? await readProcessTable().catch(() => null) : null;
  // What fires schedules is read once for all of them.
  const firing = firingReader(ctx);
  return names.map((n) => describeStatus(ctx, n, table, firing));
}
