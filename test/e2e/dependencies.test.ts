// Dependencies that hold instead of draining: a dependent waits while what it needs is down, is
// never left stopped by pguard without a word, and is restarted once per dependency episode.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const pidOf = (t: TmpRegistry, name: string) => waitFor(async () => (await t.status(name)).pid as number | null, { what: `${name} to run` });
const ledgerOf = (t: TmpRegistry): { event: string; process: string; details: Record<string, any> }[] => {
  try { return readFileSync(join(t.stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)); } catch { return []; }
};
const alertsOf = async (t: TmpRegistry) => JSON.parse((await t.cli(['alerts', '--json'])).stdout) as { process: string; kind: string; message: string }[];

describe('dependencies', () => {
  it('a dependent that dies while its dependency is down waits for it, budget untouched, with one alert naming it (draining-budget regression)', async () => {
    const t = tmpRegistry({});
    const down = join(t.dir, 'db-down');
    writeFileSync(t.registry, JSON.stringify({
      db: { command: `[ -e ${down} ] && exit 1; exec sleep 1000`, ready_after: 0.3, max_restarts: 0 },
      app: { command: 'exec sleep 1000', depends_on: ['db'], restart_cooldown: 0, max_restarts: 2 },
    }));
    await t.cli(['start', 'app', '--no-wait']);
    const dbPid = await pidOf(t, 'db');
    const appPid = await pidOf(t, 'app');
    writeFileSync(down, '');
    process.kill(dbPid, 'SIGKILL');
    await waitFor(async () => ((await t.status('db')).status === 'failed' ? true : null), { what: 'db to give up' });
    // The app dies again and again while db is down (its connection is gone). An armed runner may
    // restart it once before its report sees db down; after that it waits.
    let pid: number | null = appPid;
    for (let i = 0; i < 3 && pid; i++) {
      process.kill(pid, 'SIGKILL');
      const before = pid;
      pid = await waitFor(async () => {
        const v = await t.status('app');
        return v.status === 'waiting' ? { pid: null } : v.pid && v.pid !== before ? { pid: v.pid as number } : null;
      }, { what: 'app to wait or be restarted' }).then((x) => x.pid);
    }
    expect(pid).toBeNull();
    expect(t.runs('app').starts.size).toBeLessThanOrEqual(2);
    const app = await t.status('app');
    expect(app).toMatchObject({ status: 'waiting', waiting_for: ['db'], budget_used: 0 });
    const waiting = (await alertsOf(t)).filter((a) => a.kind === 'waiting');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ process: 'app' });
    expect(waiting[0]!.message).toMatch(/waiting for db, which is not ready: not restarted until then/);
    // db is fixed and started: the next look brings the app back.
    rmSync(down);
    await t.cli(['start', 'db']);
    await waitFor(async () => { await t.cli(['healthcheck']); return (await t.status('app')).status === 'running' ? true : null; }, { timeoutMs: 15_000, what: 'app back' });
    expect((await t.status('app')).budget_used).toBe(0);
  });

  it('never leaves a dependent stopped by pguard without a word: it waits, and comes back (silent-stop regression)', async () => {
    // a <- b <- c; b is in a long restart cooldown when a dies.
    const t = tmpRegistry({
      a: { command: 'exec sleep 1000', ready_after: 0.2, restart_cooldown: 0 },
      b: { command: 'exec sleep 1000', depends_on: ['a'], ready_after: 0.2, restart_cooldown: 3, min_uptime: 600 },
      c: { command: 'exec sleep 1000', depends_on: ['b'], ready_after: 0.2 },
    });
    await t.cli(['start', 'c', '--no-wait']);
    const bPid = await pidOf(t, 'b');
    await pidOf(t, 'c');
    // b's second quick death puts it in its cooldown.
    process.kill(bPid, 'SIGKILL');
    const b2 = await waitFor(async () => { const p = (await t.status('b')).pid; return p && p !== bPid ? p : null; });
    process.kill(b2, 'SIGKILL');
    await waitFor(async () => ((await t.status('b')).status === 'crashed' ? true : null), { what: 'b in its cooldown' });
    process.kill(await pidOf(t, 'a'), 'SIGKILL');
    // Whatever happens to c on the way, it is never `stopped`, and it ends up running.
    await waitFor(async () => {
      const c = await t.status('c');
      expect(c.status).not.toBe('stopped');
      await t.cli(['healthcheck']);
      return c.status === 'running' && (await t.status('b')).status === 'running' ? true : null;
    }, { timeoutMs: 30_000, what: 'c running again' });
  });

  it('does not take a dependency that never beat its heartbeat for ready (never-beat regression)', async () => {
    const t = tmpRegistry({
      db: { command: 'exec sleep 1000', health: [{ type: 'heartbeat', max_age: 30, grace: 0, interval: 0.2 }] },
      app: { command: 'exec sleep 1000', depends_on: ['db'] },
    });
    const res = await t.cli(['start', 'app', '--wait', '0']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/✗ app not started: db not ready after \d+ s \(heartbeat \(max_age 30 s\): no heartbeat since it started/);
    expect(t.runs('app').starts.size).toBe(0);
  }, 60_000);

  it('folds two restart jobs for the same dependency into one (duplicate-restart regression)', async () => {
    const t = tmpRegistry({
      db: { command: 'exec sleep 1000', ready_after: 0.2 },
      app: { command: 'exec sleep 1000', depends_on: ['db'] },
    });
    await t.cli(['start', 'app', '--no-wait']);
    await pidOf(t, 'app');
    // Two jobs at once, as two restarts of db in a row would start them.
    const [one, two] = await Promise.all([
      t.cli(['restart', 'app', '--after', 'db', '--no-wait']),
      t.cli(['restart', 'app', '--after', 'db', '--no-wait']),
    ]);
    expect([one.code, two.code]).toEqual([0, 0]);
    expect([one.stderr, two.stderr].filter((e) => e.includes("the restart of db's dependents is already under way"))).toHaveLength(1);
    expect(ledgerOf(t).filter((e) => e.event === 'stop' && e.process === 'app')).toHaveLength(1);
    expect(ledgerOf(t).find((e) => e.event === 'stop' && e.process === 'app')!.details.held_for).toEqual(['db']);
  });

  it('restarts dependents after a manual restart once the dependency is ready, except those that survive it, and not with --no-dependents', async () => {
    const t = tmpRegistry({
      db: { command: 'exec sleep 1000', ready_after: 0.3 },
      api: { command: 'exec sleep 1000', depends_on: ['db'] },
      vec: { command: 'exec sleep 1000', depends_on: [{ name: 'db', restart: false }] },
    });
    await t.cli(['start', '--all', '--no-wait']);
    const api = await pidOf(t, 'api');
    const vec = await pidOf(t, 'vec');
    const res = await t.cli(['restart', 'db']);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('restarting api (depending on db) once db is ready (--no-dependents: not)...');
    expect(res.stdout.split('\n').map((l) => l.split(' ')[1])).toEqual(['db', 'api']);
    const api2 = (await t.status('api')).pid;
    expect(api2).not.toBe(api);
    expect(t.runs('api').latest!.startedAt - t.runs('db').latest!.startedAt).toBeGreaterThanOrEqual(300);
    expect((await t.status('vec')).pid).toBe(vec);
    const again = await t.cli(['restart', 'db', '--no-dependents']);
    expect(again.stdout.split('\n').map((l) => l.split(' ')[1])).toEqual(['db']);
    expect((await t.status('api')).pid).toBe(api2);
    expect(existsSync(t.registry)).toBe(true);
  });
});
