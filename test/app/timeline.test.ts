// describeTimeline and describeHistory over one state directory and one clock: the timeline's
// failures and uptime % are history's over the same window (one computation), the ledger read once.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeContext } from '../helpers/fake-context.js';
import { describeHistory } from '../../src/app/history.js';
import { describeTimeline } from '../../src/app/timeline.js';

const T = 1_800_000_000_000;
const iso = (ms: number) => new Date(ms).toISOString();


/** Ledger lines as pguard writes them (the chain's fields are not read by history). */
function writeLedger(ctx: Context, events: { at: number; event: string; process: string; details: Record<string, unknown> }[]): void {
  writeFileSync(join(ctx.store.dir, 'ledger.jsonl'), events.map((e, i) => `${JSON.stringify({ seq: i + 1, at: iso(e.at), event: e.event, process: e.process, details: e.details, prev: '0', hash: '0' })}\n`).join(''));
}

describe('describeTimeline', () => {
  it('gives history\'s failures and uptime % over the same window, and its segments', () => {
    const now = T + 60_000;
    const ctx = fakeContext({ api: { command: 'x', restart_cooldown: 0 }, idle: { command: 'y' } }, now);
    appendFileSync(join(ctx.store.ensureProc('api'), 'runs.log'), `start 1.1 101 100 b ${T}\nexit 1.1 137 ${T + 10_000} 1100\nstart 1.2 102 1101 b ${T + 10_010}\n`);
    writeLedger(ctx, [
      { at: T - 5, event: 'start', process: 'api', details: { reason: 'started by user', epoch: 1 } },
      { at: T + 10_300, event: 'exit', process: 'api', details: { run: '1.1', ended_at: iso(T + 10_000), code: null, signal: 'SIGKILL', ran_s: 10, outcome: 'running' } },
      { at: T + 10_300, event: 'restart', process: 'api', details: { reason: 'killed by SIGKILL; restarted at once', at: iso(T + 10_000), restarts: 1 } },
    ]);
    const timeline = describeTimeline(ctx, { windowMs: 3_600_000 });
    const history = describeHistory(ctx, { sinceMs: 3_600_000 });
    expect(timeline).toMatchObject({ from: iso(now - 3_600_000), to: iso(now), window: '1h' });
    const api = timeline.processes[0]!;
    expect(api.segments).toEqual([
      { from: iso(now - 3_600_000), to: iso(T), state: 'none' },
      { from: iso(T), to: iso(T + 10_000), state: 'running', run: '1.1' },
      { from: iso(T + 10_000), to: iso(T + 10_010), state: 'down', failure: '1.1' },
      { from: iso(T + 10_010), to: iso(now), state: 'running', run: '1.2' },
    ]);
    expect(api.failures).toEqual(history.failures.map(({ process: _p, ...f }) => f));
    expect(api.failures[0]).toMatchObject({ run: '1.1', cause: 'killed by SIGKILL', action: 'restarted', recovery_ms: 10, detection_ms: 0 });
    const summary = history.summary.find((s) => s.process === 'api')!;
    expect(api).toMatchObject({ median_recovery_ms: summary.median_recovery_ms, worst_recovery_ms: summary.worst_recovery_ms, uptime_percent: summary.uptime_percent });
    expect(api.uptime_percent).toBe(100); // 59 990 ms of 60 000, to one decimal
    expect(timeline.processes[1]).toEqual({ name: 'idle', segments: [{ from: iso(now - 3_600_000), to: iso(now), state: 'none' }], failures: [], median_recovery_ms: null, worst_recovery_ms: null, uptime_percent: null });
  });

  it('ends a run that vanished with its runner (no exit line) at the exit the look inferred: history\'s uptime stays within 100% (vanished-run regression)', () => {
    const now = T + 60_000;
    const ctx = fakeContext({ api: { command: 'x' } }, now);
    // Runner 1 died with its run (no exit line); a healthcheck at T + 20 s inferred the exit and started runner 2.
    appendFileSync(join(ctx.store.ensureProc('api'), 'runs.log'), `start 1.1 101 100 b ${T}\nstart 2.1 102 2100 b ${T + 20_100}\n`);
    writeLedger(ctx, [
      { at: T - 5, event: 'start', process: 'api', details: {} },
      { at: T + 20_000, event: 'exit', process: 'api', details: { run: '1.1', ended_at: iso(T + 20_000), code: null, signal: null, vanished: true, outcome: 'crashed' } },
      { at: T + 20_000, event: 'restart', process: 'api', details: { reason: 'vanished', restarts: 1 } },
      { at: T + 20_050, event: 'start', process: 'api', details: { epoch: 2 } },
    ]);
    const history = describeHistory(ctx, {});
    // 20 s + 39.9 s up of 60 s, not the 1.1 run counted until now on top of 2.1's (166.7%).
    expect(history.summary[0]!.uptime_percent).toBe(99.8);
    expect(describeTimeline(ctx, { windowMs: 3_600_000 }).processes[0]!.uptime_percent).toBe(99.8);
  });
});
