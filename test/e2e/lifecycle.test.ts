import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOurs, readIdentity } from '../../src/effects/identity.js';
import { APPS, CLI } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const forever = `sh ${APPS}forever.sh`;

describe('register', () => {
  it('creates the registry, then says what an update changed', async () => {
    const t = tmpRegistry({});
    let res = await t.cli(['register', 'bot', 'python3 bot.py', '480', '--max-restarts', '5', '--env', 'TOKEN=secret']);
    expect(res).toMatchObject({ code: 0, stdout: `registered bot in ${t.registry}` });
    res = await t.cli(['register', 'bot', 'python3 bot.py', '480', '--max-restarts', '3', '--no-auto-restart']);
    expect(res.stdout.split('\n')[0]).toBe('updated bot: max_restarts: 5 -> 3, auto_restart: false');
    expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual({
      bot: { command: 'python3 bot.py', duration_min: 480, max_restarts: 3, env: { TOKEN: 'secret' }, auto_restart: false },
    });
  });

  it('refuses a bad value with one line naming the process and field', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['register', 'bot', 'x', '--max-restarts', '5x']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toBe('pguard: --max-restarts expects a number, got "5x".');
    const neg = await t.cli(['register', 'bot', 'x', '--max-restarts=-1']);
    expect(neg.stderr).toBe(`pguard: ${t.registry}: "bot".max_restarts: expected a non-negative integer, got -1 (number)`);
  });

  it.each(['../evil', 'a/b', 'has space'])('refuses the name %j', async (name) => {
    const t = tmpRegistry({});
    const res = await t.cli(['register', name, 'x']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/^pguard: invalid process name/);
    expect(res.stderr.split('\n')).toHaveLength(1);
  });

  it('30 concurrent register calls leave 30 entries', async () => {
    const t = tmpRegistry({});
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => t.cli(['register', `p${i}`, `echo ${i}`])));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(Object.keys(JSON.parse(readFileSync(t.registry, 'utf8'))).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `p${i}`).sort());
  });
});

describe('a broken registry', () => {
  const broken = '{\n  "bot": {\n    "command": "x"\n  },,\n}\n';
  it.each([
    [['status']], [['start', 'bot']], [['register', 'other', 'y']], [['stop', '--all']],
  ])('is reported with line and column and left byte for byte by %j', async (args) => {
    const t = tmpRegistry({}, { raw: broken });
    const res = await t.cli(args);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(new RegExp(`^pguard: ${t.registry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:5: not valid JSON`));
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(t.registry, 'utf8')).toBe(broken);
  });
});

