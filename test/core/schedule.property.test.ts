// Properties over random schedules and random clock steps (fast-check):
//   - the next fire is strictly after `now`, matches the expression, and none is skipped before it;
//   - a job driven by random looks (decide() alone, as watch and healthcheck drive it) never has
//     two runs at once, and each due time is handled once: run, skipped or counted missed, never twice.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type PolicyDef } from '../../src/core/decide.js';
import { emptyRecord, type ProcessRecord } from '../../src/core/record.js';
import { firesBetween, nextFireAfter, parseSchedule, type Schedule } from '../../src/core/schedule.js';
import { isUp } from '../../src/core/states.js';

const savedTz = process.env.TZ;
beforeAll(() => { process.env.TZ = 'UTC'; });
afterAll(() => { process.env.TZ = savedTz; });

/** A random cron field over [min, max]: *, a value, a list, a range, a step. */
function field(min: number, max: number): fc.Arbitrary<string> {
  const v = fc.integer({ min, max });
  return fc.oneof(
    fc.constant('*'),
    v.map(String),
    fc.uniqueArray(v, { minLength: 2, maxLength: 4 }).map((xs) => xs.join(',')),
    fc.tuple(v, v).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 1, max: Math.max(1, max - min) }).map((s) => `*/${s}`),
    fc.tuple(v, v, fc.integer({ min: 1, max: 7 })).map(([a, b, s]) => `${Math.min(a, b)}-${Math.max(a, b)}/${s}`),
  );
}
const cronText = fc.tuple(fc.boolean(), field(0, 59), field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7))
  .map(([secs, s, mi, h, dom, mo, dow]) => (secs ? [s, mi, h, dom, mo, dow] : [mi, h, dom, mo, dow]).join(' '));
const intervalText = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 1, max: 59 }))
  .map(([h, m, s]) => `every ${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s}s`);
/** 2000-01-01 to 2040-01-01. */
const instant = fc.integer({ min: 946_684_800_000, max: 2_208_988_800_000 });

function matches(s: Extract<Schedule, { kind: 'cron' }>, t: number): boolean {
  const d = new Date(t);
  if (d.getUTCMilliseconds() !== 0 || !s.seconds.includes(d.getUTCSeconds()) || !s.minutes.includes(d.getUTCMinutes()) || !s.hours.includes(d.getUTCHours())) return false;
  if (!s.months.includes(d.getUTCMonth() + 1)) return false;
  const domOk = s.doms.includes(d.getUTCDate());
  const dowOk = s.dows.includes(d.getUTCDay());
  return s.domStar || s.dowStar ? domOk && dowOk : domOk || dowOk;
}

describe('next fire (UTC)', () => {
  it('is strictly after now, matches the expression, and is the first that does (cron)', () => {
    fc.assert(fc.property(cronText, instant, (text, now) => {
      const p = parseSchedule(text);
      if (!p.ok) return p.message.startsWith('never fires'); // the only refusal a well-formed random schedule can get
      const s = p.schedule as Extract<Schedule, { kind: 'cron' }>;
      const next = nextFireAfter(s, now, 0);
      expect(next).not.toBeNull();
      expect(next!).toBeGreaterThan(now);
      expect(matches(s, next!)).toBe(true);
      // None in between: walk whole seconds (bounded: up to 2 days ahead).
      const limit = Math.min(next!, now + 2 * 86_400_000);
      const step = s.hasSeconds ? 1000 : 60_000;
      for (let t = Math.floor(now / step) * step + step; t < limit; t += step) {
        if (t > now && matches(s, t)) return false;
      }
      return true;
    }), { numRuns: 300 });
  });

  it('is strictly after now and on the grid armedAt + k x interval (intervals)', () => {
    fc.assert(fc.property(intervalText, instant, fc.integer({ min: -86_400_000, max: 86_400_000 * 30 }), (text, anchor, offset) => {
      const p = parseSchedule(text);
      expect(p.ok).toBe(true);
      const s = (p as { schedule: Extract<Schedule, { kind: 'interval' }> }).schedule;
      const now = anchor + offset;
      const next = nextFireAfter(s, now, anchor)!;
      expect(next).toBeGreaterThan(now);
      expect((next - anchor) % s.everyMs).toBe(0);
      expect(next - anchor).toBeGreaterThan(0);
      expect(next - now).toBeLessThanOrEqual(s.everyMs + Math.max(0, anchor - now));
    }), { numRuns: 300 });
  });
});

