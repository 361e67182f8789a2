// A schedule's decisions through decide(), case by case: start arms a job, its time runs it, a run
// still going makes the next time skip, missed times are said once, a job's exits (completed, a
// failed run), the overrun at duration_min, a scheduled restart, and a stop that disarms.
import { beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import { armFor } from '../../src/core/arm.js';
import type { Observation, Plan } from '../../src/core/plan.js';
import { emptyRecord, type ProcessRecord } from '../../src/core/record.js';
import type { ProcessDef } from '../../src/core/schema.js';

beforeAll(() => { process.env.TZ = 'UTC'; });

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0); // 10:00:00
const MIN = 60_000;
const job: ProcessDef = {
  name: 'scraper', command: 'x', cwd: undefined, env: {}, envFile: undefined, durationMin: 0, autoRestart: true,
  maxRestarts: 3, restartCooldownS: 30, minUptimeS: 60, backoff: 'fixed', stopSignal: 'SIGTERM', killTimeoutS: 10,
  dependsOn: [], autostart: false, logMaxMb: 10, logKeep: 3, logWriter: false, health: [], maxMemoryMb: undefined, maxCpuPercent: undefined,
  cpuWindowS: 60, readyAfterS: 3, restartDependents: true, noRestartExitCodes: [78], survivesRestartOf: [],
  schedule: '0 * * * *', restartSchedule: undefined, successExitCodes: [], user: undefined, group: undefined,
};
const settings = { failedRetryS: 3600 };
const look = (alive: boolean, lateAfterMs = MIN): Observation => ({ kind: 'checked', processAlive: alive, runnerAlive: alive, lateAfterMs });
const kinds = (plan: Plan) => plan.effects.map((e) => (e.kind === 'ledger' ? `ledger:${e.entry.event}:${String(e.entry.details.action ?? '')}` : e.kind));
const armed = (def: ProcessDef = job, at = T0): ProcessRecord => decide(def, settings, emptyRecord(), { kind: 'arm-requested' }, at).record;
const withRun = (rec: ProcessRecord, startedAt: number): ProcessRecord => ({ ...rec, run: { id: '1.1', identity: { pid: 42, startTime: '1', bootId: 'b' }, startedAt } });

