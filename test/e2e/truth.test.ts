// Issue 20: defects found on a real stack (PostgreSQL, Redis, a Python API, nginx), each reproduced
// here on small programs, real processes and the built CLI. Each test failed before its fix.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
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

/** Live processes whose argv is exactly `argv` (read from /proc). */
function pidsRunning(argv: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') !== argv) continue;
      if (/\) [ZX] /.test(readFileSync(`/proc/${e}/stat`, 'utf8'))) continue;
      out.push(Number(e));
    } catch { /* gone */ }
  }
  return out;
}

describe('stop leaves nothing behind (defect 2)', () => {
  it('ends what is left of the last run when its main process and its runner are already dead', async () => {
    const tag = 1000 + Math.floor(Math.random() * 8000);
    const t = tmpRegistry({ w: { command: `exec sh -c 'sleep ${tag} & exec sleep ${tag + 1}'` } });
    await t.cli(['start', 'w', '--no-wait']);
    const main = await pidOf(t, 'w');
    await waitFor(() => pidsRunning(`sleep ${tag}`).length === 1, { what: 'the child' });
    const runner = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'w', 'state.json'), 'utf8')).runner.pid as number;
    process.kill(runner, 'SIGKILL');
    process.kill(main, 'SIGKILL');
    await waitFor(() => pidsRunning(`sleep ${tag + 1}`).length === 0);
    const stop = await t.cli(['stop', '--all']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^w stopped: ended 1 process left of its last run, whose runner had died$/m);
    await waitFor(() => pidsRunning(`sleep ${tag}`).length === 0, { what: 'the leftover to be gone' });
    expect((await t.status('w')).status).toBe('stopped');
  });

  it('ends a member that left both the group and the tree, but not the session', async () => {
    const tag = 1000 + Math.floor(Math.random() * 8000);
    // A child in a group of its own (perl's setpgrp) forks a grandchild and exits: the grandchild is
    // in neither the run's group nor its tree (reparented), only in its session.
    const t = tmpRegistry({ w: { command: `perl -e 'if (fork == 0) { setpgrp(0, 0); exec "sleep", "${tag}" if fork == 0; exit 0 } exec "sleep", "${tag + 1}"'` } });
    await t.cli(['start', 'w', '--no-wait']);
    await waitFor(() => pidsRunning(`sleep ${tag}`).length === 1 && pidsRunning(`sleep ${tag + 1}`).length === 1, { what: 'both' });
    const stop = await t.cli(['stop', 'w']);
    expect(stop.code).toBe(0);
    await waitFor(() => pidsRunning(`sleep ${tag}`).length === 0 && pidsRunning(`sleep ${tag + 1}`).length === 0, { what: 'nothing left' });
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('pguard causes no second outage (defect 3)', () => {
  it('leaves running a dependent whose probes pass once its dependency is back; restarts one that fails them, and one without probes', async () => {
    const port = await freePort();
    const tcp = { type: 'tcp', host: '127.0.0.1', port, interval: 1, timeout: 1, failure_threshold: 2, grace: 0 };
    const t = tmpRegistry({
      db: { command: `exec node ${APPS}http-ok.mjs`, env: { PORT: String(port) }, health: [tcp], restart_cooldown: 0 },
      // The API reconnects by itself: its probe passes as soon as the database answers.
      api: { command: 'exec sleep 1000', depends_on: ['db'], health: [tcp] },
      // The bot does not: its probe (a file the test removes) keeps failing.
      bot: { command: 'exec sleep 1000', depends_on: ['db'], health: [{ type: 'exec', command: 'test -e bot-ok', interval: 1, timeout: 1, failure_threshold: 2, grace: 0 }] },
      // No probes: restarted as before.
      job: { command: 'exec sleep 1000', depends_on: ['db'] },
    });
    writeFileSync(join(t.dir, 'bot-ok'), '');
    expect((await t.cli(['start', '--all', '--no-wait'])).code).toBe(0);
    const [db, api, bot, job] = [await pidOf(t, 'db'), await pidOf(t, 'api'), await pidOf(t, 'bot'), await pidOf(t, 'job')];
    await waitFor(async () => (await t.status('bot')).status === 'running' && (await t.cli(['wait', 'db', 'api', 'bot', '--until', 'healthy', '--timeout', '10'])).code === 0, { timeoutMs: 15_000 });
    rmSync(join(t.dir, 'bot-ok'));
    process.kill(db, 'SIGKILL');
    await waitFor(async () => { const p = (await t.status('job')).pid; return p && p !== job; }, { timeoutMs: 20_000, what: 'job to be restarted' });
    await waitFor(async () => { const p = (await t.status('bot')).pid; return p && p !== bot; }, { timeoutMs: 20_000, what: 'bot to be restarted' });
    const left = await waitFor(() => t.ledger().find((e) => e.event === 'left-running' && e.process === 'api'), { what: 'api to be left running' });
    expect(left.details).toMatchObject({ after: 'db', why: `its probes pass again (tcp 127.0.0.1:${port}: connected)` });
    const status = await t.status('api');
    expect(status.pid).toBe(api);
    expect(status.reason).toBe(`left running after db restarted: its probes pass again (tcp 127.0.0.1:${port}: connected) (restart_dependents)`);
    expect(t.ledger().filter((e) => e.event === 'left-running').map((e) => e.process)).toEqual(['api']);
  });
});

describe('a bad deploy is rolled back in seconds (defect 4)', () => {
  it('rolls a never-known-good generation back at its second premature death, its alert recorded before the good one runs', async () => {
    const t = tmpRegistry({});
    // Default budget and cooldown (max_restarts 5, restart_cooldown 30 s): spent in full, 2 minutes.
    await t.cli(['register', 'api', 'echo good; exec sleep 1000', '--min-uptime', '0.5']);
    await t.cli(['start', 'api', '--no-wait']);
    await waitFor(async () => (await t.status('api')).uptime_s >= 1);
    await t.cli(['healthcheck']); // a look after min_uptime makes generation 1 known-good
    await t.cli(['register', 'api', 'echo broken; exit 1']);
    const began = Date.now();
    await t.cli(['restart', 'api', '--no-wait']);
    const back = await waitFor(async () => { const s = await t.status('api'); return s.status === 'running' && s.command === 'echo good; exec sleep 1000' && s.pid ? s : null; }, { timeoutMs: 20_000, what: 'the good generation back' });
    const took = Date.now() - began;
    expect(took).toBeLessThan(5_000);
    // Its rollback alert was there before the restored definition ran.
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout) as { kind: string; message: string; at: string }[];
    const rollback = alerts.find((a) => a.kind === 'rollback')!;
    expect(rollback.message).toMatch(/^rolled back from generation 2 to known-good generation 1: exited with code 1 after \d+\.\d s; died 2 times before generation 2 was ever known-good: not restarted, rolling back to known-good generation 1$/);
    expect(Date.parse(rollback.at)).toBeLessThanOrEqual(t.runs('api').latest!.startedAt);
    expect(alerts.find((a) => a.kind === 'failed')?.message).toMatch(/died 2 times before generation 2 was ever known-good/);
    expect(back.restarts).toBeGreaterThanOrEqual(1);
  });

  it('keeps the whole budget, with its cooldowns, for a known-good generation', async () => {
    const t = tmpRegistry({});
    const crashy = (n: number) => `test -e crash && exit 1; exec sleep ${n}`;
    await t.cli(['register', 'api', crashy(1000), '--min-uptime', '0.5', '--restart-cooldown', '30']);
    await t.cli(['start', 'api', '--no-wait']);
    await waitFor(async () => (await t.status('api')).uptime_s >= 1);
    await t.cli(['healthcheck']); // generation 1 known-good
    await t.cli(['register', 'api', crashy(2000)]);
    await t.cli(['restart', 'api', '--no-wait']);
    await waitFor(async () => (await t.status('api')).uptime_s >= 1);
    await t.cli(['healthcheck']); // generation 2 known-good too
    writeFileSync(join(t.dir, 'crash'), '');
    process.kill((await t.status('api')).pid, 'SIGKILL');
    // Restarted at once, dies; its second death waits out the cooldown (no rollback: it proved itself).
    const s = await waitFor(async () => { const x = await t.status('api'); return x.status === 'crashed' && x.next_restart_at ? x : null; }, { timeoutMs: 10_000 });
    expect(Date.parse(s.next_restart_at) - Date.now()).toBeGreaterThan(20_000);
    expect(s.command).toBe(crashy(2000));
    expect(t.ledger().some((e) => e.event === 'rollback')).toBe(false);
  });
});

describe('recovery figures belong to their own run (defect 5)', () => {
  it('takes healthy_ms only from the run the restart brought up, else null; a death has its detection_ms', async () => {
    const port = await freePort();
    const t = tmpRegistry({
      db: { command: `exec node ${APPS}http-ok.mjs`, env: { PORT: String(port) }, restart_cooldown: 0, health: [{ type: 'tcp', host: '127.0.0.1', port, grace: 0, timeout: 1 }] },
    });
    await t.cli(['start', 'db', '--no-wait']);
    const first = await pidOf(t, 'db');
    process.kill(first, 'SIGKILL'); // no watch: nothing probes the restarted run
    const second = await waitFor(async () => { const p = (await t.status('db')).pid; return p && p !== first ? p : null; });
    await t.cli(['stop', 'db']);
    await t.cli(['start', 'db', '--no-wait']);
    await waitFor(async () => { const p = (await t.status('db')).pid; return p && p !== second ? p : null; });
    await waitFor(async () => (await t.cli(['healthcheck'])).code === 0 && t.ledger().some((e) => e.event === 'healthy'), { what: 'the new run to be healthy' });
    let failures = JSON.parse((await t.cli(['history', 'db', '--json'])).stdout).failures;
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ action: 'restarted', healthy_ms: null });
    expect(failures[0].recovery_ms).toBeGreaterThanOrEqual(0);
    expect(failures[0].recovery_ms).toBeLessThan(1000);
    expect(failures[0].detection_ms).toBeGreaterThanOrEqual(0);
    expect(failures[0].detection_ms).toBeLessThan(1000);

    // A death whose restarted run is probed: healthy_ms is that run's.
    const third = (await t.status('db')).pid;
    process.kill(third, 'SIGKILL');
    const fourth = await waitFor(async () => { const p = (await t.status('db')).pid; return p && p !== third ? p : null; });
    await waitFor(async () => (await t.cli(['healthcheck'])).code === 0 && t.ledger().filter((e) => e.event === 'healthy').length >= 2);
    failures = JSON.parse((await t.cli(['history', 'db', '--json'])).stdout).failures;
    const healthyOf4 = t.ledger().filter((e) => e.event === 'healthy').at(-1)!;
    expect(healthyOf4.details.run).toBe(t.runs('db').latest!.id);
    expect(fourth).toBe(t.runs('db').latest!.identity.pid);
    const death = Date.parse(t.ledger().filter((e) => e.event === 'exit').at(-1)!.details.ended_at);
    expect(failures[1].healthy_ms).toBe(Date.parse(healthyOf4.at) - death);
  });
});