describe('next fire across DST changes (America/New_York)', () => {
  // Instants within hours of the 2026 changes (02:00 EST -> 03:00 EDT at 07:00Z; 02:00 EDT -> 01:00
  // EST at 06:00Z), or within days; schedules with restricted hours often in 1-3.
  const H = 3_600_000;
  const near = fc.oneof(
    fc.integer({ min: Date.UTC(2026, 2, 8, 7) - 4 * H, max: Date.UTC(2026, 2, 8, 7) + 2 * H }),
    fc.integer({ min: Date.UTC(2026, 10, 1, 6) - 3 * H, max: Date.UTC(2026, 10, 1, 6) + 2 * H }),
    fc.integer({ min: Date.UTC(2026, 2, 6), max: Date.UTC(2026, 2, 10) }),
    fc.integer({ min: Date.UTC(2026, 9, 30), max: Date.UTC(2026, 10, 3) }),
  );
  const text = fc.tuple(field(0, 59), fc.oneof(field(0, 23), field(1, 3)), fc.constantFrom('*', '8', '1,8', '*/2'))
    .map(([mi, h, dom]) => `${mi} ${h} ${dom} * *`);
  const wall = (t: number) => { const d = new Date(t); return [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()].join(','); };

  it('is after now, on a matching wall time or (fixed times) at the jump, and skips only a repeated wall time', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      fc.assert(fc.property(text, near, (t, now) => {
        const p = parseSchedule(t);
        if (!p.ok) return true;
        const s = p.schedule as Extract<Schedule, { kind: 'cron' }>;
        const local = (x: number) => { const d = new Date(x); return { ...d, ok: s.minutes.includes(d.getMinutes()) && s.hours.includes(d.getHours()) && s.months.includes(d.getMonth() + 1) && (s.domStar || s.dowStar ? s.doms.includes(d.getDate()) && s.dows.includes(d.getDay()) : s.doms.includes(d.getDate()) || s.dows.includes(d.getDay())) }; };
        const next = nextFireAfter(s, now, 0)!;
        expect(next).toBeGreaterThan(now);
        const jump = new Date(next - 60_000).getTimezoneOffset() !== new Date(next).getTimezoneOffset();
        expect(local(next).ok || (!s.wild && jump)).toBe(true);
        // A fixed schedule naming a time in the skipped hour (02:xx on Sunday 8 March) runs at the jump.
        const jumpAt = Date.UTC(2026, 2, 8, 7);
        const inGap = s.hours.includes(2) && s.months.includes(3) && (s.domStar || s.dowStar ? s.doms.includes(8) && s.dows.includes(0) : s.doms.includes(8) || s.dows.includes(0));
        if (!s.wild && inGap && now < jumpAt) expect(next).toBeLessThanOrEqual(jumpAt);
        // Every matching minute before it is the second occurrence of a wall time (the repeated hour) of a fixed schedule.
        for (let m = Math.floor(now / 60_000) * 60_000 + 60_000; m < Math.min(next, now + 3 * 86_400_000); m += 60_000) {
          if (m <= now || !local(m).ok) continue;
          expect(!s.wild && wall(m - 3_600_000) === wall(m)).toBe(true);
        }
        return true;
      }), { numRuns: 1000 });
    } finally {
      process.env.TZ = saved;
    }
  });
});

