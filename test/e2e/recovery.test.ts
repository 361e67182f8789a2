import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOurs, readIdentity } from '../../src/effects/identity.js';
import { APPS } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';
import { localHttpServer } from '../helpers/local-server.js';

const forever = `sh ${APPS}forever.sh`;

async function pidOf(t: TmpRegistry, name: string): Promise<number> {
  return waitFor(async () => (await t.status(name)).pid as number | null, { what: `${name} to run` });
}

async function statusBecomes(t: TmpRegistry, name: string, status: string, timeoutMs = 15_000) {
  return waitFor(async () => { const s = await t.status(name); return s.status === status ? s : null; }, { timeoutMs, what: `${name} to be ${status}` });
}

function record(t: TmpRegistry, name: string) {
  return JSON.parse(readFileSync(join(t.stateDir, 'procs', name, 'state.json'), 'utf8'));
}

describe('event-driven recovery', () => {
  it('restarts a premature death at once, and raises an alert with its evidence', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await pidOf(t, 'bot');
    await waitFor(() => t.logOf('bot').includes('forever started'));
    process.kill(pid, 'SIGKILL');
    const s = await waitFor(async () => { const x = await t.status('bot'); return x.pid && x.pid !== pid && x.restarts === 1 ? x : null; }, { what: 'a new instance' });
    expect(s.status).toBe('running');
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ process: 'bot', kind: 'crashed', acknowledged: false, evidence: { signal: 'SIGKILL', restarts: 1, action: 'restarted' } });
    expect(alerts[0].message).toMatch(/^killed by SIGKILL after \d+\.\d s; restarted at once \(restart 1 of 5\)$/);
    expect(alerts[0].evidence.log_tail.some((l: string) => l.startsWith('forever started'))).toBe(true);
    expect(existsSync(join(t.stateDir, 'alert.flag'))).toBe(true);
  });

  it('leaves a normal completion alone (fractional duration_min)', async () => {
    // 0.02 min = 1.2 s; exit 0 after 1.1 s is past 80% of it.
    const t = tmpRegistry({ job: { command: `sh ${APPS}exit-with.sh 0 1.1`, duration_min: 0.02 } });
    await t.cli(['start', 'job', '--no-wait']);
    const s = await statusBecomes(t, 'job', 'completed');
    expect(s.last_exit).toMatchObject({ code: 0 });
    expect(t.runs('job').starts.size).toBe(1);
    expect(JSON.parse((await t.cli(['alerts', '--json'])).stdout)).toEqual([]);
  });

  it('gives up after max_restarts with a critical alert, and a manual start resets the budget', async () => {
    const t = tmpRegistry({ flaky: { command: `sh ${APPS}exit-with.sh 1`, max_restarts: 2, restart_cooldown: 0 } });
    await t.cli(['start', 'flaky', '--no-wait']);
    const s = await statusBecomes(t, 'flaky', 'failed');
    expect(s.restarts).toBe(2);
    expect(t.runs('flaky').starts.size).toBe(3);
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
    expect(alerts.map((a: { kind: string }) => a.kind)).toEqual(['crashed', 'failed']);
    expect(alerts[1].severity).toBe('critical');
    expect(alerts[1].message).toMatch(/^exited with code 1 after \d\.\d s; gave up after 2 restarts \(max_restarts 2\)$/);
    const hc = await t.cli(['healthcheck', '--json']);
    expect(hc.code).toBe(1);
    expect(JSON.parse(hc.stdout).problems).toEqual([{ name: 'flaky', status: 'failed', reason: alerts[1].message }]);
    await t.cli(['start', 'flaky', '--no-wait']);
    await statusBecomes(t, 'flaky', 'failed');
    expect(t.runs('flaky').starts.size).toBe(6);
  });

  it('spaces automatic restarts by restart_cooldown, the first one immediate', async () => {
    const t = tmpRegistry({ flaky: { command: `sh ${APPS}exit-with.sh 1`, max_restarts: 3, restart_cooldown: 1.5 } });
    await t.cli(['start', 'flaky', '--no-wait']);
    await statusBecomes(t, 'flaky', 'failed');
    const starts = [...t.runs('flaky').starts.values()].map((r) => r.startedAt);
    const exits = [...t.runs('flaky').exits.values()].map((e) => e.endedAt);
    expect(starts).toHaveLength(4);
    expect(starts[1]! - exits[0]!).toBeLessThan(500); // first restart: at once
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(1500);
    expect(starts[3]! - starts[2]!).toBeGreaterThanOrEqual(1500);
    expect(starts[3]! - starts[1]!).toBeLessThan(3000 + 1000);
  });

  it('does not restart or alert a process the user stopped', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    await t.cli(['start', 'bot', '--no-wait']);
    await pidOf(t, 'bot');
    await t.cli(['stop', 'bot']);
    const hc = await t.cli(['healthcheck', '--json']);
    expect(JSON.parse(hc.stdout)).toMatchObject({ ok: true, actions: [], counts: { stopped: 1 } });
    expect((await t.status('bot')).status).toBe('stopped');
    expect(t.runs('bot').starts.size).toBe(1);
    expect(JSON.parse((await t.cli(['alerts', '--json'])).stdout)).toEqual([]);
  });

  it('does not restart with auto_restart off, but says so in an alert', async () => {
    const t = tmpRegistry({ bot: { command: `sh ${APPS}exit-with.sh 3`, auto_restart: false } });
    await t.cli(['start', 'bot', '--no-wait']);
    const s = await waitFor(async () => { const x = await t.status('bot'); return x.reason.includes('auto_restart') ? x : null; });
    expect(s.status).toBe('crashed');
    expect(s.reason).toMatch(/^exited with code 3 after \d\.\d s; auto_restart is off$/);
    const alerts = await waitFor(async () => { const a = JSON.parse((await t.cli(['alerts', '--json'])).stdout); return a.length ? a : null; });
    expect(alerts[0].message).toMatch(/^exited with code 3 after \d\.\d s; not restarted \(auto_restart is off\)$/);
  });
});

