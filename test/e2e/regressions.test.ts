// Regressions found by running real stacks under pguard (and a chaos run), one test each, named
// after the failure, on real processes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOurs } from '../../src/effects/identity.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

function isAlive(pid: number): boolean {
  try {
    // A zombie is dead for this purpose: it holds nothing but its exit status.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function ledgerOf(t: ReturnType<typeof tmpRegistry>): { event: string; details: Record<string, any> }[] {
  try {
    return readFileSync(join(t.stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

const stateOf = async (t: ReturnType<typeof tmpRegistry>, name: string) => (await t.status(name)).status as string;

describe('regressions', () => {
  it('stops a SIGSTOPped process with its stop_signal, without SIGKILL (stopped-process regression)', async () => {
    const t = tmpRegistry({ frozen: { command: `trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done`, kill_timeout: 20 } });
    await t.cli(['start', 'frozen', '--no-wait']);
    await waitFor(() => t.logOf('frozen').includes('ready'));
    const pid = (await t.status('frozen')).pid as number;
    process.kill(-pid, 'SIGSTOP');
    const t0 = Date.now();
    const res = await t.cli(['stop', 'frozen']);
    expect(res.stdout).toBe('frozen stopped');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(t.logOf('frozen')).toContain('got TERM');
  });

  it('gives a program its stop_signal once, so a second SIGINT does not force-quit it (double-signal regression)', async () => {
    // Like uvicorn: the first SIGINT starts a graceful shutdown, a second one aborts it.
    const t = tmpRegistry({
      app: { command: `n=0; trap 'n=$((n+1)); echo "INT $n"; if [ $n -ge 2 ]; then echo aborted; exit 1; fi; (sleep 0.3; kill -USR1 $$) &' INT; trap 'echo graceful; exit 0' USR1; echo ready; while :; do sleep 0.05; done`, stop_signal: 'SIGINT', kill_timeout: 5 },
    });
    await t.cli(['start', 'app', '--no-wait']);
    await waitFor(() => t.logOf('app').includes('ready'));
    await t.cli(['stop', 'app']);
    expect(t.logOf('app')).toContain('graceful');
    expect(t.logOf('app')).not.toContain('INT 2');
  });

  it('retries a failed process a minute after it gave up, not an hour (flat-retry regression)', async () => {
    const t = tmpRegistry({ leak: { command: 'exit 1', max_restarts: 0 } });
    await t.cli(['start', 'leak', '--no-wait']);
    const s = await waitFor(async () => { const v = await t.status('leak'); return v.status === 'failed' ? v : null; });
    const failedAt = Date.parse(s.last_exit.ended_at);
    expect(Date.parse(s.next_restart_at) - failedAt).toBeGreaterThanOrEqual(59_000);
    expect(Date.parse(s.next_restart_at) - failedAt).toBeLessThanOrEqual(61_000);
  });

  it.each([
    ['a program that does not exist (exec path)', '/nonexistent/bin/serve --port 1', 'command not found: /nonexistent/bin/serve --port 1 (exit 127)'],
    ['a shell command that does not exist', 'cd /tmp && no-such-program-here', 'command not found: cd /tmp && no-such-program-here (exit 127)'],
    ['a file that cannot be executed', '/etc/passwd', 'command cannot be executed: /etc/passwd (exit 126'],
  ])('fails at once, with one critical alert and no restarts, %s (restart-loop-on-127 regression)', async (_what, command, says) => {
    const t = tmpRegistry({ broken: { command, restart_cooldown: 0 } });
    const res = await t.cli(['start', 'broken']);
    expect(res.code).toBe(1);
    const s = await waitFor(async () => { const v = await t.status('broken'); return v.status === 'failed' ? v : null; });
    expect(s.restarts).toBe(0);
    expect(s.reason).toContain(says);
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
    expect(alerts.map((a: { kind: string; severity: string }) => `${a.kind} ${a.severity}`)).toEqual(['failed critical']);
    expect(t.runs('broken').starts.size).toBe(1);
  });

  it('does not restart a program that exits with a code in no_restart_exit_codes', async () => {
    const t = tmpRegistry({ cfg: { command: 'echo "bad config"; exit 78', restart_cooldown: 0 } });
    await t.cli(['start', 'cfg', '--no-wait']);
    const s = await waitFor(async () => { const v = await t.status('cfg'); return v.status === 'failed' ? v : null; });
    expect(s.reason).toMatch(/^exited with code 78 after \d+\.\d s, one of its no_restart_exit_codes; not restarted$/);
    expect(t.runs('cfg').starts.size).toBe(1);
  });

  it('ends a child that ignores SIGTERM before restarting its dead parent, and says so in the ledger (two-instances regression)', async () => {
    const t = tmpRegistry({ pair: { command: `(trap '' TERM; exec sleep 1000) & echo "child $!"; wait`, kill_timeout: 1, restart_cooldown: 0 } });
    await t.cli(['start', 'pair', '--no-wait']);
    const child = Number(await waitFor(() => /child (\d+)/.exec(t.logOf('pair'))?.[1]));
    const shell = (await t.status('pair')).pid as number;
    process.kill(shell, 'SIGKILL');
    await waitFor(() => (t.runs('pair').starts.size >= 2 ? true : null), { what: 'the restart' });
    // The old child is gone (SIGKILL after kill_timeout), and the new run started after that.
    expect(isAlive(child)).toBe(false);
    const left = t.runs('pair').leftovers.get('1.1');
    expect(left).toMatchObject({ sigkilled: true });
    expect(left!.waitedMs).toBeGreaterThanOrEqual(1000);
    expect(t.runs('pair').starts.get('1.2')!.startedAt - t.runs('pair').exits.get('1.1')!.endedAt).toBeGreaterThanOrEqual(1000);
    const exitEvent = await waitFor(() => ledgerOf(t).find((e) => e.event === 'exit' && e.details.run === '1.1'));
    expect(exitEvent.details.leftovers).toMatchObject({ sigkill: true });
    // One instance: stop leaves nothing behind.
    await t.cli(['stop', 'pair']);
    const second = Number([...t.logOf('pair').matchAll(/child (\d+)/g)].at(-1)![1]);
    expect(isAlive(second)).toBe(false);
  });

  it('starts the new instance only once the old group is gone (held-port regression)', async () => {
    // The child takes 0.5 s to let go (of a port, a lock file) after SIGTERM; the parent dies early.
    const t = tmpRegistry({ srv: { command: `sh -c 'trap "sleep 0.5; echo released \$(date +%s%3N); exit 0" TERM; while :; do sleep 0.05; done' & echo "START $(date +%s%3N)"; sleep 0.3; exit 1`, restart_cooldown: 0, max_restarts: 1 } });
    await t.cli(['start', 'srv', '--no-wait']);
    await waitFor(() => (t.logOf('srv').match(/START/g)?.length ?? 0) >= 2 ? true : null, { what: 'the restart' });
    const released = Number(/released (\d+)/.exec(t.logOf('srv'))![1]);
    const starts = [...t.logOf('srv').matchAll(/START (\d+)/g)].map((m) => Number(m[1]));
    expect(starts[1]).toBeGreaterThanOrEqual(released);
  });

  it('ends what a run left behind when its runner died with it, before the backstop starts it again (backstop-leftovers regression)', async () => {
    const t = tmpRegistry({ crew: { command: 'sleep 1000 & echo "a $!"; sleep 1000 & echo "b $!"; wait', restart_cooldown: 0 } });
    await t.cli(['start', 'crew', '--no-wait']);
    await waitFor(() => /b \d+/.test(t.logOf('crew')));
    const a = Number(/a (\d+)/.exec(t.logOf('crew'))![1]);
    const b = Number(/b (\d+)/.exec(t.logOf('crew'))![1]);
    const rec = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'crew', 'state.json'), 'utf8'));
    const shell = (await t.status('crew')).pid as number;
    process.kill(rec.runner.pid, 'SIGKILL');
    process.kill(shell, 'SIGKILL');
    await waitFor(() => !isAlive(shell));
    expect(isAlive(a) && isAlive(b)).toBe(true);
    await t.cli(['healthcheck']);
    await waitFor(() => (!isAlive(a) && !isAlive(b) ? true : null), { what: 'the old members to be ended' });
    await waitFor(async () => ((await t.status('crew')).status === 'running' ? true : null));
    expect(t.runs('crew').leftovers.get('2.0')).toMatchObject({ sigkilled: false });
    await t.cli(['stop', 'crew']);
    const pids = [...t.logOf('crew').matchAll(/[ab] (\d+)/g)].map((m) => Number(m[1]));
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('leaves nothing running when stopped in the middle of fast restarts (missed-instance regression)', async () => {
    const t = tmpRegistry({ churn: { command: 'sleep 0.02', restart_cooldown: 0, max_restarts: 100000, min_uptime: 0 } });
    for (let round = 0; round < 3; round++) {
      await t.cli(['start', 'churn', '--no-wait']);
      const before = t.runs('churn').starts.size;
      await waitFor(() => (t.runs('churn').starts.size >= before + 4 ? true : null), { what: 'a few restarts' });
      const res = await t.cli(['stop', 'churn']);
      expect(res.code).toBe(0);
      const alive = [...t.runs('churn').starts.values()].filter((r) => isOurs(r.identity));
      expect(alive).toEqual([]);
      expect((await t.status('churn')).status).toBe('stopped');
      const rec = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'churn', 'state.json'), 'utf8'));
      expect(isOurs(rec.runner)).toBe(false);
    }
  });

  it('stops a process even when its state directory is full, and says so in one line (full-disk regression)', async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip('needs root to mount a small tmpfs as a full disk');
    const mnt = mkdtempSync(join(tmpdir(), 'pguard-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      rmSync(mnt, { recursive: true, force: true });
      return ctx.skip('cannot mount a tmpfs here');
    }
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    const env = { PGUARD_STATE_DIR: join(mnt, 'state') };
    let pids: number[] = [];
    try {
      await t.cli(['start', 'bot', '--no-wait'], { env });
      const s = await waitFor(async () => { const v = JSON.parse((await t.cli(['status', 'bot', '--json'], { env })).stdout)[0]; return v.pid ? v : null; });
      const runner = JSON.parse(readFileSync(join(mnt, 'state', 'procs', 'bot', 'state.json'), 'utf8')).runner.pid as number;
      pids = [s.pid, runner];
      // Fill the disk.
      try { for (let i = 0; ; i++) writeFileSync(join(mnt, `fill-${i}`), Buffer.alloc(64 * 1024)); } catch { /* full */ }
      const res = await t.cli(['stop', 'bot'], { env });
      expect(res.code).toBe(1);
      const errors = res.stderr.split('\n').filter((l) => l.startsWith('pguard:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^pguard: bot stopped, but its state could not be written \(ENOSPC: no space left on the device\)/);
      expect(res.stderr).not.toMatch(/unexpected error/);
      await waitFor(() => (!isAlive(s.pid) && !isAlive(runner) ? true : null), { what: 'the process and its runner to be gone' });
    } finally {
      for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      execFileSync('umount', [mnt], { stdio: 'ignore' });
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('keeps recovering every valid entry when one entry breaks the schema, and names the bad one in an alert (one-bad-entry regression)', async () => {
    const t = tmpRegistry({ good: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['start', 'good', '--no-wait']);
    const pid = await waitFor(async () => (await t.status('good')).pid as number | null);
    const runner = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'good', 'state.json'), 'utf8')).runner.pid as number;
    writeFileSync(t.registry, JSON.stringify({ good: { command: 'exec sleep 1000', restart_cooldown: 0 }, bad: { command: 'x', max_restarts: '5x' } }, null, 2));
    process.kill(runner, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid));
    const res = await t.cli(['healthcheck', '--json']);
    expect(res.code).toBe(2);
    const hc = JSON.parse(res.stdout);
    expect(hc.actions).toMatchObject([{ name: 'good', action: 'restarted' }]);
    expect(hc.invalid).toEqual([{ name: 'bad', issues: [`${t.registry}: "bad".max_restarts: expected a non-negative integer, got "5x" (string)`] }]);
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
    expect(alerts.filter((a: { kind: string }) => a.kind === 'registry-invalid')).toMatchObject([{
      process: 'bad', severity: 'critical',
      message: `${t.registry}: "bad" is not valid, so pguard does not start, check or restart it until it is fixed: max_restarts: expected a non-negative integer, got "5x" (string)`,
    }]);
    expect(isAlive(JSON.parse(readFileSync(join(t.stateDir, 'procs', 'good', 'state.json'), 'utf8')).runner.pid)).toBe(true);
  });

  it.each([
    ['lost', (file: string) => rmSync(file)],
    ['unreadable', (file: string) => writeFileSync(file, '{ not json')],
  ])('never starts a second instance when the state file is %s while the process runs (lost-record regression)', async (_how, damage) => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await waitFor(async () => (await t.status('bot')).pid as number | null);
    damage(join(t.stateDir, 'procs', 'bot', 'state.json'));
    const res = await t.cli(['start', 'bot']);
    expect(res).toMatchObject({ code: 0, stdout: `• bot is already running (pid ${pid})` });
    expect(t.runs('bot').starts.size).toBe(1);
    expect(await t.status('bot')).toMatchObject({ status: 'running', pid });
    // The runner was found again: a stop ends both, and the next start is a new runner generation.
    await t.cli(['stop', 'bot']);
    expect(isAlive(pid)).toBe(false);
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(() => (t.runs('bot').latest?.id === '2.1' ? true : null), { what: 'epoch 2' });
  });

  it('starts the runner in a transient systemd user scope where a user manager runs, and says so in info (logout-kills-all regression)', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    // A fake systemd-run that records its arguments, then runs the command as --scope does (exec).
    const bin = join(t.dir, 'bin');
    const runtime = join(t.dir, 'runtime');
    mkdirSync(bin);
    mkdirSync(join(runtime, 'systemd'), { recursive: true });
    writeFileSync(join(runtime, 'systemd', 'private'), '');
    const calls = join(t.dir, 'systemd-run.calls');
    writeFileSync(join(bin, 'systemd-run'), `#!/bin/sh\necho "$@" >> ${calls}\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}`, XDG_RUNTIME_DIR: runtime };
    const info = JSON.parse((await t.cli(['info', '--json'], { env })).stdout);
    expect(info.session_mode).toBe('systemd-user-scope');
    expect(typeof info.linger).toBe('string');
    await t.cli(['start', 'bot', '--no-wait'], { env });
    const pid = await waitFor(async () => (await t.status('bot')).pid as number | null);
    const args = readFileSync(calls, 'utf8').trim().split(' ');
    expect(args.slice(0, 4)).toEqual(['--user', '--scope', '--collect', '--quiet']);
    expect(args[4]).toMatch(/^--unit=pguard-[0-9a-f]{8}-bot-1$/);
    expect(args.slice(5, 7)).toEqual(['--', '/bin/sh']);
    expect(args[7]).toMatch(/bin\/pguard-runner\.sh$/);
    // The runner is systemd-run's own PID (exec): it is recorded and supervised as usual.
    const rec = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'bot', 'state.json'), 'utf8'));
    expect(readFileSync(`/proc/${rec.runner.pid}/cmdline`, 'utf8').split('\0')[1]).toMatch(/pguard-runner\.sh$/);
    expect(isAlive(pid)).toBe(true);
    // Without a user manager: setsid, as before.
    expect(JSON.parse((await t.cli(['info', '--json'])).stdout).session_mode).toBe('setsid');
  });

  it('keeps restarting when the arm cannot be used (a directory in its place): the runner asks instead (unusable-arm regression)', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await waitFor(async () => (await t.status('bot')).pid as number | null);
    const arm = join(t.stateDir, 'procs', 'bot', 'arm');
    rmSync(arm, { force: true });
    mkdirSync(arm);
    process.kill(pid, 'SIGKILL');
    const again = await waitFor(async () => { const p = (await t.status('bot')).pid; return p && p !== pid ? p : null; }, { what: 'the restart, by the slow path' });
    process.kill(again, 'SIGKILL');
    await waitFor(async () => { const p = (await t.status('bot')).pid; return p && p !== again ? p : null; }, { what: 'a second restart' });
    // The count lands with the runner's report, which follows a fast restart by 100 ms or more.
    await waitFor(async () => ((await t.status('bot')).restarts === 2 ? true : null), { what: 'the second restart to be counted' });
    expect((await t.status('bot')).restarts).toBe(2);
  });

  it('marks a generation known-good when the user stopped a stable run, so a broken edit is rolled back (stopped-never-known-good regression)', async () => {
    const t = tmpRegistry({ bot: { command: 'echo good; exec sleep 60', min_uptime: 1, max_restarts: 1, restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(() => t.logOf('bot').includes('good'));
    await waitFor(async () => ((await t.status('bot')).uptime_s >= 1.5 ? true : null), { what: 'a stable run' });
    await t.cli(['stop', 'bot']);
    const gens = JSON.parse((await t.cli(['history', 'bot', '--generations', '--json'])).stdout);
    expect(gens[0].known_good_at).not.toBeNull();
    await t.cli(['register', 'bot', 'echo broken; exit 3']);
    await t.cli(['start', 'bot', '--no-wait']);
    // The broken generation gives up, and the known-good one is put back and started.
    await waitFor(() => (JSON.parse(readFileSync(t.registry, 'utf8')).bot.command === 'echo good; exec sleep 60' ? true : null), { timeoutMs: 20_000, what: 'the rollback' });
    await waitFor(async () => ((await stateOf(t, 'bot')) === 'running' ? true : null), { timeoutMs: 20_000, what: 'the good one running' });
  });
});