describe('a job under random looks (decide() as watch and healthcheck call it)', () => {
  const def: PolicyDef = {
    name: 'job', command: 'x', noRestartExitCodes: [78], durationMin: 0, autoRestart: true, maxRestarts: 5, restartCooldownS: 30,
    minUptimeS: 60, backoff: 'fixed', health: [], maxMemoryMb: undefined, maxCpuPercent: undefined, cpuWindowS: 60, restartDependents: false,
    killTimeoutS: 10, schedule: 'every 10s', restartSchedule: undefined, successExitCodes: [],
  };
  // A run lasts `runMs`; the clock moves by random steps, now and then by a long gap (the machine off).
  const scenario = fc.record({
    schedule: fc.constantFrom('every 10s', 'every 1m', '*/15 * * * * *', '0 * * * * *', '*/2 * * * *'),
    runMs: fc.integer({ min: 100, max: 150_000 }),
    // How late a due time may be found before it counts as missed (watch: 60 s; healthcheck: its interval + 1 min).
    late: fc.integer({ min: 500, max: 360_000 }),
    steps: fc.array(fc.oneof(fc.integer({ min: 100, max: 3000 }), fc.integer({ min: 3000, max: 90_000 }), fc.integer({ min: 600_000, max: 7_200_000 })), { minLength: 5, maxLength: 60 }),
  });

  it('never runs twice at once, and handles each due time exactly once', () => {
    let sawCatchUp = 0;
    let sawSkip = 0;
    fc.assert(fc.property(scenario, ({ schedule, runMs, steps, late }) => {
      const d = { ...def, schedule };
      const s = (parseSchedule(schedule) as { schedule: Schedule }).schedule;
      const t0 = Date.UTC(2026, 0, 1, 0, 0, 0, 0);
      let now = t0;
      let rec: ProcessRecord = decide(d, { failedRetryS: 3600 }, emptyRecord(), { kind: 'arm-requested' }, now).record;
      let runEndsAt: number | null = null;
      let runs = 0;
      let catchUps = 0;
      let coalesced = 0;
      let skipped = 0;
      let missed = 0;
      let missedAlertSum = 0;
      let missedLooks = 0;
      let runSeq = 0;
      for (const step of steps) {
        now += step;
        // The run ended meanwhile: its exit is reported (exit 0).
        if (runEndsAt !== null && now >= runEndsAt && rec.run) {
          const exit = { runId: rec.run.id, startedAt: rec.run.startedAt, endedAt: runEndsAt, code: 0, signal: null };
          rec = decide(d, { failedRetryS: 3600 }, rec, { kind: 'exited', exit, restartedAt: null }, now).record;
          expect(rec.status).toBe('completed');
          runEndsAt = null;
        }
        const alive = runEndsAt !== null;
        const plan = decide(d, { failedRetryS: 3600 }, rec, { kind: 'checked', processAlive: alive, runnerAlive: alive, lateAfterMs: late }, now);
        const missedAlerts = plan.alerts.filter((a) => a.kind === 'missed');
        expect(missedAlerts.length).toBeLessThanOrEqual(1); // one alert per look, however many were missed
        missedAlertSum += missedAlerts.reduce((n, a) => n + (a.evidence.missed ?? 0), 0);
        for (const e of plan.effects) {
          if (e.kind !== 'ledger' || e.entry.event !== 'schedule') continue;
          const det = e.entry.details as { action: string; count?: number; missed?: number; coalesced?: number; catch_up?: boolean };
          if (det.action === 'run') {
            runs++;
            missed += det.missed ?? 0;
            coalesced += det.coalesced ?? 0;
            if (det.catch_up) catchUps++;
            if (det.missed) missedLooks++;
          }
          if (det.action === 'skipped') skipped += det.count ?? 0;
        }
        if (plan.effects.some((e) => e.kind === 'spawn-runner')) {
          // Never two at once: a spawn only when nothing of the job is alive.
          expect(alive).toBe(false);
          runSeq++;
          rec = { ...plan.record, run: { id: `1.${runSeq}`, startedAt: now, identity: { pid: 1000 + runSeq, startTime: '1', bootId: 'b' } } };
          runEndsAt = now + runMs;
        } else {
          rec = plan.record;
        }
        expect(isUp(rec.status)).toBe(runEndsAt !== null);
      }
      // Every due time up to the last look was handled once: run on time, coalesced into one, skipped, or missed.
      const due = firesBetween(s, t0, rec.schedule!.handledUpTo, t0, 1_000_000).count;
      expect(due).toBe(runs - catchUps + coalesced + skipped + missed);
      // Each missed time is reported once, in the one alert of the look that found it.
      expect(missedAlertSum).toBe(missed);
      expect(rec.schedule!.missed).toBe(missed);
      expect(rec.schedule!.skipped).toBe(skipped);
      expect(missedLooks).toBeGreaterThanOrEqual(catchUps);
      sawCatchUp += catchUps;
      sawSkip += skipped;
      return true;
    }), { numRuns: 300 });
    // The scenarios reach the cases the invariants are about.
    expect(sawCatchUp).toBeGreaterThan(0);
    expect(sawSkip).toBeGreaterThan(0);
  });
});