describe('a job (schedule)', () => {
  it('start arms it: scheduled, nothing spawned, its next time said', () => {
    const plan = decide(job, settings, emptyRecord(), { kind: 'arm-requested' }, T0 + 5 * MIN);
    expect(plan.next).toBe('scheduled');
    expect(kinds(plan)).toEqual(['ledger:schedule:armed']);
    expect(plan.record.reason).toBe('scheduled: next run at 2026-01-01T11:00:00.000Z');
    // Armed already: a second start changes nothing.
    expect(decide(job, settings, plan.record, { kind: 'arm-requested' }, T0 + 6 * MIN).record).toBe(plan.record);
  });

  it('nothing happens before its time; at its time it runs, with no runner arm (its exits come to decide())', () => {
    const rec = armed();
    expect(decide(job, settings, rec, look(false), T0 + 59 * MIN).effects).toEqual([]);
    const plan = decide(job, settings, rec, look(false), T0 + 60 * MIN + 400);
    expect(plan.next).toBe('running');
    // The new runner gets no arm: it restarts nothing alone, each exit is reported.
    expect(kinds(plan)).toEqual(['ledger:schedule:run', 'arm', 'spawn-runner']);
    expect(plan.effects[1]).toEqual({ kind: 'arm', arm: null });
    expect(plan.alerts).toEqual([]);
    expect(plan.record.schedule).toMatchObject({ lastDueAt: T0 + 60 * MIN, lastFiredAt: T0 + 60 * MIN + 400, handledUpTo: T0 + 60 * MIN });
    expect(armFor(job, plan.record)).toBeNull();
  });

  it('a run that exits 0 completes at any length; any other end is a failed run: one critical alert, no restart, next time named', () => {
    const running = withRun(decide(job, settings, armed(), look(false), T0 + 60 * MIN).record, T0 + 60 * MIN);
    const exit = (code: number | null, signal: string | null = null): Observation => ({
      kind: 'exited', restartedAt: null, exit: { runId: '1.1', startedAt: T0 + 60 * MIN, endedAt: T0 + 60 * MIN + 2000, code, signal },
    });
    const ok = decide(job, settings, running, exit(0), T0 + 61 * MIN);
    expect([ok.next, ok.alerts.length, ok.decision.action]).toEqual(['completed', 0, 'none']);
    for (const [code, signal] of [[1, null], [null, 'SIGKILL'], [127, null]] as const) {
      const bad = decide(job, settings, running, exit(code, signal), T0 + 61 * MIN);
      expect(bad.next).toBe('failed');
      expect(bad.decision).toEqual({ action: 'none' });
      expect(bad.alerts).toHaveLength(1);
      expect(bad.alerts[0]).toMatchObject({ kind: 'failed', severity: 'critical', evidence: { action: 'next-run', code, signal } });
      expect(bad.alerts[0]!.message).toMatch(/^scheduled run failed \((exited with code|killed by) .*\); not restarted: next run at 2026-01-01T12:00:00.000Z$/);
      // Not retried as a failed process is: the next look before its time does nothing.
      expect(decide(job, settings, bad.record, look(false), T0 + 119 * MIN).effects).toEqual([]);
      // Its next time runs it again.
      expect(decide(job, settings, bad.record, look(false), T0 + 120 * MIN).next).toBe('running');
    }
  });

  it('a time due while the previous run still runs is skipped and said (a warning), never a second run', () => {
    const running = withRun(decide(job, settings, armed(), look(false), T0 + 60 * MIN).record, T0 + 60 * MIN);
    const plan = decide(job, settings, running, look(true), T0 + 120 * MIN + 300);
    expect(plan.next).toBe('running');
    expect(kinds(plan)).toEqual(['ledger:schedule:skipped']);
    expect(plan.alerts).toMatchObject([{ kind: 'skipped', severity: 'warning' }]);
    expect(plan.alerts[0]!.message).toBe('its run due at 2026-01-01T12:00:00.000Z was skipped: the previous run (started 60 min ago, pid 42) is still running (runs never overlap)');
    expect(plan.record.schedule!.skipped).toBe(1);
    // Said once: the next look in the same hour finds nothing due.
    expect(decide(job, settings, plan.record, look(true), T0 + 121 * MIN).effects).toEqual([]);
  });

  it('times missed while nothing looked are reported in one alert (how many, since when), then it runs once', () => {
    const rec = armed();
    // The machine was off from 10:30 to 15:20: 11:00 to 15:00 were missed.
    const plan = decide(job, settings, rec, look(false), T0 + 5 * 60 * MIN + 20 * MIN);
    expect(plan.next).toBe('running');
    expect(plan.alerts).toHaveLength(1);
    expect(plan.alerts[0]).toMatchObject({ kind: 'missed', severity: 'warning', evidence: { missed: 5, since: '2026-01-01T11:00:00.000Z', action: 'catch-up' } });
    expect(plan.alerts[0]!.message).toMatch(/^missed 5 scheduled runs since 2026-01-01T11:00:00.000Z .*; running it once now$/);
    expect(kinds(plan)).toEqual(['ledger:schedule:run', 'arm', 'spawn-runner']);
    expect(plan.record.schedule).toMatchObject({ missed: 5, handledUpTo: T0 + 5 * 60 * MIN });
    // Said once: the run's end and the next looks do not say it again.
    const done = decide(job, settings, withRun(plan.record, T0 + 320 * MIN), { kind: 'exited', restartedAt: null, exit: { runId: '1.1', startedAt: T0 + 320 * MIN, endedAt: T0 + 321 * MIN, code: 0, signal: null } }, T0 + 321 * MIN);
    expect(decide(job, settings, done.record, look(false), T0 + 330 * MIN).alerts).toEqual([]);
  });

  it('a look within its lateness (healthcheck every 5 min) runs the time due without calling it missed', () => {
    const plan = decide(job, settings, armed(), look(false, 6 * MIN), T0 + 64 * MIN);
    expect([plan.next, plan.alerts.length]).toEqual(['running', 0]);
  });

  it('duration_min on a job: a run past it (not 1.5 x) raises the overrun alert', () => {
    const def = { ...job, durationMin: 10 };
    const running = withRun(decide(def, settings, armed(def), look(false), T0 + 60 * MIN).record, T0 + 60 * MIN);
    expect(decide(def, settings, running, look(true), T0 + 69 * MIN).alerts).toEqual([]);
    const over = decide(def, settings, running, look(true), T0 + 70 * MIN + 1000);
    expect(over.alerts).toMatchObject([{ kind: 'overrun', severity: 'warning' }]);
    expect(over.alerts[0]!.message).toMatch(/more than its duration_min \(10 min\); left running$/);
  });

  it('a stop disarms it: stopped, no time fires it, the last run kept', () => {
    const ran = decide(job, settings, armed(), look(false), T0 + 60 * MIN).record;
    const done = decide(job, settings, withRun(ran, T0 + 60 * MIN), { kind: 'exited', restartedAt: null, exit: { runId: '1.1', startedAt: T0 + 60 * MIN, endedAt: T0 + 61 * MIN, code: 0, signal: null } }, T0 + 61 * MIN).record;
    const stop = decide(job, settings, done, { kind: 'stop-requested' }, T0 + 62 * MIN);
    expect(stop.next).toBe('stopped');
    expect(stop.record.schedule).toMatchObject({ armed: false, lastFiredAt: T0 + 60 * MIN });
    expect(decide(job, settings, stop.record, look(false), T0 + 200 * MIN).effects).toEqual([]);
    // start --now (a start-requested) arms it again and runs it.
    const now = decide(job, settings, stop.record, { kind: 'start-requested', by: 'user' }, T0 + 201 * MIN);
    expect(now.next).toBe('running');
    expect(now.record.schedule).toMatchObject({ armed: true, armedAt: T0 + 201 * MIN, lastFiredAt: T0 + 60 * MIN });
  });
});

