// Regression: out-of-order exit reports bought extra restarts. A fast restart's background report
// (run 1) lost the process lock to the next exit's report (run 2); run 2 was decided on a budget
// that did not count run 1's restart yet, and the arm it wrote allowed one restart too many.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeContext } from '../helpers/fake-context.js';
import { reportExit } from '../../src/app/report.js';
import { emptyRecord } from '../../src/core/record.js';



describe('reportExit', () => {
  it('handles exit reports that arrive out of order as if in order (out-of-order-reports regression)', async () => {
    const T = 1_800_000_000_000;
    const ctx = fakeContext({ bot: { command: 'x', max_restarts: 2, restart_cooldown: 0 } }, T + 100);
    const procDir = ctx.store.ensureProc('bot');
    ctx.store.writeRecord('bot', { ...emptyRecord(), status: 'running', epoch: 1 });
    const runs = join(procDir, 'runs.log');
    appendFileSync(runs, `start 1.1 101 1 b ${T}\nexit 1.1 1 ${T + 10}\nstart 1.2 102 2 b ${T + 12}\nexit 1.2 1 ${T + 20}\n`);
    // The report of run 1.2 (slow path) wins the lock before the background report of run 1.1.
    const second = await reportExit(ctx, 'bot', '1.2', null);
    expect(second.instruction).toBe(`restart-at ${T + 100}`);
    expect(ctx.store.readRecord('bot')).toMatchObject({ restarts: 2, totalRestarts: 2, lastExit: { runId: '1.2' } });
    // The arm now allows no unstable restart: the budget (2) is spent.
    expect(readFileSync(join(procDir, 'arm'), 'utf8').trim().split(' ')[2]).toBe('0');
    const first = await reportExit(ctx, 'bot', '1.1', T + 11);
    expect(first).toEqual({ instruction: 'done', alerts: [], restarted: false });
    expect(ctx.store.readRecord('bot')).toMatchObject({ restarts: 2, totalRestarts: 2 });
  });

  it('handles the exit of an adopted run (an older epoch\'s, reported by the new runner) exactly once (issue 20, defect 7)', async () => {
    const T = 1_800_000_000_000;
    const ctx = fakeContext({ bot: { command: 'x', max_restarts: 5, restart_cooldown: 0 } }, T + 100);
    const procDir = ctx.store.ensureProc('bot');
    const run = { id: '1.1', identity: { pid: 101, startTime: '1', bootId: 'b' }, startedAt: T - 5_000 };
    // Runner 2 adopted run 1.1, saw it end (no status: '-'), and restarted it at once as run 2.1.
    ctx.store.writeRecord('bot', { ...emptyRecord(), status: 'running', epoch: 2, run });
    const runs = join(procDir, 'runs.log');
    appendFileSync(runs, `start 1.1 101 1 b ${T - 5_000}\nexit 1.1 - ${T + 10} -\nstart 2.1 102 2 b ${T + 12}\n`);
    const first = await reportExit(ctx, 'bot', '1.1', T + 10);
    expect(first.restarted).toBe(true);
    expect(ctx.store.readRecord('bot')).toMatchObject({
      status: 'running', restarts: 1, totalRestarts: 1, lastExit: { runId: '1.1', code: null, signal: null, vanished: true, adopted: true },
    });
    // Again (a retried report): nothing more.
    expect(await reportExit(ctx, 'bot', '1.1', T + 10)).toEqual({ instruction: 'done', alerts: [], restarted: false });
    expect(ctx.store.readRecord('bot')).toMatchObject({ restarts: 1, totalRestarts: 1 });
    // The new runner's own next exit is its own epoch's: run 1.1 is not taken up again.
    appendFileSync(runs, `exit 2.1 1 ${T + 50} -\n`);
    await reportExit(ctx, 'bot', '2.1', T + 50);
    expect(ctx.store.readRecord('bot')).toMatchObject({ restarts: 2, totalRestarts: 2, lastExit: { runId: '2.1', code: 1 } });
  });
});