describe('dependents come back once their dependency is, whoever started it (defect 6)', () => {
  it('starts a dependent waiting for its dependency after a manual stop and start of it, without a healthcheck', async () => {
    const t = tmpRegistry({
      db: { command: 'exec sleep 1000', ready_after: 0.3 },
      api: { command: 'exec sleep 1000', depends_on: ['db'] },
    });
    await t.cli(['start', '--all', '--no-wait']);
    const api = await pidOf(t, 'api');
    await t.cli(['stop', 'db']);
    // It dies while db is down: restarted at once by its runner (which knew nothing of db), then
    // held; its next death waits for db.
    process.kill(api, 'SIGKILL');
    const again = await waitFor(async () => { const x = await t.status('api'); return x.pid && x.pid !== api && x.waiting_for.length > 0 ? x.pid : null; });
    process.kill(again, 'SIGKILL');
    await waitFor(async () => (await t.status('api')).status === 'waiting', { what: 'api to wait' });
    expect((await t.cli(['start', 'db'])).code).toBe(0);
    const s = await waitFor(async () => { const x = await t.status('api'); return x.status === 'running' && x.pid ? x : null; }, { what: 'api to come back' });
    expect(s.reason).toBe('db is ready again: started');
    expect(s.budget_used).toBe(0);
  });
});