describe('restart_schedule', () => {
  const srv: ProcessDef = { ...job, name: 'srv', schedule: undefined, restartSchedule: '0 4 * * *' };
  const up = (): ProcessRecord => withRun(decide(srv, settings, emptyRecord(), { kind: 'start-requested', by: 'user' }, T0).record, T0);

  it('restarts a running process at its time through a background restart: not a crash, no alert, no budget', () => {
    const plan = decide(srv, settings, up(), look(true), T0 + 18 * 60 * MIN + 500); // 04:00:00.5 next day
    expect(kinds(plan)).toEqual(['ledger:schedule:restart', 'scheduled-restart']);
    expect(plan.alerts).toEqual([]);
    expect(plan.next).toBe('running');
    expect(plan.record.restarts).toBe(0);
    expect(plan.record.totalRestarts).toBe(0);
  });

  it('leaves a process that is not up as it is, and does not make up a restart missed while asleep', () => {
    const stopped = decide(srv, settings, up(), { kind: 'stop-requested' }, T0 + MIN).record;
    expect(decide(srv, settings, stopped, look(false), T0 + 18 * 60 * MIN).effects).toEqual([]); // disarmed
    const late = decide(srv, settings, up(), look(true), T0 + 18 * 60 * MIN + 10 * MIN);
    expect(kinds(late)).toEqual(['ledger:schedule:missed']);
    expect(late.alerts).toEqual([]);
  });
});