describe('healthcheck: the cron backstop', () => {
  async function killRunnerAndGroup(t: TmpRegistry, name: string) {
    const rec = record(t, name);
    const pid = await pidOf(t, name);
    const runner = readIdentity(rec.runner.pid)!;
    const proc = readIdentity(pid)!;
    process.kill(rec.runner.pid, 'SIGKILL');
    process.kill(-pid, 'SIGKILL');
    await waitFor(() => !isOurs(runner) && !isOurs(proc), { what: 'runner and process to die' });
    return pid;
  }

  it('recovers a process that died together with its runner', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await killRunnerAndGroup(t, 'bot');
    expect((await t.status('bot')).status).toBe('crashed');
    const hc = await t.cli(['healthcheck', '--json']);
    const summary = JSON.parse(hc.stdout);
    expect(summary.actions).toEqual([{ name: 'bot', action: 'restarted', detail: 'vanished with its runner after ' + summary.actions[0].detail.split('after ')[1] }]);
    expect(summary.actions[0].detail).toMatch(/restarting at once$/);
    const s = await waitFor(async () => { const x = await t.status('bot'); return x.pid && x.pid !== pid ? x : null; });
    expect(s).toMatchObject({ status: 'running', restarts: 1, last_exit: { vanished: true } });
  });

  it('five concurrent healthchecks bring up exactly one new instance', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    await killRunnerAndGroup(t, 'bot');
    const results = await Promise.all(Array.from({ length: 5 }, () => t.cli(['healthcheck', '--json', '--wait', '5'])));
    const restarted = results.flatMap((r) => JSON.parse(r.stdout).actions ?? []).filter((a: { action: string }) => a.action === 'restarted');
    expect(restarted).toHaveLength(1);
    await pidOf(t, 'bot');
    await waitFor(() => t.runs('bot').starts.size === 2);
    expect(t.runs('bot').starts.size).toBe(2);
    expect(record(t, 'bot').epoch).toBe(2);
  });

  it('retries a failed process after $settings.failed_retry, and raises recovered once it is stable', async () => {
    const t = tmpRegistry({
      $settings: { failed_retry: 1 },
      bot: { command: `test -e go && exec sh ${APPS}forever.sh; exit 1`, max_restarts: 0, min_uptime: 1 },
    });
    await t.cli(['start', 'bot', '--no-wait']);
    await statusBecomes(t, 'bot', 'failed');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(t.dir, 'go'), '');
    await waitFor(async () => JSON.parse((await t.cli(['healthcheck', '--json'])).stdout).actions.some((a: { action: string }) => a.action === 'restarted'), { what: 'a retry', timeoutMs: 5000 });
    await pidOf(t, 'bot');
    const kinds = await waitFor(async () => {
      await t.cli(['healthcheck']);
      const a = JSON.parse((await t.cli(['alerts', '--json'])).stdout).map((x: { kind: string }) => x.kind);
      return a.includes('recovered') ? a : null;
    }, { what: 'a recovered alert' });
    expect(kinds).toEqual(['failed', 'recovered']);
  });

  it('raises an overrun past 1.5 x duration_min and leaves the process running', async () => {
    const t = tmpRegistry({ job: { command: forever, duration_min: 0.01 } });
    await t.cli(['start', 'job', '--no-wait']);
    const pid = await pidOf(t, 'job');
    const alerts = await waitFor(async () => {
      await t.cli(['healthcheck']);
      const a = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
      return a.length ? a : null;
    }, { what: 'an overrun alert' });
    expect(alerts[0]).toMatchObject({ kind: 'overrun', process: 'job' });
    expect((await t.status('job')).pid).toBe(pid);
  });

  it('rotates a log past log_max_mb, keeping log_keep files', async () => {
    const t = tmpRegistry({ noisy: { command: 'while :; do echo 0123456789012345678901234567890123456789; done', log_max_mb: 0.01, log_keep: 2 } });
    await t.cli(['start', 'noisy', '--no-wait']);
    const log = join(t.stateDir, 'logs', 'noisy.log');
    for (let i = 0; i < 3; i++) {
      await waitFor(() => existsSync(log) && statSync(log).size > 11_000);
      await t.cli(['healthcheck']);
    }
    expect(existsSync(`${log}.1`)).toBe(true);
    expect(existsSync(`${log}.2`)).toBe(true);
    expect(existsSync(`${log}.3`)).toBe(false);
  });
});

