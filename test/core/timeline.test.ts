// The uptime timeline (core/timeline.ts): what each moment of a window was, from a process's runs
// (runs.log, ms) and its ledger events (ISO). Fixed clocks; each case is a history pguard writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeSegments, describeUptime, type Segment, type TimelineEvent, type TimelineRun } from '../../src/core/timeline.js';

const T = 1_800_000_000_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ev = (at: number, event: string, details: Record<string, unknown> = {}): TimelineEvent => ({ at: iso(at), event, details });
/** An exit event as core/events.ts writes it: recorded `late` ms after the exit itself. */
const exit = (run: string, endedAt: number, outcome: string, late = 300): TimelineEvent =>
  ev(endedAt + late, 'exit', { run, ended_at: iso(endedAt), code: 1, signal: null, ran_s: 1, outcome });
const run = (id: string, startedAt: number, endedAt: number | null = null): TimelineRun => ({ id, startedAt, endedAt });
/** Segments as [from - T, to - T, state, run or failure] for reading. */
const short = (segs: Segment[]) => segs.map((s) => [s.from - T, s.to - T, s.state, ...(s.run ? [s.run] : s.failure ? [`failure ${s.failure}`] : [])]);

describe('describeSegments', () => {
  it('a crash restarted by the runner within its 10 ms clock: running, a zero-length down for the failure, running again', () => {
    const segs = describeSegments({
      runs: [run('1.1', T, T + 5_000), run('1.2', T + 5_000)],
      events: [ev(T - 10, 'start'), exit('1.1', T + 5_000, 'running'), ev(T + 5_300, 'restart', { at: iso(T + 5_000) })],
      from: T - 1_000, to: T + 10_000,
    });
    expect(short(segs)).toEqual([
      [-1_000, 0, 'none'], [0, 5_000, 'running', '1.1'], [5_000, 5_000, 'down', 'failure 1.1'], [5_000, 10_000, 'running', '1.2'],
    ]);
  });

  it('a crash restarted 10 ms later: down for those 10 ms', () => {
    const segs = describeSegments({
      runs: [run('1.1', T, T + 5_000), run('1.2', T + 5_010)],
      events: [exit('1.1', T + 5_000, 'running')],
      from: T, to: T + 6_000,
    });
    expect(short(segs)).toEqual([[0, 5_000, 'running', '1.1'], [5_000, 5_010, 'down', 'failure 1.1'], [5_010, 6_000, 'running', '1.2']]);
  });

  it('a restart after the cooldown: down for the whole cooldown', () => {
    const segs = describeSegments({
      runs: [run('1.1', T, T + 2_000), run('1.2', T + 32_000, T + 40_000)],
      events: [exit('1.1', T + 2_000, 'crashed'), ev(T + 2_300, 'restart', { at: iso(T + 32_000) }), exit('1.2', T + 40_000, 'crashed')],
      from: T, to: T + 50_000,
    });
    expect(short(segs)).toEqual([[0, 2_000, 'running', '1.1'], [2_000, 32_000, 'down', 'failure 1.1'], [32_000, 40_000, 'running', '1.2'], [40_000, 50_000, 'down', 'failure 1.2']]);
  });

  it('gave up, then started by hand: failed from the death until the new run', () => {
    const segs = describeSegments({
      runs: [run('1.1', T, T + 100), run('1.2', T + 100, T + 200), run('2.1', T + 60_030)],
      events: [
        exit('1.1', T + 100, 'running'), ev(T + 400, 'restart'), exit('1.2', T + 200, 'failed'), ev(T + 500, 'give-up'),
        ev(T + 60_000, 'start', { reason: 'started by user' }),
      ],
      from: T, to: T + 70_000,
    });
    expect(short(segs)).toEqual([
      [0, 100, 'running', '1.1'], [100, 100, 'down', 'failure 1.1'], [100, 200, 'running', '1.2'], [200, 60_030, 'failed', 'failure 1.2'], [60_030, 70_000, 'running', '2.1'],
    ]);
  });

  it('stopped by the user, then started: stopped from the run\'s end (runs.log) until the next run', () => {
    const segs = describeSegments({
      // The runner leaves quietly on a stop (no exit event); the stop is recorded just after.
      runs: [run('1.1', T, T + 5_000), run('2.1', T + 10_010)],
      events: [ev(T + 5_020, 'stop', { signal: 'SIGTERM', sigkill: false }), ev(T + 10_000, 'start')],
      from: T, to: T + 20_000,
    });
    expect(short(segs)).toEqual([[0, 5_000, 'running', '1.1'], [5_000, 10_010, 'stopped'], [10_010, 20_000, 'running', '2.1']]);
  });

  it('a stop recorded a few ms before runs.log\'s end (two clocks) is still the run\'s end', () => {
    const segs = describeSegments({ runs: [run('1.1', T, T + 5_000)], events: [ev(T + 4_997, 'stop')], from: T, to: T + 6_000 });
    expect(short(segs)).toEqual([[0, 5_000, 'running', '1.1'], [5_000, 6_000, 'stopped']]);
  });

  it('a crashed process stopped during its cooldown: down, then stopped', () => {
    const segs = describeSegments({
      runs: [run('1.1', T, T + 1_000)],
      events: [exit('1.1', T + 1_000, 'crashed'), ev(T + 3_000, 'stop', { signal: 'SIGTERM' })],
      from: T, to: T + 5_000,
    });
    expect(short(segs)).toEqual([[0, 1_000, 'running', '1.1'], [1_000, 3_000, 'down', 'failure 1.1'], [3_000, 5_000, 'stopped']]);
  });

  it('waiting: held for a dependency after a death, and after pguard\'s stop for one (held_for)', () => {
    const segs = describeSegments({
      runs: [run('1.1', T, T + 1_000), run('2.1', T + 9_000, T + 12_000), run('3.1', T + 20_000)],
      events: [
        exit('1.1', T + 1_000, 'waiting'), ev(T + 8_990, 'start', { reason: 'db is ready' }),
        ev(T + 12_010, 'stop', { signal: 'SIGTERM', held_for: ['db'] }), ev(T + 19_990, 'start'),
      ],
      from: T, to: T + 25_000,
    });
    expect(short(segs)).toEqual([
      [0, 1_000, 'running', '1.1'], [1_000, 9_000, 'waiting'], [9_000, 12_000, 'running', '2.1'], [12_000, 20_000, 'waiting'], [20_000, 25_000, 'running', '3.1'],
    ]);
  });

  it('a window that starts mid-run: running from the window\'s start; what came before is cut off', () => {
    const segs = describeSegments({
      runs: [run('1.1', T - 7_200_000, T - 3_000_000), run('1.2', T - 2_999_000)],
      events: [exit('1.1', T - 3_000_000, 'crashed')],
      from: T - 3_600_000, to: T,
    });
    expect(short(segs)).toEqual([[-3_600_000, -3_000_000, 'running', '1.1'], [-3_000_000, -2_999_000, 'down', 'failure 1.1'], [-2_999_000, 0, 'running', '1.2']]);
  });

  it('a window that starts during a cooldown or after a give-up knows the state it starts in (from the events before it)', () => {
    const runs = [run('1.1', T - 10_000, T - 9_000)];
    expect(short(describeSegments({ runs, events: [exit('1.1', T - 9_000, 'crashed')], from: T, to: T + 1_000 }))).toEqual([[0, 1_000, 'down', 'failure 1.1']]);
    expect(short(describeSegments({ runs, events: [exit('1.1', T - 9_000, 'failed'), ev(T - 8_700, 'give-up')], from: T, to: T + 1_000 }))).toEqual([[0, 1_000, 'failed', 'failure 1.1']]);
    expect(short(describeSegments({ runs: [], events: [], from: T, to: T + 1_000 }))).toEqual([[0, 1_000, 'none']]);
  });

  it('now inside a running segment: the last segment is that run, up to now', () => {
    const segs = describeSegments({ runs: [run('1.1', T + 100)], events: [ev(T + 90, 'start')], from: T, to: T + 60_000 });
    expect(short(segs)).toEqual([[0, 100, 'none'], [100, 60_000, 'running', '1.1']]);
  });

  it('merges neighbours that say the same: a second stop, a job armed again after it completed', () => {
    const stops = describeSegments({
      runs: [run('1.1', T, T + 1_000)],
      events: [ev(T + 1_010, 'stop'), ev(T + 2_000, 'stop'), ev(T + 3_000, 'register')],
      from: T, to: T + 5_000,
    });
    expect(short(stops)).toEqual([[0, 1_000, 'running', '1.1'], [1_000, 5_000, 'stopped']]);
    const job = describeSegments({
      runs: [run('1.1', T + 1_000, T + 2_000), run('2.1', T + 10_000, T + 11_000)],
      events: [
        ev(T, 'schedule', { action: 'armed' }), ev(T + 990, 'schedule', { action: 'run' }), ev(T + 995, 'start'), exit('1.1', T + 2_000, 'completed'),
        ev(T + 9_990, 'schedule', { action: 'run' }), exit('2.1', T + 11_000, 'completed'), ev(T + 12_000, 'schedule', { action: 'armed' }),
      ],
      from: T - 1_000, to: T + 20_000,
    });
    expect(short(job)).toEqual([
      [-1_000, 0, 'none'], [0, 1_000, 'completed'], [1_000, 2_000, 'running', '1.1'], [2_000, 10_000, 'completed'], [10_000, 11_000, 'running', '2.1'], [11_000, 20_000, 'completed'],
    ]);
  });

  it('a run that vanished with its runner ends at the exit the look inferred; one not reported yet is down, of no failure yet', () => {
    const vanished = describeSegments({
      runs: [run('1.1', T)],
      events: [ev(T + 5_000, 'exit', { run: '1.1', ended_at: iso(T + 5_000), code: null, signal: null, vanished: true, outcome: 'crashed' })],
      from: T, to: T + 6_000,
    });
    expect(short(vanished)).toEqual([[0, 5_000, 'running', '1.1'], [5_000, 6_000, 'down', 'failure 1.1']]);
    const pending = describeSegments({ runs: [run('1.1', T, T + 5_000)], events: [], from: T, to: T + 6_000 });
    expect(short(pending)).toEqual([[0, 5_000, 'running', '1.1'], [5_000, 6_000, 'down']]);
  });

  it('an exit of a run runs.log no longer holds still says what followed; a deregister ends what is known', () => {
    const segs = describeSegments({
      runs: [],
      events: [exit('0.9', T + 1_000, 'failed'), ev(T + 5_000, 'deregister', { was_running: false })],
      from: T, to: T + 6_000,
    });
    expect(short(segs)).toEqual([[0, 1_000, 'none'], [1_000, 5_000, 'failed', 'failure 0.9'], [5_000, 6_000, 'none']]);
  });

  it('a process deregistered and registered again: its new run 1.1 is not ended by the exit of the earlier registration\'s 1.1', () => {
    const segs = describeSegments({
      // runs.log is the new registration's alone (deregister removed the old one).
      runs: [run('1.1', T + 10_000)],
      events: [
        ev(T - 5, 'start'), exit('1.1', T + 1_000, 'crashed'), ev(T + 2_000, 'stop'), ev(T + 3_000, 'deregister'),
        ev(T + 4_000, 'register'), ev(T + 9_990, 'start'),
      ],
      from: T, to: T + 20_000,
    });
    expect(short(segs)).toEqual([[0, 1_000, 'none'], [1_000, 2_000, 'down', 'failure 1.1'], [2_000, 3_000, 'stopped'], [3_000, 10_000, 'none'], [10_000, 20_000, 'running', '1.1']]);
  });

  it('a completed run is followed by completed until its next start', () => {
    const segs = describeSegments({ runs: [run('1.1', T, T + 3_000)], events: [exit('1.1', T + 3_000, 'completed')], from: T, to: T + 4_000 });
    expect(short(segs)).toEqual([[0, 3_000, 'running', '1.1'], [3_000, 4_000, 'completed']]);
  });

  it('an empty window has no segments', () => {
    expect(describeSegments({ runs: [run('1.1', T)], events: [], from: T, to: T })).toEqual([]);
  });
});

