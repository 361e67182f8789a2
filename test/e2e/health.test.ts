import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isOurs, readIdentity } from '../../src/effects/identity.js';
import { APPS, CLI } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const pidOf = (t: TmpRegistry, name: string) => waitFor(async () => (await t.status(name)).pid as number | null, { what: `${name} to run` });
const alertsOf = async (t: TmpRegistry) => JSON.parse((await t.cli(['alerts', '--json'])).stdout) as { kind: string; message: string; process: string }[];

describe('health probes', () => {
  it('restarts a process whose HTTP probe fails failure_threshold times, saying which probe failed', async () => {
    const port = await freePort();
    const t = tmpRegistry({
      web: {
        command: `exec node ${APPS}http-ok.mjs`, env: { PORT: String(port) },
        health: [{ type: 'http', url: `http://127.0.0.1:${port}/health`, failure_threshold: 2, grace: 0, timeout: 1 }],
      },
    });
    await t.cli(['start', 'web', '--no-wait']);
    await waitFor(() => t.logOf('web').includes('listening'));
    const pid = await pidOf(t, 'web');
    let hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc).toMatchObject({ ok: true, counts: { running: 1 } });
    expect((await t.status('web')).health).toEqual([expect.objectContaining({ probe: `http http://127.0.0.1:${port}/health`, ok: true, failures: 0, detail: 'HTTP 200' })]);
    await fetch(`http://127.0.0.1:${port}/off`);
    hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.counts).toEqual({ unhealthy: 1 });
    const s = await t.status('web');
    expect(s).toMatchObject({ status: 'unhealthy', health: [expect.objectContaining({ ok: false, failures: 1, detail: 'HTTP 503, expected 2xx' })] });
    hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions).toEqual([{ name: 'web', action: 'killed', detail: `probe http http://127.0.0.1:${port}/health failed 2 times in a row (HTTP 503, expected 2xx)` }]);
    // Up again, and counted (the runner's report follows a fast restart by 100 ms or more).
    const after = await waitFor(async () => { const x = await t.status('web'); return x.pid && x.pid !== pid && x.status === 'running' && x.restarts === 1 ? x : null; });
    expect(after.restarts).toBe(1);
    expect((await alertsOf(t)).map((a) => a.kind)).toEqual(['unhealthy']);
  });

  it('restarts a process whose TCP port stops accepting connections', async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const t = tmpRegistry({ db: { command: 'exec sleep 1000', health: [{ type: 'tcp', port, failure_threshold: 1, grace: 0 }] } });
    await t.cli(['start', 'db', '--no-wait']);
    const pid = await pidOf(t, 'db');
    expect(JSON.parse((await t.cli(['healthcheck', '--json'])).stdout).actions).toEqual([]);
    await new Promise((r) => server.close(r));
    const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions[0]).toMatchObject({ name: 'db', action: 'killed', detail: `probe tcp 127.0.0.1:${port} failed 1 times in a row (ECONNREFUSED)` });
    await waitFor(async () => { const p = (await t.status('db')).pid; return p && p !== pid; });
  });

  it('restarts a process whose exec probe stops exiting 0', async () => {
    const t = tmpRegistry({ job: { command: 'exec sleep 1000', health: [{ type: 'exec', command: 'test -e ok || { echo "ok file missing"; exit 3; }', failure_threshold: 1, grace: 0 }] } });
    writeFileSync(join(t.dir, 'ok'), '');
    await t.cli(['start', 'job', '--no-wait']);
    const pid = await pidOf(t, 'job');
    expect(JSON.parse((await t.cli(['healthcheck', '--json'])).stdout).actions).toEqual([]);
    const { rmSync } = await import('node:fs');
    rmSync(join(t.dir, 'ok'));
    const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions[0]).toMatchObject({ name: 'job', action: 'killed', detail: 'probe exec "test -e ok || { echo \\"ok file missing\\"; exit 3; }" failed 1 times in a row (exit 3: ok file missing)' });
    await waitFor(async () => { const p = (await t.status('job')).pid; return p && p !== pid; });
  });

  it('restarts a process that stops touching its heartbeat; pguard heartbeat keeps one alive', async () => {
    const t = tmpRegistry({
      hung: { command: `exec sh ${APPS}beat.sh 3`, health: [{ type: 'heartbeat', max_age: 1, failure_threshold: 1, grace: 0 }] },
      // A wider max_age than hung's: each `pguard heartbeat` is a CLI start, slow on a loaded machine.
      cron: { command: 'exec sleep 1000', health: [{ type: 'heartbeat', max_age: 5, failure_threshold: 1, grace: 0 }] },
    });
    await t.cli(['start', '--all', '--no-wait']);
    const pid = await pidOf(t, 'hung');
    await waitFor(() => t.logOf('hung').includes('now hanging'));
    const cronPid = await pidOf(t, 'cron');
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      await t.cli(['heartbeat', 'cron']);
      await new Promise((r) => setTimeout(r, 200));
    }
    const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions.map((a: { name: string }) => a.name)).toEqual(['hung']);
    expect(hc.actions[0].detail).toMatch(/^probe heartbeat \(max_age 1 s\) failed 1 times in a row \(no heartbeat for \d+\.\d s \(max_age 1 s\)\)$/);
    await waitFor(async () => { const p = (await t.status('hung')).pid; return p && p !== pid; });
    expect((await t.status('cron')).pid).toBe(cronPid);
  });

  it('restarts a process whose tree grows past max_memory_mb, and shows memory and CPU in status', async () => {
    const t = tmpRegistry({ hog: { command: `exec node ${APPS}hog.mjs 120`, max_memory_mb: 60 } });
    await t.cli(['start', 'hog', '--no-wait']);
    await waitFor(() => t.logOf('hog').includes('holding'));
    const pid = await pidOf(t, 'hog');
    const s = await t.status('hog');
    expect(s.memory_mb).toBeGreaterThan(100);
    expect(typeof s.cpu_percent).toBe('number');
    const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions[0]).toMatchObject({ name: 'hog', action: 'killed' });
    expect(hc.actions[0].detail).toMatch(/^memory \d+(\.\d)? MB is over max_memory_mb 60 \(\+\d+(\.\d)?%\)$/);
    await waitFor(async () => { const p = (await t.status('hog')).pid; return p && p !== pid; });
    const alerts = await alertsOf(t);
    expect(alerts[0]).toMatchObject({ kind: 'resource', process: 'hog' });
    expect(alerts[0]!.message).toMatch(/MB is over max_memory_mb 60 \(\+\d+%\); restarting it/);
  });
});