describe('start, status, stop', () => {
  it('starts detached, reports status as JSON, and stops', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const start = await t.cli(['start', 'bot']);
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/^✓ bot started \(pid \d+\)$/);
    const s = await t.status('bot');
    expect(s).toMatchObject({ name: 'bot', status: 'running', restarts: 0, command: forever, duration_min: 0, auto_restart: true, last_exit: null });
    expect(s.pid).toBeGreaterThan(1);
    expect(s.uptime_s).toBeGreaterThanOrEqual(0);
    await waitFor(() => t.logOf('bot').includes('tick'), { what: 'the log' });
    const logs = await t.cli(['logs', 'bot', '-n', '1', '--json']);
    expect(JSON.parse(logs.stdout).lines[0]).toMatch(/^(tick|forever)/);
    const again = await t.cli(['start', 'bot']);
    expect(again).toMatchObject({ code: 0, stdout: `• bot is already running (pid ${s.pid})` });
    const stop = await t.cli(['stop', 'bot']);
    expect(stop).toMatchObject({ code: 0, stdout: 'bot stopped' });
    const after = await t.status('bot');
    expect(after).toMatchObject({ status: 'stopped', pid: null, last_exit: { code: null, signal: 'SIGTERM' } });
    expect(isOurs(readIdentity(s.pid))).toBe(false);
  });

  it('reports the program itself as the PID of a simple command, and the shell for shell syntax', async () => {
    const t = tmpRegistry({
      simple: { command: 'sleep 61' }, compound: { command: 'echo hi; sleep 62' },
      execd: { command: 'exec sleep 63' }, execCompound: { command: 'exec sleep 64 | cat' },
    });
    await t.cli(['start', '--all', '--no-wait']);
    const args = async (name: string) => {
      const pid = await waitFor(async () => (await t.status(name)).pid as number | null);
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    };
    expect(await args('simple')).toBe('sleep 61');
    expect(await args('compound')).toBe('/bin/sh -c echo hi; sleep 62');
    // `exec PROGRAM ARGS` is PROGRAM ARGS (no shell started to exec it); with shell syntax, the shell.
    expect(await args('execd')).toBe('sleep 63');
    expect(await args('execCompound')).toBe('/bin/sh -c exec sleep 64 | cat');
  });

  it('keeps state in a private 0700 directory', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const info = JSON.parse((await t.cli(['info', '--json'])).stdout);
    expect(info).toMatchObject({ registry: t.registry, state_dir: t.stateDir, log_dir: join(t.stateDir, 'logs'), alert_flag: join(t.stateDir, 'alert.flag'), alert_text: join(t.stateDir, 'alert.txt'), ledger: join(t.stateDir, 'ledger.jsonl'), ledger_key: join(t.dir, 'config', 'pguard', 'ledger.key') });
    expect(statSync(t.stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(t.stateDir, 'locks')).mode & 0o777).toBe(0o700);
  });

  it('survives the launching session: its process group is SIGKILLed, the process lives on', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    // A launcher shell in its own session, as an agent's terminal would be; it starts pguard, then waits.
    const launcher = spawn('setsid', ['sh', '-c', `"${process.execPath}" "${CLI}" start bot --no-wait; echo launched; sleep 60`], {
      env: { ...process.env, ...t.env }, stdio: ['ignore', 'pipe', 'inherit'], detached: false,
    });
    await new Promise((r) => launcher.stdout!.once('data', r));
    const pid = (await waitFor(async () => (await t.status('bot')).pid as number | null, { what: 'the pid' }))!;
    const launcherGroup = launcher.pid!;
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGKILL'] as const) { try { process.kill(-launcherGroup, sig); } catch { /* gone */ } }
    await waitFor(() => !isOurs(readIdentity(launcherGroup)), { what: 'the launcher to die' });
    const s = await t.status('bot');
    expect(s).toMatchObject({ status: 'running', pid });
  });

  it('records the exit code and the signal of runs that ended after the CLI had exited', async () => {
    const t = tmpRegistry({
      code: { command: `sh ${APPS}exit-with.sh 7 1.5`, auto_restart: false },
      killed: { command: forever, auto_restart: false },
    });
    expect((await t.cli(['start', 'code', 'killed', '--no-wait'])).code).toBe(0);
    const s = await waitFor(async () => { const x = await t.status('code'); return x.status === 'crashed' ? x : null; }, { what: 'code to exit' });
    expect(s.last_exit).toMatchObject({ code: 7, signal: null });
    expect(s.last_exit.ran_s).toBeGreaterThanOrEqual(1.4);
    const pid = (await waitFor(async () => (await t.status('killed')).pid as number | null))!;
    process.kill(pid, 'SIGKILL');
    const k = await waitFor(async () => { const x = await t.status('killed'); return x.status === 'crashed' ? x : null; }, { what: 'killed to be recorded' });
    expect(k.last_exit).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  it('stops a TERM-ignoring process with its children and grandchildren', async () => {
    const t = tmpRegistry({ stubborn: { command: `sh ${APPS}ignore-term.sh`, kill_timeout: 1 } });
    await t.cli(['start', 'stubborn', '--no-wait']);
    await waitFor(() => t.logOf('stubborn').includes('ignore-term started'));
    const { snapshotTree } = await import('../../src/effects/kill.js');
    const root = [...t.runs('stubborn').starts.values()][0]!.identity;
    const tree = await waitFor(async () => { const x = await snapshotTree(root); return x.length >= 4 ? x : null; });
    const res = await t.cli(['stop', 'stubborn']);
    expect(res.stdout).toMatch(/^stubborn stopped \(SIGTERM ignored for 1 s; sent SIGKILL to \d+ processes\)$/);
    for (const id of tree) expect(isOurs(id)).toBe(false);
    expect((await t.status('stubborn')).status).toBe('stopped');
  });

  it('never reports or signals an unrelated process that reuses a recorded PID', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(() => t.runs('bot').latest);
    await t.cli(['stop', 'bot']);
    // An unrelated process now holds the PID the records point to (we point them at it).
    const other = spawn('sleep', ['60'], { stdio: 'ignore', detached: true });
    try {
      const otherId = await waitFor(() => readIdentity(other.pid!));
      const procDir = join(t.stateDir, 'procs', 'bot');
      const rec = JSON.parse(readFileSync(join(procDir, 'state.json'), 'utf8'));
      const forged = { ...rec, status: 'running', runner: { ...otherId, startTime: '1' }, run: { id: `${rec.epoch}.9`, identity: { ...otherId, startTime: '1' }, startedAt: Date.now() } };
      writeFileSync(join(procDir, 'state.json'), JSON.stringify(forged));
      writeFileSync(join(procDir, 'runs.log'), `start ${rec.epoch}.9 ${other.pid} 1 ${otherId.bootId} ${Date.now()}\n`);
      const s = await t.status('bot');
      expect(s.status).not.toBe('running');
      expect(s.pid).toBeNull();
      await t.cli(['stop', 'bot']);
      expect(isOurs(otherId)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('concurrent starts of one name give exactly one instance', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const results = await Promise.all(Array.from({ length: 6 }, () => t.cli(['start', 'bot', '--no-wait'])));
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(results.filter((r) => r.stdout.includes('started')).length).toBe(1);
    await waitFor(() => t.runs('bot').latest);
    expect(t.runs('bot').starts.size).toBe(1);
  });

  it('reports a process that dies in the grace period, with its exit code and last log lines', async () => {
    const t = tmpRegistry({ bad: { command: `sh ${APPS}exit-with.sh 4`, auto_restart: false } });
    const res = await t.cli(['start', 'bad', '--wait', '2']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^✗ bad exited with code 4 after \d\.\d s, within its 2 s start check; not restarted \(auto_restart is off\)\n  last log lines:\n    exit-with 4 after 0s$/);
  });

  it('says what happens next to a start that died, and shows only this run\'s log lines (issue 21)', async () => {
    const t = tmpRegistry({ bad: { command: `echo run; exit 1`, restart_cooldown: 30, max_restarts: 5 } });
    const first = await t.cli(['start', 'bad']);
    expect(first.stdout).toMatch(/^✗ bad exited with code 1 after \d\.\d s, within its 1 s start check; (restarted at once, 4 more restarts|restarting in \d+ s \(restart_cooldown\), 3 more restarts) before it gives up; `pguard stop bad` stops it\n  last log lines:(\n    run){1,2}$/);
    await t.cli(['stop', 'bad']);
    const again = await t.cli(['start', 'bad']);
    // The earlier runs' lines are not shown again.
    const lines = again.stdout.split('\n').filter((l) => l === '    run').length;
    expect(lines).toBeGreaterThanOrEqual(1);
    expect(lines).toBeLessThanOrEqual(2);
  });

  it('watches several starts at once, not in turn', async () => {
    const t = tmpRegistry({ a: { command: forever }, b: { command: forever }, c: { command: forever } });
    const t0 = Date.now();
    const res = await t.cli(['start', '--all', '--wait', '2']);
    expect(res.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('refuses an unknown name with one line', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const res = await t.cli(['stop', 'nope']);
    expect(res).toMatchObject({ code: 1, stderr: `pguard: no process named "nope" in ${t.registry}. Known: bot.` });
  });

  it('refuses an unknown flag with one line and no stack', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const res = await t.cli(['status', '--bogus']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('pguard: unknown option "--bogus". See `pguard status --help`.');
  });

  it('deregister stops the process and removes it, its state and its logs', async () => {
    const t = tmpRegistry({ bot: { command: forever }, keep: { command: 'true' } });
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = (await waitFor(async () => (await t.status('bot')).pid as number | null))!;
    const id = readIdentity(pid)!;
    const res = await t.cli(['deregister', 'bot']);
    expect(res.code).toBe(0);
    expect(isOurs(id)).toBe(false);
    expect(Object.keys(JSON.parse(readFileSync(t.registry, 'utf8')))).toEqual(['keep']);
  });
});
