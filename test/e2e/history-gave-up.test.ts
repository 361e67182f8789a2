// Regression (issue 26): a failure pguard gave up on has no recovery. A "gave up" row was reported
// with a recovery of 68.4 s in the dashboard: a later start (the failed_retry's, or one by hand)
// must never be counted as the recovery of a failure that was not restarted.
import { describe, expect, it } from 'vitest';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

interface Row { run: string; action: string; recovery_ms: number | null; healthy_ms: number | null }

describe('history of a process that always crashes quickly (max_restarts 1, restart_cooldown 0, min_uptime 60)', () => {
  it('gives its "gave up" rows no recovery, neither from the failed_retry\'s restart nor from a start by hand (gave-up-recovery regression)', async () => {
    const t = tmpRegistry({
      // failed_retry 1: the first retry of the failed process comes 1 s after it gave up, not 1 min.
      $settings: { failed_retry: 1 },
      crashy: { command: 'sleep 0.1; exit 1', max_restarts: 1, restart_cooldown: 0, min_uptime: 60 },
    });
    await t.cli(['start', 'crashy', '--no-wait']);
    // 1.1 dies and is restarted at once; 1.2 dies and pguard gives up.
    await waitFor(async () => (await t.status('crashy')).status === 'failed', { what: 'the first give-up' });
    // The failed_retry's restart (a `restart` event, a new runner): 2.1, which dies too.
    await waitFor(async () => {
      await t.cli(['healthcheck']);
      return t.runs('crashy').starts.has('2.1');
    }, { timeoutMs: 15_000, what: 'the failed_retry' });
    await waitFor(() => t.ledger().filter((e) => e.event === 'give-up').length === 2, { what: 'the second give-up' });
    // A start by hand: 3.1 dies and is restarted at once, 3.2 dies, pguard gives up again.
    await t.cli(['start', 'crashy', '--no-wait']);
    await waitFor(() => t.ledger().filter((e) => e.event === 'give-up').length === 3, { what: 'the third give-up' });

    const h = JSON.parse((await t.cli(['history', 'crashy', '--json'])).stdout) as { failures: Row[] };
    expect(h.failures.map((f) => [f.run, f.action])).toEqual([
      ['1.1', 'restarted'], ['1.2', 'gave up'], ['2.1', 'gave up'], ['3.1', 'restarted'], ['3.2', 'gave up'],
    ]);
    for (const f of h.failures) {
      if (f.action === 'gave up') expect(f, `run ${f.run}`).toMatchObject({ recovery_ms: null, healthy_ms: null });
      // A restart by the runner, on its 10 ms clock: well under a second.
      else expect(f.recovery_ms).toBeLessThan(1000);
    }
  });
});