describe('memory limit with watch', () => {
  it('restarts a process leaking 10 MB/s before it is 5% over max_memory_mb, saying how far over (slow-sampling regression)', async () => {
    const t = tmpRegistry({ leak: { command: `exec node ${APPS}leak.mjs 10`, max_memory_mb: 120, restart_cooldown: 0 } });
    await t.cli(['start', 'leak', '--no-wait']);
    const pid = await pidOf(t, 'leak');
    const watch = execa(process.execPath, [CLI, 'watch', '--foreground'], { env: t.env, reject: false });
    try {
      await waitFor(async () => { const p = (await t.status('leak')).pid; return p && p !== pid; }, { timeoutMs: 30_000, what: 'the restart' });
      const alert = (await alertsOf(t)).find((a) => a.kind === 'resource')!;
      const m = /^memory (\d+(?:\.\d)?) MB is over max_memory_mb 120 \(\+(\d+(?:\.\d)?)%\); restarting it/.exec(alert.message);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(126);
    } finally {
      watch.kill('SIGTERM');
      await watch;
    }
  });
});

describe('CPU limit', () => {
  it('restarts a process that stays over max_cpu_percent for cpu_window', async () => {
    const t = tmpRegistry({ spin: { command: 'exec sh -c "while :; do :; done"', max_cpu_percent: 30, cpu_window: 1 } });
    await t.cli(['start', 'spin', '--no-wait']);
    const pid = await pidOf(t, 'spin');
    const first = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(first.actions).toEqual([]); // the first sample only sets a baseline
    const sampledAt = Date.now();
    const hc = await waitFor(async () => {
      const h = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
      return h.actions.length > 0 ? h : null;
    }, { what: 'the CPU limit to act' });
    expect(Date.now() - sampledAt).toBeGreaterThanOrEqual(1000); // not before cpu_window has passed
    expect(hc.actions[0]).toMatchObject({ name: 'spin', action: 'killed' });
    expect(hc.actions[0].detail).toMatch(/^CPU \d+(\.\d)?% has been over max_cpu_percent 30 for \d+ s$/);
    await waitFor(async () => { const p = (await t.status('spin')).pid; return p && p !== pid; });
  });
});