describe('alerts for agents', () => {
  it('raises the flag file, and ack clears it', async () => {
    const t = tmpRegistry({ bot: { command: `sh ${APPS}exit-with.sh 1`, auto_restart: false } });
    await t.cli(['start', 'bot', '--no-wait']);
    const flag = join(t.stateDir, 'alert.flag');
    await waitFor(() => existsSync(flag), { what: 'the flag file' });
    expect(readFileSync(join(t.stateDir, 'alert.txt'), 'utf8')).toMatch(/^pguard: 1 unacknowledged alert \(pguard alerts; pguard alerts ack --all\)\n\n\[WARNING\] \S+ bot crashed \(id [0-9a-f]{8}\)\n  exited with code 1/);
    const [alert] = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
    expect(Object.keys(alert)).toEqual(expect.arrayContaining(['id', 'at', 'process', 'kind', 'message', 'acknowledged']));
    const unknown = await t.cli(['alerts', 'ack', 'nope']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'pguard: no alert with id nope. List them with `pguard alerts --all`.' });
    const ack = await t.cli(['alerts', 'ack', alert.id]);
    expect(ack.stdout).toBe('acknowledged 1; 0 unacknowledged left (alert flag cleared)');
    expect(existsSync(flag)).toBe(false);
    expect(JSON.parse((await t.cli(['alerts', '--json', '--all'])).stdout)[0].acknowledged).toBe(true);
  });

  it('moves the flag files where $settings says', async () => {
    const t = tmpRegistry({});
    const flag = join(t.dir, 'custom.flag');
    const text = join(t.dir, 'custom.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(t.registry, JSON.stringify({ $settings: { alert_flag: flag, alert_text: text }, bot: { command: 'exit 2', auto_restart: false } }));
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(() => existsSync(flag) && existsSync(text));
  });

  it('notifies the command channel once within alert_cooldown, and posts to a webhook on 127.0.0.1', async () => {
    const received: unknown[] = [];
    const server = await localHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => { received.push(JSON.parse(body)); res.end('ok'); });
    });
    try {
      const t = tmpRegistry({});
      const out = join(t.dir, 'notified.jsonl');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(t.registry, JSON.stringify({
        $settings: { webhook: `${server.url}/hook`, notify_command: `cat >> ${out}`, alert_cooldown: 600 },
        bot: { command: forever, restart_cooldown: 0 },
      }));
      await t.cli(['start', 'bot', '--no-wait']);
      let pid = await pidOf(t, 'bot');
      process.kill(pid, 'SIGKILL');
      await waitFor(() => existsSync(out) && received.length === 1, { what: 'the first notification' });
      pid = await waitFor(async () => { const p = (await t.status('bot')).pid; return p && p !== pid ? p : null; });
      process.kill(pid, 'SIGKILL');
      const alerts = await waitFor(async () => { const a = JSON.parse((await t.cli(['alerts', '--json'])).stdout); return a[0]?.count === 2 ? a : null; }, { what: 'the repeat to be counted' });
      expect(alerts).toHaveLength(1);
      await waitFor(async () => (await t.status('bot')).restarts === 2);
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ process: 'bot', kind: 'crashed', evidence: { signal: 'SIGKILL' } });
      // Each alert carries the ledger's head, so a copy of it lives off this machine.
      const head = (received[0] as { ledger_head: string }).ledger_head;
      expect(head).toMatch(/^\d+:[0-9a-f]{64}$/);
      expect(JSON.parse(readFileSync(out, 'utf8')).ledger_head).toMatch(/^\d+:[0-9a-f]{64}$/);
      const verified = await t.cli(['audit', 'verify', '--expect', head]);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain(`entry ${head.split(':')[0]} is the one you anchored`);
    } finally {
      await server.close();
    }
  });

  it('keeps the channels\' failures in notify.log, shows the last one in info, and caps evidence at 10 lines of 500 bytes', async () => {
    const t = tmpRegistry({});
    const { writeFileSync } = await import('node:fs');
    writeFileSync(t.registry, JSON.stringify({
      $settings: { webhook: 'http://127.0.0.1:9/hook' },
      loud: { command: `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; printf '%3000s\\n' x | tr ' ' y; printf 'é%.0s' $(seq 400); echo; exit 1`, auto_restart: false },
    }));
    await t.cli(['start', 'loud', '--no-wait']);
    const info = await waitFor(async () => {
      const i = JSON.parse((await t.cli(['info', '--json'])).stdout);
      return i.last_notify_failure !== 'none' ? i : null;
    }, { timeoutMs: 20_000, what: 'the webhook failure to be noted' });
    expect(info.last_notify_failure).toMatch(/webhook for loud crashed failed after 3 attempts/);
    expect(readFileSync(join(t.stateDir, 'notify.log'), 'utf8')).toMatch(/webhook for loud crashed failed/);
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
    const tail: string[] = alerts[0].evidence.log_tail;
    expect(tail.some((l) => l.startsWith('yyyy'))).toBe(true);
    expect(tail).toHaveLength(10);
    for (const l of tail) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(500);
    // Cut on a character boundary: 'é' is 2 bytes, never split.
    expect(tail.at(-1)).toBe(`${'é'.repeat(248)}…`);
  });
});
