// Deciding on a schedule: `schedule` (a job, run to completion at each time) and `restart_schedule`
// (a long-running process, restarted at each time). Armed by start, disarmed by stop; every look
// (watch's tick, healthcheck's pass, a crontab line of its own) asks the same question here: is a
// time due that nothing has handled? Then: run it, skip it (the previous run still runs), report
// what was missed while nothing looked, or restart it. The state is the record's `schedule`
// (core/record.ts), so two looks at once never fire one time twice (they hold the process lock).
import type { AlertIntent } from './alerts.js';
import { ledger, type Step } from './plan.js';
import { describeReason } from './reasons.js';
import { NOT_ENDING, type ProcessRecord, type ScheduleState } from './record.js';
import { describeSchedule, firesBetween, nextFireAfter, parseSchedule, type Schedule } from './schedule.js';
import type { ProcessDef } from './schema.js';
import { isIllegal, isUp, mustTransition, transition, type Status } from './states.js';

export type ScheduleDef = Pick<ProcessDef, 'name' | 'schedule' | 'restartSchedule'>;

/** By default a due time more than a minute old when first seen was missed (watch looks every second). */
export const DEFAULT_LATE_AFTER_MS = 60_000;

export interface DefSchedule {
  readonly field: 'schedule' | 'restart_schedule';
  readonly schedule: Schedule;
}

/** Its schedule, parsed (validation has refused any that does not parse). */
export function scheduleOf(def: Partial<ScheduleDef>): DefSchedule | null {
  const text = def.schedule ?? def.restartSchedule;
  if (text === undefined) return null;
  const p = parseSchedule(text);
  return p.ok ? { field: def.schedule !== undefined ? 'schedule' : 'restart_schedule', schedule: p.schedule } : null;
}

/** A job: a process with `schedule`, run to completion at each time. */
export function isJob(def: Partial<ScheduleDef>): boolean {
  return def.schedule !== undefined;
}

/** Its schedule armed now (start): the times from now on; what it ran before is kept. */
export function armSchedule(def: Partial<ScheduleDef>, now: number, before: ScheduleState | null = null): ScheduleState | null {
  if (!scheduleOf(def)) return null;
  return { lastDueAt: null, lastFiredAt: null, skipped: 0, missed: 0, ...before, armed: true, armedAt: now, handledUpTo: now };
}

/** Disarmed (a stop): no time fires it until the next start. */
export function disarmSchedule(st: ScheduleState | null): ScheduleState | null {
  return st === null ? null : { ...st, armed: false };
}

/** When it is next due (ms), or null: no schedule, or not armed. */
export function nextScheduledAt(def: Partial<ScheduleDef>, record: Pick<ProcessRecord, 'schedule'>): number | null {
  const s = scheduleOf(def);
  const st = record.schedule;
  if (!s || !st?.armed) return null;
  return nextFireAfter(s.schedule, st.handledUpTo, st.armedAt);
}

/** `start` of a job: arm its schedule, run nothing. A job already armed is left as it is. */
export function decideArm(def: ScheduleDef, record: ProcessRecord, now: number): Step {
  const none: Step = { next: record.status, record, decision: { action: 'none' }, alerts: [] };
  const armed = armSchedule(def, now, record.schedule);
  if (!armed || record.schedule?.armed) return none;
  // The caller has checked that nothing is alive: a record still saying up is stale.
  const from: Status = isUp(record.status) || record.status === 'stopping' ? mustTransition(record.status, 'vanished') : record.status;
  const next = mustTransition(from, 'arm'); // never-started/stopped/completed/failed/crashed/waiting -> scheduled
  const rec: ProcessRecord = {
    ...record, ...NOT_ENDING, status: next, schedule: armed, restarts: 0, nextRestartAt: null, failedAt: null, recovering: false,
    failedRetries: 0, heldFor: null, probes: [], cpu: null, reason: describeReason({ kind: 'armed', next: nextScheduledAt(def, { schedule: armed }) }), updatedAt: now,
  };
  const s = scheduleOf(def)!;
  return {
    next, record: rec, decision: { action: 'none' }, alerts: [],
    effects: [ledger({ event: 'schedule', process: def.name, details: { action: 'armed', [s.field]: describeSchedule(s.schedule), next_at: iso(nextScheduledAt(def, rec)) } })],
  };
}

/**
 * A look at an armed schedule: null when no time is due (the look goes on as any other), else the
 * step for it. processAlive/runnerAlive: what the look saw of the current run.
 */
