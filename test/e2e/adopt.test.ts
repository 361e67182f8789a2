// A process whose runner alone died (issue 20, defect 7). The next healthcheck or watch tick
// adopts it: a new runner (the next epoch) that did not start it watches it, and when it dies
// records its exit as vanished (no code: it was not its parent) and restarts it as after any exit,
// within about a second, without another healthcheck. A stop of an adopted process leaves nothing.
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOurs, readIdentity } from '../../src/effects/identity.js';
import { CLI } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

// This file's registries and state live under /tmp/pguard-adopt-* (tmpRegistry makes them in TMPDIR).
const root = mkdtempSync('/tmp/pguard-adopt-');
process.env.TMPDIR = root;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const forever = 'exec sleep 1000';

function record(t: TmpRegistry, name: string) {
  return JSON.parse(readFileSync(join(t.stateDir, 'procs', name, 'state.json'), 'utf8'));
}

/** Start `bot`, then SIGKILL its runner alone: its process runs on, unguarded. */
async function orphaned(t: TmpRegistry): Promise<{ pid: number; runner: number }> {
  await t.cli(['start', 'bot', '--no-wait']);
  const pid = await waitFor(async () => (await t.status('bot')).pid as number | null, { what: 'bot to run' });
  const rec = record(t, 'bot');
  process.kill(rec.runner.pid, 'SIGKILL');
  await waitFor(() => (!isOurs(rec.runner) ? true : null), { what: 'the runner to be gone' });
  expect(isOurs(t.runs('bot').latest!.identity)).toBe(true);
  expect(await t.status('bot')).toMatchObject({ status: 'running', pid, reason: 'its runner died; the next `pguard healthcheck` (or watch) adopts it' });
  return { pid, runner: rec.runner.pid };
}

/** The adoption as the record and the ledger tell it. */
function expectAdopted(t: TmpRegistry, pid: number, oldRunner: number) {
  const rec = record(t, 'bot');
  expect(rec.epoch).toBe(2);
  expect(rec.runner.pid).not.toBe(oldRunner);
  expect(isOurs(rec.runner)).toBe(true);
  expect(rec.run.id).toBe('1.1'); // the adopted run keeps its id
  const adopt = t.ledger().filter((e) => e.event === 'adopt');
  expect(adopt).toHaveLength(1);
  expect(adopt[0]!.details).toMatchObject({ run: '1.1', pid, old_runner_pid: oldRunner, runner_pid: rec.runner.pid, epoch: 2 });
  // Not a failure of the process: no alert.
  return rec;
}

/** SIGKILL the adopted process: back within ~1-2 s, with no healthcheck, exactly once. */
async function killAndExpectBack(t: TmpRegistry, pid: number) {
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  const next = await waitFor(() => t.runs('bot').starts.get('2.1') ?? null, { timeoutMs: 3_000, what: 'the adopting runner to start run 2.1' });
  expect(next.startedAt - killedAt).toBeLessThan(2_000);
  expect(next.identity.pid).not.toBe(pid);
  // The adopted run's exit: recorded by the adopting runner, without a code.
  expect(t.runs('bot').exits.get('1.1')).toMatchObject({ status: null });
  const s = await waitFor(async () => { const x = await t.status('bot'); return x.restarts === 1 ? x : null; }, { what: 'the report of the exit' });
  expect(s).toMatchObject({ status: 'running', pid: next.identity.pid, last_exit: { code: null, signal: null, vanished: true } });
  const exits = t.ledger().filter((e) => e.event === 'exit');
  expect(exits).toHaveLength(1);
  expect(exits[0]!.details).toMatchObject({ run: '1.1', vanished: true, code: null, outcome: 'running' });
  expect(t.ledger().filter((e) => e.event === 'restart')).toHaveLength(1);
  // One instance: only run 2.1 lives.
  expect([...t.runs('bot').starts.values()].filter((r) => isOurs(r.identity)).map((r) => r.id)).toEqual(['2.1']);
  const history = JSON.parse((await t.cli(['history', 'bot', '--json'])).stdout);
  expect(history.failures).toMatchObject([{ run: '1.1', action: 'restarted' }]);
}