describe('describeUptime', () => {
  const seg = (from: number, to: number, state: Segment['state']): Segment => ({ from: T + from, to: T + to, state });
  it('counts from the first run (time before it is not downtime) and leaves out the time after a run completed', () => {
    expect(describeUptime([seg(0, 1_000, 'none'), seg(1_000, 4_000, 'running'), seg(4_000, 5_000, 'down')])).toBe(75);
    expect(describeUptime([seg(0, 1_000, 'running'), seg(1_000, 9_000, 'completed'), seg(9_000, 10_000, 'stopped')])).toBe(50);
    expect(describeUptime([seg(0, 1_000, 'failed'), seg(1_000, 2_000, 'running'), seg(2_000, 2_000, 'down'), seg(2_000, 3_000, 'running')])).toBe(100);
  });
  it('is null without a run in the window', () => {
    expect(describeUptime([seg(0, 1_000, 'down')])).toBeNull();
    expect(describeUptime([])).toBeNull();
  });
});

// Random histories, as the runner and pguard write them: runs with their ends in runs.log (or
// only in the exit event, or none yet), exit events with each outcome, stops, give-ups, starts,
// over random clock steps, and a random window over them.
type Step = 'crash-now' | 'crash-cooldown' | 'give-up' | 'complete' | 'user-stop' | 'vanish' | 'start' | 'stop-idle';
const history = fc.record({
  steps: fc.array(fc.tuple(fc.constantFrom<Step>('crash-now', 'crash-cooldown', 'give-up', 'complete', 'user-stop', 'vanish', 'start', 'stop-idle'), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 20 })), { maxLength: 40 }),
  window: fc.tuple(fc.integer({ min: -50_000, max: 2_000_000 }), fc.integer({ min: 1, max: 2_000_000 })),
});