describe('dependencies', () => {
  const chain = {
    db: { command: 'exec sleep 1000', ready_after: 0.5 },
    vec: { command: 'exec sleep 1000', depends_on: ['db'], ready_after: 0.5 },
    bot: { command: 'exec sleep 1000', depends_on: ['vec'] },
  };

  it('starts a chain of three in order, each once the one before is ready, and stops it in reverse', async () => {
    const t = tmpRegistry(chain);
    const res = await t.cli(['start', 'bot', '--no-wait']);
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n').map((l) => l.split(' ')[1])).toEqual(['db', 'vec', 'bot']);
    const started = (n: string) => t.runs(n).latest!.startedAt;
    expect(started('vec') - started('db')).toBeGreaterThanOrEqual(500);
    expect(started('bot') - started('vec')).toBeGreaterThanOrEqual(500);
    const stop = await t.cli(['stop', '--all']);
    expect(stop.stdout.split('\n')).toEqual(['bot stopped', 'vec stopped', 'db stopped']);
    const ended = (n: string) => [...t.runs(n).exits.values()].at(-1)!.endedAt;
    expect(ended('bot')).toBeLessThanOrEqual(ended('vec'));
    expect(ended('vec')).toBeLessThanOrEqual(ended('db'));
  });

  it('does not start a dependent whose dependency never becomes ready', async () => {
    const t = tmpRegistry({ db: { command: 'exit 1', auto_restart: false }, app: { command: 'exec sleep 1000', depends_on: ['db'] } });
    const res = await t.cli(['start', 'app', '--no-wait']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/✗ app not started: db is not running/);
    expect(t.runs('app').starts.size).toBe(0);
  });

  it('refuses a cycle, naming it', async () => {
    const t = tmpRegistry({ a: { command: 'true', depends_on: ['b'] }, b: { command: 'true', depends_on: ['a'] } });
    const res = await t.cli(['start', 'a']);
    expect(res).toMatchObject({ code: 2, stderr: `pguard: ${t.registry}: "a".depends_on: forms a cycle: a -> b -> a` });
  });

  it('restarts the dependents once a dependency that died is back and ready', async () => {
    const t = tmpRegistry({ db: { command: 'exec sleep 1000', ready_after: 0.3, restart_cooldown: 0 }, app: { command: 'exec sleep 1000', depends_on: ['db'] } });
    await t.cli(['start', 'app', '--no-wait']);
    const appPid = await pidOf(t, 'app');
    const dbPid = await pidOf(t, 'db');
    process.kill(dbPid, 'SIGKILL');
    const newApp = await waitFor(async () => { const p = (await t.status('app')).pid; return p && p !== appPid ? p : null; }, { timeoutMs: 15_000, what: 'app to be restarted' });
    expect(newApp).not.toBe(appPid);
    const dbStart = t.runs('db').latest!.startedAt;
    expect(t.runs('app').latest!.startedAt - dbStart).toBeGreaterThanOrEqual(300);
  });
});