export function decideScheduled(
  def: ScheduleDef, record: ProcessRecord, obs: { readonly processAlive: boolean; readonly runnerAlive: boolean; readonly lateAfterMs?: number }, now: number,
): Step | null {
  const s = scheduleOf(def);
  const st = record.schedule;
  if (!s || !st?.armed) return null;
  const due = nextFireAfter(s.schedule, st.handledUpTo, st.armedAt);
  if (due === null || now < due) return null;
  const late = obs.lateAfterMs ?? DEFAULT_LATE_AFTER_MS;
  const all = firesBetween(s.schedule, st.handledUpTo, now, st.armedAt);
  const latest = all.last ?? due;
  // Missed: due times older than `late` when first seen; nothing looked at them in time.
  const missed = firesBetween(s.schedule, st.handledUpTo, now - late, st.armedAt);
  const onTime = missed.count < all.count; // the latest is still on time: it runs as itself
  const missedCount = missed.count;
  const since = missed.first;
  const alive = obs.processAlive || obs.runnerAlive;
  const handled: ScheduleState = { ...st, handledUpTo: latest };

  if (s.field === 'restart_schedule') {
    // Up: restarted as `pguard restart` does, by a background job. Down: it stays down. A time
    // missed altogether (asleep) is not made up at some other hour: the next one restarts it.
    const restart = isUp(record.status) && obs.processAlive && onTime;
    const rec: ProcessRecord = {
      ...record, schedule: restart ? { ...handled, lastDueAt: latest, lastFiredAt: now } : { ...handled, missed: st.missed + missedCount },
      ...(restart ? { reason: `restarting on its restart_schedule (due ${iso(latest)})` } : {}), updatedAt: now,
    };
    const details = { action: restart ? 'restart' : isUp(record.status) ? 'missed' : 'not-up', due_at: iso(latest), status: record.status, ...(missedCount > 0 ? { missed: missedCount } : {}) };
    return {
      next: record.status, record: rec, decision: { action: 'none' }, alerts: [],
      effects: [ledger({ event: 'schedule', process: def.name, details }), ...(restart ? [{ kind: 'scheduled-restart' as const }] : [])],
    };
  }

  if (alive && isUp(record.status)) {
    // The previous run still runs: this time is skipped, and said (the alert folds its repeats).
    const ranMs = record.run ? now - record.run.startedAt : null;
    const n = all.count;
    const message = `${n === 1 ? `its run due at ${iso(latest)} was` : `${n} runs due since ${iso(all.first!)} were`} skipped: the previous run${ranMs !== null ? ` (started ${describeAgo(ranMs)} ago${record.run ? `, pid ${record.run.identity.pid}` : ''})` : ''} is still running (runs never overlap)`;
    const alert: AlertIntent = { kind: 'skipped', severity: 'warning', message, evidence: { due_at: iso(latest), restarts: record.restarts, action: 'none' } };
    return {
      next: record.status, record: { ...record, schedule: { ...handled, skipped: st.skipped + n }, updatedAt: now }, decision: { action: 'none' }, alerts: [alert],
      effects: [ledger({ event: 'schedule', process: def.name, details: { action: 'skipped', due_at: iso(latest), count: n, run: record.run?.id ?? null } })],
    };
  }
  const edge = transition(record.status, 'fire');
  // Up in the record but gone (a vanished run), stopping, waiting: the look's other rules first.
  if (alive || isIllegal(edge)) return null;
  // scheduled/completed/failed/crashed -> running: its time came (or, all missed, once now).
  const dueAt = onTime ? latest : (missed.last ?? latest);
  const alerts: AlertIntent[] = missedCount > 0 ? [{
    kind: 'missed', severity: 'warning',
    message: `missed ${missedCount} scheduled run${missedCount === 1 ? '' : 's'}${missed.capped ? ' or more' : ''} since ${iso(since!)} (nothing looked at its schedule then: the machine was off or asleep, or neither watch nor cron ran); ${onTime ? 'running the one due now' : 'running it once now'}`,
    evidence: { due_at: iso(dueAt), missed: missedCount, since: iso(since!), restarts: 0, action: 'catch-up' },
  }] : [];
  const rec: ProcessRecord = {
    ...record, ...NOT_ENDING, status: edge, restarts: 0, nextRestartAt: null, failedAt: null, recovering: false, failedRetries: 0, heldFor: null,
    probes: [], cpu: null, schedule: { ...handled, lastDueAt: dueAt, lastFiredAt: now, missed: st.missed + missedCount },
    reason: describeReason({ kind: 'scheduled-run', dueAt, missed: missedCount }), updatedAt: now,
  };
  const coalesced = all.count - missedCount - (onTime ? 1 : 0);
  return {
    next: edge, record: rec, decision: { action: 'spawn', delayMs: 0 }, alerts,
    effects: [
      ledger({ event: 'schedule', process: def.name, details: { action: 'run', due_at: iso(dueAt), ...(missedCount > 0 ? { missed: missedCount, since: iso(since!) } : {}), ...(coalesced > 0 ? { coalesced } : {}), ...(onTime ? {} : { catch_up: true }) } }),
      { kind: 'spawn-runner', delayMs: 0 },
    ],
  };
}

function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function describeAgo(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}