function simulate(steps: [Step, number, number][]): { runs: TimelineRun[]; events: TimelineEvent[]; ends: Map<string, number | null> } {
  let t = T;
  let epoch = 1;
  let seq = 0;
  let alive: string | null = null;
  const runs: TimelineRun[] = [];
  const events: TimelineEvent[] = [];
  /** Each run's true end (null: alive at the end). */
  const ends = new Map<string, number | null>();
  const begin = (at: number, nextEpoch: boolean) => {
    if (nextEpoch) { epoch++; seq = 0; }
    const id = `${epoch}.${++seq}`;
    runs.push({ id, startedAt: at, endedAt: null });
    ends.set(id, null);
    alive = id;
  };
  const end = (at: number, inRunsLog: boolean) => {
    const r = runs.at(-1)!;
    if (inRunsLog) runs[runs.length - 1] = { ...r, endedAt: at };
    ends.set(r.id, at);
    alive = null;
    return r.id;
  };
  for (const [step, dt, small] of steps) {
    t += dt;
    if (alive === null) {
      if (step === 'stop-idle') events.push(ev(t, 'stop', {}));
      else {
        events.push(ev(t, 'start'));
        t += small; // the runner's fork
        begin(t, true);
      }
      continue;
    }
    switch (step) {
      case 'crash-now': {
        const id = end(t, true);
        begin(t + small % 11, false); // within the runner's clock step, or a few ms later
        events.push(exit(id, t, 'running', 200 + small), ev(t + 200 + small, 'restart'));
        t += small % 11;
        break;
      }
      case 'crash-cooldown': case 'give-up': case 'complete': {
        const id = end(t, true);
        events.push(exit(id, t, step === 'crash-cooldown' ? 'crashed' : step === 'give-up' ? 'failed' : 'completed', small));
        if (step === 'give-up') events.push(ev(t + small, 'give-up'));
        t += small;
        break;
      }
      case 'user-stop': {
        end(t, true);
        // Recorded after the stop finished: a few ms either side of the runner's exit time (two clocks).
        events.push(ev(t + small - 5, 'stop', { signal: 'SIGTERM' }));
        t += small;
        break;
      }
      case 'vanish': {
        const id = end(t, false);
        events.push(ev(t + small, 'exit', { run: id, ended_at: iso(t), vanished: true, outcome: 'crashed' }));
        t += small;
        break;
      }
      default:
        break; // start or stop-idle while it runs: nothing happens
    }
  }
  return { runs, events, ends };
}