describe('a process whose runner alone died', () => {
  it('is adopted by the next healthcheck, and its next death is recovered at once without another', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    const { pid, runner } = await orphaned(t);
    const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions).toMatchObject([{ name: 'bot', action: 'adopted' }]);
    expectAdopted(t, pid, runner);
    const s = await t.status('bot');
    expect(s).toMatchObject({ status: 'running', pid });
    expect(s.reason).toMatch(/adopted/);
    expect(JSON.parse((await t.cli(['alerts', '--json'])).stdout)).toEqual([]);
    // A second healthcheck changes nothing: the new runner is alive.
    expect(JSON.parse((await t.cli(['healthcheck', '--json'])).stdout).actions).toEqual([]);
    await killAndExpectBack(t, pid);
  });

  it('is adopted by a watch tick', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    const { pid, runner } = await orphaned(t);
    const watch = execa(process.execPath, [CLI, 'watch', '--foreground'], { env: t.env, reject: false });
    try {
      await waitFor(() => (t.ledger().some((e) => e.event === 'adopt') ? true : null), { timeoutMs: 15_000, what: 'watch to adopt it' });
    } finally {
      watch.kill('SIGTERM');
      await watch;
    }
    expectAdopted(t, pid, runner);
    await killAndExpectBack(t, pid);
  });

  it('is adopted again when the runner that adopted it dies too, and nothing of that runner is left', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    const { pid, runner } = await orphaned(t);
    await t.cli(['healthcheck']);
    const second = expectAdopted(t, pid, runner).runner;
    // What it waits with (its children: bash, or a sleep) ends with it.
    const children = () => execFileSync('ps', ['-o', 'pid=', '--ppid', String(second.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    const waiters = await waitFor(() => (children().length > 0 ? children() : null), { what: 'the adopting runner to wait' });
    process.kill(second.pid, 'SIGKILL');
    await waitFor(() => (waiters.every((w) => readIdentity(w) === null) ? true : null), { timeoutMs: 1_500, what: 'its waiter to end with it' });
    await t.cli(['healthcheck']);
    const rec = record(t, 'bot');
    expect(rec).toMatchObject({ epoch: 3, run: { id: '1.1' } });
    const adopts = t.ledger().filter((e) => e.event === 'adopt');
    expect(adopts.map((e) => [e.details.old_runner_pid, e.details.runner_pid])).toEqual([[runner, second.pid], [second.pid, rec.runner.pid]]);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => t.runs('bot').starts.get('3.1') ?? null, { timeoutMs: 3_000, what: 'run 3.1' });
    await waitFor(() => (t.ledger().some((e) => e.event === 'exit') ? true : null), { what: 'the exit to be reported' });
    expect(t.ledger().filter((e) => e.event === 'exit').map((e) => e.details.run)).toEqual(['1.1']);
  });

  it('is stopped with nothing left: its run, and the runner that adopted it', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    const { pid, runner } = await orphaned(t);
    await t.cli(['healthcheck']);
    const rec = expectAdopted(t, pid, runner);
    const res = await t.cli(['stop', 'bot']);
    expect(res.code).toBe(0);
    expect(isOurs(t.runs('bot').latest!.identity)).toBe(false);
    await waitFor(() => (!isOurs(rec.runner) ? true : null), { what: 'the adopting runner to exit' });
    expect(await t.status('bot')).toMatchObject({ status: 'stopped', pid: null });
    // Nothing restarted it.
    await new Promise((r) => setTimeout(r, 700));
    expect([...t.runs('bot').starts.keys()]).toEqual(['1.1']);
    expect(t.identities().filter(isOurs)).toEqual([]);
  });
});
