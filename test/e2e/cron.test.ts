// Against the real `crontab` command, on a throwaway user's table (`crontab -u nobody`, which needs
// root; PGUARD_CRONTAB_USER points pguard at it): the invoking user's crontab is never touched.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpRegistry as tmp } from '../helpers/tmp-registry.js';
import { cronDaemonRunning } from '../../src/effects/cron-daemon.js';
import { waitFor } from '../helpers/wait-for.js';

const USER = 'nobody';
const isRoot = process.getuid?.() === 0;
const crontab = (args: string[], input?: string) => execa('crontab', ['-u', USER, ...args], { reject: false, ...(input !== undefined ? { input } : {}) });
/** A registry whose CLI calls work on the throwaway user's crontab. */
function tmpRegistry(entries: Record<string, unknown>) {
  const t = tmp(entries);
  return { ...t, cli: (args: readonly string[]) => t.cli(args, { env: { PGUARD_CRONTAB_USER: USER } }) };
}

beforeAll(async () => { if (isRoot) await crontab(['-r']); });
afterAll(async () => { if (isRoot) await crontab(['-r']); });

describe.skipIf(!isRoot)('pguard cron (as root, on the crontab of a throwaway user)', () => {
  it('installs idempotently, keeps every other line byte for byte, and uninstalls only its own', async () => {
    const theirs = '# their jobs\nMAILTO=""\n0 3 * * *   /usr/bin/true   --nightly\n@daily echo hi >/dev/null\n';
    await crontab(['-'], theirs);
    const t = tmpRegistry({ bot: { command: 'true' } });
    const first = await t.cli(['cron', 'install', '--every', '5', '--boot']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^installed in your crontab:\n  \*\/5 \* \* \* \* \S*healthcheck\.sh \S+ \S+ \S+ \S+ \S+ healthcheck # pguard:[0-9a-f]{12}\n  @reboot \S*healthcheck\.sh .* boot # pguard:[0-9a-f]{12}$/);
    const again = await t.cli(['cron', 'install', '--every', '5', '--boot']);
    expect(again.stdout.split('\n')[0]).toBe('already installed:');
    const table = (await crontab(['-l'])).stdout + '\n';
    expect(table.startsWith(theirs)).toBe(true);
    expect(table.split('\n').filter((l) => l.includes('# pguard:'))).toHaveLength(2);
    const status = JSON.parse((await t.cli(['cron', 'status', '--json'])).stdout);
    expect(status).toMatchObject({ installed: true });
    expect(status.lines).toHaveLength(2);
    // The installed line works as cron would run it: absolute paths, output to the log.
    const line = status.lines[0].replace(/^\*\/5 \* \* \* \* /, '').replace(/ # pguard:.*$/, '');
    const ran = await execa('/bin/sh', ['-c', line], { env: { PATH: '/usr/bin:/bin' }, reject: false });
    expect(ran.exitCode).toBe(0);
    expect(existsSync(status.log)).toBe(true);
    expect(readFileSync(status.log, 'utf8')).toMatch(/healthcheck: 1 checked/);
    const un = await t.cli(['cron', 'uninstall']);
    expect(un.stdout).toBe('removed 2 line(s) from your crontab');
    expect((await crontab(['-l'])).stdout + '\n').toBe(theirs);
  });

  it('prints a systemd timer, a launchd agent and a scheduled task with absolute paths', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const systemd = await t.cli(['cron', 'install', '--print', '--format', 'systemd', '--every', '10']);
    expect(systemd.stdout).toContain(`ExecStart="${process.execPath}" `);
    expect(systemd.stdout).toContain(`healthcheck --registry "${t.registry}"`);
    expect(systemd.stdout).toContain('OnUnitActiveSec=10min');
    const launchd = await t.cli(['cron', 'install', '--print', '--format', 'launchd']);
    expect(launchd.stdout).toContain('<integer>300</integer>');
    const schtasks = await t.cli(['cron', 'install', '--print', '--format', 'schtasks']);
    expect(schtasks.stdout).toContain('<Interval>PT5M</Interval>');
    expect(`${systemd.stdout}${launchd.stdout}${schtasks.stdout}`).not.toContain('{{');
  });

  it.skipIf(cronDaemonRunning() !== false)('cron install warns when no daemon would run the line, and cron status --json says daemon_running', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    try {
      const res = await t.cli(['cron', 'install', '--boot']);
      expect(res.code).toBe(0);
      expect(res.stderr).toBe('pguard: warning: no cron daemon is running, so the crontab lines (@reboot included) will not run. Start one: `service cron start` (Debian/Ubuntu; `crond` elsewhere), or `systemctl enable --now cron`, which also starts it at boot.');
      const status = JSON.parse((await t.cli(['cron', 'status', '--json'])).stdout);
      expect(status).toMatchObject({ installed: true, daemon_running: false });
    } finally {
      await t.cli(['cron', 'uninstall']);
    }
  });

  // Here rather than with the other watch tests: test files run in parallel, and only this file
  // may touch the real crontab.
  it('cron install --watch turns on $settings.watch, keeping the registry format, and starts the watcher', async () => {
    const t = tmpRegistry({});
    writeFileSync(t.registry, '{\n    "bot": {\n        "command": "exec sleep 1000"\n    }\n}\n');
    try {
      const res = await t.cli(['cron', 'install', '--watch']);
      expect(res.stdout).toMatch(/\$settings\.watch is on; pguard watch started \(pid \d+\)$/);
      expect(readFileSync(t.registry, 'utf8')).toBe('{\n    "bot": {\n        "command": "exec sleep 1000"\n    },\n    "$settings": {\n        "watch": true\n    }\n}\n');
    } finally {
      await t.cli(['watch', '--stop']);
      await t.cli(['cron', 'uninstall']);
    }
  });

  it('refuses a folder name with a newline, which would write a crontab line of its own (crontab-injection regression)', async () => {
    const t = tmpRegistry({});
    const evil = join(t.dir, 'x\n* * * * * touch /tmp/pguard-pwned\n');
    mkdirSync(evil, { recursive: true });
    const registry = join(evil, '.process-registry.json');
    writeFileSync(registry, JSON.stringify({ bot: { command: 'true' } }));
    const before = (await crontab(['-l'])).stdout;
    const res = await t.cli(['cron', 'install', '--registry', registry]);
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toHaveLength(1); // the path is quoted as JSON: its newline shows as \n
    expect(res.stderr).toMatch(/^pguard: the registry path ".*\\n\* \* \* \* \* touch \/tmp\/pguard-pwned\\n\/\.process-registry\.json" holds a control character \("\\n"\)/);
    expect((await crontab(['-l'])).stdout).toBe(before);
    const print = await t.cli(['cron', 'install', '--print', '--format', 'systemd', '--registry', registry]);
    expect(print.code).toBe(2);
  });

  it('escapes a % in a folder name, which cron would turn into a newline (silent-backstop regression)', async () => {
    const t = tmpRegistry({});
    const odd = join(t.dir, "50% off 'sale'");
    mkdirSync(odd);
    const registry = join(odd, '.process-registry.json');
    writeFileSync(registry, JSON.stringify({ bot: { command: 'true' } }));
    const res = await t.cli(['cron', 'install', '--registry', registry]);
    expect(res.code).toBe(0);
    const line = (await crontab(['-l'])).stdout.split('\n').find((l) => l.includes('# pguard:'))!;
    expect(line).toContain('50\\% off');
    expect(line.replace(/\\%/g, '')).not.toContain('%');
    // As cron runs it: `\%` becomes `%`, the rest goes to /bin/sh.
    const command = line.replace(/^\S+ \S+ \S+ \S+ \S+ /, '').replace(/ # pguard:.*$/, '').replace(/\\%/g, '%');
    const ran = await execa('/bin/sh', ['-c', command], { env: { PATH: '/usr/bin:/bin' }, reject: false });
    expect(ran.exitCode).toBe(0);
    const systemd = await t.cli(['cron', 'install', '--print', '--format', 'systemd', '--registry', registry]);
    expect(systemd.stdout).toContain(`--registry "${registry.replace(/%/g, '%%')}"`);
    await t.cli(['cron', 'uninstall', '--registry', registry]);
  });

  it('writes one line per 5-field schedule (`fire NAME`, each argument quoted as the others), which fires it as cron runs it; intervals and seconds go to the healthcheck, and status says which', async () => {
    const t = tmpRegistry({
      'nightly.job-1': { command: 'echo nightly', schedule: '* * * * *' },
      pulse: { command: 'true', schedule: 'every 45s' },
      tick: { command: 'true', schedule: '*/10 * * * * *' },
      bot: { command: 'exec sleep 1000', restart_schedule: '@daily' },
    });
    try {
      await t.cli(['start', '--all', '--no-wait']);
      const res = await t.cli(['cron', 'install', '--every', '10']);
      expect(res.code).toBe(0);
      const lines = (await crontab(['-l'])).stdout.split('\n').filter((l) => l.includes('# pguard:'));
      expect(lines).toHaveLength(3);
      expect(lines[1]).toMatch(/^\* \* \* \* \* \S*healthcheck\.sh .* fire nightly\.job-1 # pguard:[0-9a-f]{12}$/);
      expect(lines[2]).toMatch(/^0 0 \* \* \* \S*healthcheck\.sh .* fire bot # pguard:[0-9a-f]{12}$/);
      const fired = Object.fromEntries(await Promise.all(['nightly.job-1', 'pulse', 'tick', 'bot'].map(async (n) => [n, (await t.status(n)).schedule.fired_by])));
      expect(fired).toEqual({ 'nightly.job-1': 'cron line', pulse: 'healthcheck every 10 min', tick: 'healthcheck every 10 min (a seconds field needs watch)', bot: 'cron line' });
      // The line as cron runs it, once its minute has come (the record armed a minute back).
      const file = join(t.stateDir, 'procs', 'nightly.job-1', 'state.json');
      const rec = JSON.parse(readFileSync(file, 'utf8'));
      const back = Math.floor(Date.now() / 60_000) * 60_000 - 1000;
      writeFileSync(file, JSON.stringify({ ...rec, schedule: { ...rec.schedule, armedAt: back, handledUpTo: back } }));
      const command = lines[1]!.replace(/^\S+ \S+ \S+ \S+ \S+ /, '').replace(/ # pguard:.*$/, '').replace(/\\%/g, '%');
      const ran = await execa('/bin/sh', ['-c', command], { env: { PATH: '/usr/bin:/bin' }, reject: false });
      expect(ran.exitCode).toBe(0);
      expect(readFileSync(join(t.stateDir, 'cron.log'), 'utf8')).toMatch(/fire nightly\.job-1: scheduled-run: scheduled run \(due /);
      await waitFor(async () => (await t.status('nightly.job-1')).schedule.last_run?.outcome === 'completed', { what: 'the run fired by the line' });
      await t.cli(['cron', 'uninstall']);
      expect((await t.status('pulse')).schedule.fired_by).toMatch(/^nothing: neither watch nor/);
    } finally {
      await t.cli(['cron', 'uninstall']);
      await t.cleanup();
    }
  });

  it('refuses a bad --every with one line', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const res = await t.cli(['cron', 'install', '--every', '0']);
    expect(res).toMatchObject({ code: 2, stderr: 'pguard: --every expects whole minutes from 1 to 60, got 0.' });
  });
});

// After the suite above (tests in a file run in turn): a stand-in daemon must not hide a missing one from it.
describe('the cron daemon check', () => {
  it('finds a cron daemon by its process name, and reports none when there is none', async () => {
    // A stand-in daemon: a copy of sleep named `cron` (its /proc comm is "cron").
    const t = tmpRegistry({});
    const fake = join(t.dir, 'cron');
    copyFileSync('/bin/sleep', fake);
    const before = cronDaemonRunning();
    const child = execa(fake, ['1000'], { reject: false });
    try {
      await waitFor(() => cronDaemonRunning() === true || null, { timeoutMs: 5000, what: 'the stand-in cron in /proc' });
    } finally {
      child.kill('SIGKILL');
      await child;
    }
    if (before === true) return; // a real cron runs here: the negative case cannot be seen
    expect(cronDaemonRunning()).toBe(false);
  });
});
