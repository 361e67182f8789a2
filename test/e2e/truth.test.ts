// Issue 20: defects found on a real stack (PostgreSQL, Redis, a Python API, nginx), each reproduced
// here on small programs, real processes and the built CLI. Each test failed before its fix.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { APPS, CLI } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const pidOf = (t: TmpRegistry, name: string) => waitFor(async () => (await t.status(name)).pid as number | null, { what: `${name} to run` });

/** The background watcher, as `$settings.watch` or `pguard watch` runs it; ended by the test. */
async function withWatch<T>(t: TmpRegistry, body: () => Promise<T>): Promise<T> {
  const watch = execa(process.execPath, [CLI, 'watch', '--foreground'], { env: t.env, reject: false });
  try {
    return await body();
  } finally {
    watch.kill('SIGTERM');
    await watch;
  }
}

describe('a protection never switches off silently (defect 1)', () => {
  it('keeps max_memory_mb on after a user stop lands while pguard is ending a run for that limit', async () => {
    const t = tmpRegistry({
      leak: { command: `exec node ${APPS}leak.mjs 30 ignore-term`, max_memory_mb: 100, kill_timeout: 4, restart_cooldown: 0 },
    });
    await t.cli(['start', 'leak', '--no-wait']);
    const first = await pidOf(t, 'leak');
    await withWatch(t, async () => {
      // The limit is breached: pguard sends SIGTERM (ignored) and waits kill_timeout before SIGKILL.
      await waitFor(() => t.ledger().find((e) => e.event === 'resource-breach'), { timeoutMs: 20_000, what: 'the limit kill to begin' });
      const stop = await t.cli(['stop', 'leak']);
      expect(stop.code).toBe(0);
      expect((await t.status('leak')).status).toBe('stopped');
      await t.cli(['start', 'leak', '--no-wait']);
      const second = await waitFor(async () => { const p = (await t.status('leak')).pid; return p && p !== first ? p : null; });
      // The new run leaks too: the limit ends it again (before the fix it grew without bound).
      await waitFor(() => t.ledger().filter((e) => e.event === 'resource-breach').length >= 2, { timeoutMs: 20_000, what: 'the limit to act on the new run' });
      const third = await waitFor(async () => { const p = (await t.status('leak')).pid; return p && p !== second ? p : null; }, { timeoutMs: 20_000, what: 'the restart after the second breach' });
      expect(third).not.toBe(second);
    });
  });
});