describe('pguard watch', () => {
  it('is a singleton: a second one exits at once saying who holds it', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    const first = await t.cli(['watch']);
    expect(first.stdout).toMatch(/^pguard watch started \(pid (\d+)\)/);
    const pid = Number(/pid (\d+)/.exec(first.stdout)![1]);
    try {
      const second = await t.cli(['watch', '--foreground']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`^pguard: pguard watch is already running \\(pid ${pid}, since \\S+\\)\\. Stop it with \`pguard watch --stop\`\\.$`));
    } finally {
      await t.cli(['watch', '--stop']);
    }
    expect(isOurs(readIdentity(pid))).toBe(false);
  });

  it('sees a process that died with its runner within about a second and restarts it', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    const watch = execa(process.execPath, [CLI, 'watch', '--foreground'], { env: t.env, reject: false });
    try {
      await waitFor(() => existsSync(join(t.stateDir, 'watch.expected')));
      const pid = await pidOf(t, 'bot');
      const runner = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'bot', 'state.json'), 'utf8')).runner.pid;
      process.kill(runner, 'SIGKILL');
      process.kill(-pid, 'SIGKILL');
      const killedAt = Date.now();
      await waitFor(() => t.runs('bot').starts.size === 2, { timeoutMs: 5000, what: 'watch to restart it' });
      expect(t.runs('bot').latest!.startedAt - killedAt).toBeLessThan(2500);
    } finally {
      watch.kill('SIGTERM');
      await watch;
    }
  });

  it('is replaced by healthcheck when it has stalled (stopped, or stuck), with an alert saying so (stalled-watch regression)', async () => {
    const t = tmpRegistry({ $settings: { watch: true }, bot: { command: 'exec sleep 1000' } });
    const first = await t.cli(['watch']);
    const pid = Number(/pid (\d+)/.exec(first.stdout)![1]);
    try {
      const beat = join(t.stateDir, 'watch.beat');
      await waitFor(() => existsSync(beat));
      process.kill(pid, 'SIGSTOP');
      // Its last tick, as if 40 s ago: the guardian's 30 s allowance is over.
      const past = new Date(Date.now() - 40_000);
      utimesSync(beat, past, past);
      const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
      expect(hc.watch).toMatchObject({ running: true, had_died: true, stalled: true });
      expect(hc.watch.started).not.toBe(pid);
      await waitFor(() => !isOurs(readIdentity(pid)));
      const alerts = await alertsOf(t);
      expect(alerts.map((a) => `${a.process} ${a.kind}`)).toEqual(['pguard-watch watch-died']);
      expect(alerts[0]!.message).toMatch(new RegExp(`^pguard watch had stalled \\(no tick for 4\\d s: stopped or stuck\\); healthcheck ended it \\(pid ${pid}\\) and started it again$`));
      // A watch that ticks is left alone.
      const again = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
      expect(again.watch).toMatchObject({ running: true, started: null, had_died: false });
    } finally {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      await t.cli(['watch', '--stop']);
    }
  });

  it('is brought back by healthcheck when $settings.watch is on, with an alert that it had died', async () => {
    const t = tmpRegistry({ $settings: { watch: true }, bot: { command: 'exec sleep 1000' } });
    const first = await t.cli(['watch']);
    const pid = Number(/pid (\d+)/.exec(first.stdout)![1]);
    try {
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !isOurs(readIdentity(pid)));
      const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
      expect(hc.watch).toMatchObject({ running: true, had_died: true });
      expect(hc.watch.started).not.toBe(pid);
      const status = JSON.parse((await t.cli(['watch', '--status', '--json'])).stdout);
      expect(status).toMatchObject({ running: true, pid: hc.watch.started });
      expect((await alertsOf(t)).map((a) => `${a.process} ${a.kind}`)).toEqual(['pguard-watch watch-died']);
    } finally {
      await t.cli(['watch', '--stop']);
    }
  });
});