describe('start --all with a dependency cycle', () => {
  it('starts the rest, names the cycle for each entry in it and what depends on it, and exits 1', async () => {
    const t = tmpRegistry({
      a: { command: 'exec sleep 1000', depends_on: ['b'] },
      b: { command: 'exec sleep 1000', depends_on: ['a'] },
      c: { command: 'exec sleep 1000', depends_on: ['a'] },
      d: { command: 'exec sleep 1000' },
    });
    const res = await t.cli(['start', '--all', '--no-wait']);
    expect(res.code).toBe(1);
    expect(res.stdout.split('\n').slice(0, 3)).toEqual([
      '✗ a not started: depends_on forms a cycle: a -> b -> a',
      '✗ b not started: depends_on forms a cycle: b -> a -> b',
      expect.stringMatching(/^✗ c not started: (it depends on a, which is not valid \(depends_on: forms a cycle: a -> b -> a\)|depends_on forms a cycle: .*)$/),
    ]);
    expect((await t.status('d')).status).toBe('running');
    const json = await t.cli(['start', '--all', '--no-wait', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).filter((r: { outcome: string }) => r.outcome === 'not-started').map((r: { name: string }) => r.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('status shows when each protection last ran', () => {
  it('gives each probe its last time and the limits their last sample, for this run only', async () => {
    const port = await freePort();
    const t = tmpRegistry({
      web: { command: `exec node ${APPS}http-ok.mjs`, env: { PORT: String(port) }, max_memory_mb: 500, health: [{ type: 'tcp', host: '127.0.0.1', port, grace: 0 }] },
      plain: { command: 'exec sleep 1000' },
    });
    await t.cli(['start', '--all']);
    expect(await t.status('web')).toMatchObject({ limits_checked_at: null, health: [expect.objectContaining({ at: null })] });
    const before = Date.now();
    await waitFor(async () => (await t.cli(['healthcheck'])).code === 0 && (await t.status('web')).health[0].ok === true);
    const s = await t.status('web');
    expect(Date.parse(s.limits_checked_at)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(s.health[0].at)).toBeGreaterThanOrEqual(before - 5);
    expect((await t.status('plain')).limits_checked_at).toBeNull();
  });
});

describe('detection_ms belongs to the episode that led to the kill', () => {
  it('counts from the first failure of the last episode, not of an earlier one that recovered', async () => {
    const t = tmpRegistry({ api: { command: 'exec sleep 1000', restart_cooldown: 0, health: [{ type: 'exec', command: 'test -e ok', failure_threshold: 2, grace: 0, timeout: 1 }] } });
    await t.cli(['start', 'api', '--no-wait']);
    const pid = await pidOf(t, 'api');
    await t.cli(['healthcheck']); // no file: failing, 1 of 2 (episode 1)
    writeFileSync(join(t.dir, 'ok'), '');
    await t.cli(['healthcheck']); // passes again
    await waitFor(() => t.ledger().some((e) => e.event === 'healthy'));
    const gap = Date.now();
    await waitFor(() => Date.now() - gap >= 1500 || null, { timeoutMs: 3000 }); // episode 1 is well in the past
    rmSync(join(t.dir, 'ok'));
    await t.cli(['healthcheck']); // episode 2 begins
    await t.cli(['healthcheck']); // its second failure ends the run
    await waitFor(async () => { const p = (await t.status('api')).pid; return p && p !== pid; });
    const f = await waitFor(async () => JSON.parse((await t.cli(['history', 'api', '--json'])).stdout).failures[0] ?? null);
    const episodes = t.ledger().filter((e) => e.event === 'probe-failure' && !e.details.action);
    expect(episodes).toHaveLength(2);
    const decided = t.ledger().find((e) => e.event === 'probe-failure' && e.details.action === 'graceful restart')!;
    expect(f.detection_ms).toBe(Date.parse(decided.at) - Date.parse(episodes[1]!.at));
    expect(f.detection_ms).toBeLessThan(1500);
  });
});