describe('describeSegments over random histories (fast-check)', () => {
  it('covers exactly [from, to] with ordered, contiguous, non-overlapping segments whose running time is the runs\' time in the window', () => {
    fc.assert(fc.property(history, ({ steps, window: [offset, length] }) => {
      const { runs, events, ends } = simulate(steps);
      const from = T + offset;
      const to = from + length;
      const segs = describeSegments({ runs, events, from, to });
      expect(segs[0]!.from).toBe(from);
      expect(segs.at(-1)!.to).toBe(to);
      for (const [i, s] of segs.entries()) {
        expect(s.to).toBeGreaterThanOrEqual(s.from);
        if (i > 0) expect(s.from).toBe(segs[i - 1]!.to);
        // Merged: no two neighbours say the same.
        if (i > 0) expect([s.state, s.run, s.failure]).not.toEqual([segs[i - 1]!.state, segs[i - 1]!.run, segs[i - 1]!.failure]);
        // Only a failure's down may be zero-length.
        if (s.to === s.from) expect(s.state === 'down' && s.failure !== undefined).toBe(true);
        expect(s.state === 'running').toBe(s.run !== undefined);
      }
      const running = segs.filter((s) => s.state === 'running').reduce((sum, s) => sum + (s.to - s.from), 0);
      const expected = runs.reduce((sum, r) => sum + Math.max(0, Math.min(ends.get(r.id) ?? Infinity, to) - Math.max(r.startedAt, from)), 0);
      expect(running).toBe(expected);
      // Each running segment is its run's interval, clipped to the window.
      for (const s of segs.filter((x) => x.state === 'running')) {
        const r = runs.find((x) => x.id === s.run)!;
        expect(s.from).toBe(Math.max(r.startedAt, from));
        expect(s.to).toBe(Math.min(ends.get(r.id) ?? Infinity, to));
      }
      const up = describeUptime(segs);
      if (up !== null) {
        expect(up).toBeGreaterThanOrEqual(0);
        expect(up).toBeLessThanOrEqual(100);
      }
    }), { numRuns: 500 });
  });
});
