// `user` and `group` (issue 24) on real processes: started, restarted by the runner, probed and
// stopped as another user, through the CLI, where the suite runs as root (here and in CI); and
// refused, in one line, where pguard is not root (the CLI run as nobody through setpriv).
import { execa } from 'execa';
import { chmodSync, chownSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOurs } from '../../src/effects/identity.js';
import { APPS, CLI } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.geteuid?.() === 0;
const hasSetpriv = (await execa('sh', ['-c', 'command -v setpriv'], { reject: false })).exitCode === 0;
if (!isRoot || !hasSetpriv) {
  console.warn(`skipping the \`user\` tests: they need ${!isRoot ? 'root (switching users is root\'s)' : 'setpriv (util-linux)'}`);
}
const NOBODY = 65534;

async function getent(db: 'passwd' | 'group', key: string): Promise<string[] | null> {
  const res = await execa('getent', [db, key], { reject: false });
  return res.exitCode === 0 ? res.stdout.split('\n')[0]!.split(':') : null;
}

/** Uid, Gid (real, effective, saved, fs) and supplementary Groups of a live process, from /proc. */
function idsOf(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => (new RegExp(`^${k}:\\t(.*)$`, 'm').exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

function envOf(pid: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

async function livePid(t: TmpRegistry, name: string, not?: number): Promise<number> {
  return waitFor(async () => {
    const s = await t.status(name);
    return s.status === 'running' && typeof s.pid === 'number' && s.pid !== not ? (s.pid as number) : null;
  }, { what: `${name} running${not ? ` with a PID other than ${not}` : ''}` });
}

/** After stop: no runner, no run of this registry is alive (identities checked, by PID). */
function nothingLeft(t: TmpRegistry): boolean {
  return t.identities().filter(isOurs).length === 0;
}

describe.skipIf(!isRoot || !hasSetpriv)('user, where pguard runs as root', () => {
  it('starts, restarts (its runner, in the shell) and stops a program as its user: ids, groups, HOME/USER/LOGNAME/SHELL, its log; the state dir out of its reach', async () => {
    const t = tmpRegistry({});
    // Only the state directory's own mode (0700, root's) keeps the program out: its parent is open.
    chmodSync(t.dir, 0o755);
    chmodSync(t.registry, 0o600); // it will hold an env value: private already, so register has nothing to warn of
    const procDir = join(t.stateDir, 'procs', 'u');
    const targets = [join(t.stateDir, 'planted'), join(procDir, 'arm'), join(procDir, 'runs.log'), join(t.stateDir, 'logs', 'u.log')];
    const reg = await t.cli(['register', 'u', `sh ${APPS}whoami.sh ${targets.join(' ')}`, '--user', 'nobody', '--cwd', '/', '--restart-cooldown', '0', '--env', 'SHELL=/bin/dash']);
    expect(reg).toMatchObject({ code: 0, stdout: `registered u in ${t.registry}`, stderr: '' });
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).u).toMatchObject({ user: 'nobody', cwd: '/', restart_cooldown: 0 });

    expect((await t.cli(['start', 'u'])).code).toBe(0);
    const pid = await livePid(t, 'u');
    expect(idsOf(pid)).toEqual({ uid: [NOBODY, NOBODY, NOBODY, NOBODY], gid: [NOBODY, NOBODY, NOBODY, NOBODY], groups: [NOBODY] });
    // The account's variables, except where the entry's env sets one (SHELL); no runner variable.
    const env = envOf(pid);
    expect(env).toMatchObject({ HOME: '/nonexistent', USER: 'nobody', LOGNAME: 'nobody', SHELL: '/bin/dash' });
    expect(Object.keys(env).filter((k) => k.startsWith('PGUARD_RUN') || k === 'PGUARD_PROC_DIR')).toEqual([]);
    // The runner stays root's, with root's HOME (its on-exit finds root's files there).
    const runner = JSON.parse(readFileSync(join(procDir, 'state.json'), 'utf8')).runner.pid as number;
    expect(idsOf(runner).uid[0]).toBe(0);
    expect(envOf(runner).HOME).toBe(process.env.HOME);

    // It writes its log (opened before the switch), and nothing in the state directory.
    const denied = targets.map((f) => `denied ${f}`);
    await waitFor(() => denied.every((d) => t.logOf('u').includes(d)), { what: 'the program to try the files' });
    expect(existsSync(targets[0]!)).toBe(false);
    expect(statSync(t.stateDir).uid).toBe(0);
    expect(statSync(t.stateDir).mode & 0o777).toBe(0o700);
    const logs = await t.cli(['logs', 'u']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain(`ids ${NOBODY} ${NOBODY} HOME=/nonexistent USER=nobody LOGNAME=nobody SHELL=/bin/dash`);
    for (const d of denied) expect(logs.stdout).toContain(d);

    // A crash: its runner (the same, root's) restarts it as the same user: run EPOCH.2 of that runner.
    process.kill(pid, 'SIGKILL');
    const again = await livePid(t, 'u', pid);
    const [first, second] = [...t.runs('u').starts.values()];
    expect(second!.id).toBe(first!.id.replace(/\.1$/, '.2'));
    expect(JSON.parse(readFileSync(join(procDir, 'state.json'), 'utf8')).runner.pid).toBe(runner);
    expect(idsOf(again).uid).toEqual([NOBODY, NOBODY, NOBODY, NOBODY]);
    expect(envOf(again).HOME).toBe('/nonexistent');
    await waitFor(() => t.logOf('u').split('\n').filter((l) => l.startsWith(`ids ${NOBODY} `)).length === 2, { what: 'the second run\'s line in the log' });

    expect((await t.cli(['stop', 'u'])).code).toBe(0);
    await waitFor(() => nothingLeft(t), { what: 'every runner and run gone' });
    expect((await t.status('u')).status).toBe('stopped');
  });

  it('takes group as the primary group (a numeric user too); the supplementary groups stay the user\'s', async () => {
    const adm = await getent('group', 'adm');
    const group = adm ? 'adm' : 'nogroup';
    const gid = Number((adm ?? (await getent('group', 'nogroup')))![2]);
    const t = tmpRegistry({ g: { command: 'exec sleep 1000', user: NOBODY, group, cwd: '/' } });
    expect((await t.cli(['start', 'g'])).code).toBe(0);
    const ids = idsOf(await livePid(t, 'g'));
    expect(ids.uid).toEqual([NOBODY, NOBODY, NOBODY, NOBODY]);
    expect(ids.gid).toEqual([gid, gid, gid, gid]);
    expect(ids.groups).toContain(NOBODY); // nobody's own (initgroups), not root's 0
    expect(ids.groups).not.toContain(0);
  });

  it('gives the program its user\'s supplementary groups (initgroups)', async (ctx) => {
    // A user of this machine who is a member of a group other than its own primary one.
    const groups = (await execa('getent', ['group'], { reject: false })).stdout.split('\n').map((l) => l.split(':'));
    let pick: { user: string; gid: number } | null = null;
    for (const g of groups) {
      for (const member of (g[3] ?? '').split(',').filter(Boolean)) {
        const pw = await getent('passwd', member);
        if (pw && pw[2] !== '0') { pick = { user: member, gid: Number(g[2]) }; break; }
      }
      if (pick) break;
    }
    if (!pick) return ctx.skip(); // no such user on this machine
    const t = tmpRegistry({ s: { command: 'exec sleep 1000', user: pick.user, cwd: '/' } });
    expect((await t.cli(['start', 's'])).code).toBe(0);
    expect(idsOf(await livePid(t, 's')).groups).toContain(pick.gid);
  });

  it('runs an exec probe as the process\'s user, with its environment', async () => {
    const t = tmpRegistry({
      p: {
        command: 'exec sleep 1000', user: 'nobody', cwd: '/',
        health: [{ type: 'exec', command: `test "$(id -u)" = ${NOBODY} && test "$HOME" = /nonexistent || { echo "as $(id -u) HOME=$HOME"; exit 3; }`, failure_threshold: 1, grace: 0 }],
      },
    });
    expect((await t.cli(['start', 'p'])).code).toBe(0);
    const pid = await livePid(t, 'p');
    const hc = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
    expect(hc.actions).toEqual([]);
    expect((await t.status('p')).health).toEqual([expect.objectContaining({ ok: true, detail: 'exit 0' })]);
    expect((await t.status('p')).pid).toBe(pid);
  });

  it('fails only the process whose user or group does not exist, in one line each, and the start exits 1', async () => {
    const t = tmpRegistry({
      good: { command: 'exec sleep 1000' },
      bad: { command: 'exec sleep 1000', user: 'pguard-no-such-user' },
      badgroup: { command: 'exec sleep 1000', user: 'nobody', group: 'pguard-no-such-group' },
    });
    const res = await t.cli(['start', '--all']);
    expect(res.code).toBe(1);
    expect(res.stdout.split('\n').filter((l) => l.startsWith('✗')).sort()).toEqual([
      '✗ bad not started: "bad".user: no user "pguard-no-such-user" on this machine (getent passwd). Create it, or change user in the registry.',
      '✗ badgroup not started: "badgroup".group: no group "pguard-no-such-group" on this machine (getent group). Create it, or change group in the registry.',
    ]);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect((await t.status('good')).status).toBe('running');
    expect((await t.status('bad')).status).toBe('never-started');
    expect(readdirSync(join(t.stateDir, 'procs')).filter((n) => t.runs(n).latest !== null)).toEqual(['good']);
  });

  it('refuses, in one line, a user it cannot switch to without setpriv (none on PATH)', async () => {
    const t = tmpRegistry({ u: { command: 'exec sleep 1000', user: 'nobody' } });
    // Nor getent: the accounts are then read from /etc/passwd itself.
    const res = await t.cli(['start', 'u'], { env: { PATH: join(t.dir, 'empty') } });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('✗ u not started: "u".user: starting a process as nobody needs setpriv (util-linux), which is not on PATH. Install util-linux, or remove user.');
    expect(t.runs('u').latest).toBeNull();
  });

  it('refuses a shape that is no user or group, and group without user, naming the field', async () => {
    const t = tmpRegistry({});
    const bad = await t.cli(['register', 'x', 'sleep 1', '--user', 'no body']);
    expect(bad).toMatchObject({ code: 2, stderr: `pguard: ${t.registry}: "x".user: expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id, got "no body" (string)` });
    const alone = await t.cli(['register', 'x', 'sleep 1', '--group', 'adm']);
    expect(alone).toMatchObject({ code: 2, stderr: `pguard: ${t.registry}: "x".group: needs user (the group is that of the user the program runs as); add user, or remove group` });
  });
});

// nobody must be able to run this checkout's CLI (not so under a private home folder).
const nobodyCanRun = isRoot && hasSetpriv && (await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(CLI)}, require('fs').constants.R_OK)`], { reject: false })).exitCode === 0;
if (isRoot && hasSetpriv && !nobodyCanRun) console.warn(`skipping the \`user\` test as nobody: nobody cannot read ${CLI}`);

describe.skipIf(!nobodyCanRun)('user, where pguard does not run as root (the CLI as nobody)', () => {
  it('refuses another user at start in one line; its own user is a no-op; register accepts another and says so once', async () => {
    const t = tmpRegistry({
      r: { command: 'exec sleep 1000', user: 'root' },
      me: { command: 'exec sleep 1000', user: 'nobody', cwd: '/' },
    });
    // A folder of nobody's own for its registry and state.
    for (const p of [t.dir, t.registry, t.stateDir]) chownSync(p, NOBODY, NOBODY);
    const asNobody = (args: string[]) => execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, CLI, ...args], {
      cwd: t.dir, reject: false, timeout: 60_000,
      env: { ...t.env, NO_COLOR: '1', HOME: t.dir, XDG_STATE_HOME: join(t.dir, 'xdg'), PATH: process.env.PATH },
    });
    const r = await asNobody(['start', 'r']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('✗ r not started: "r".user: pguard runs as nobody; only root can start a process as root. Run pguard as root, or remove user.');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(t.runs('r').latest).toBeNull();

    const me = await asNobody(['start', 'me']);
    expect(me.exitCode).toBe(0);
    const pid = await waitFor(() => t.runs('me').latest?.identity.pid);
    expect(idsOf(pid).uid).toEqual([NOBODY, NOBODY, NOBODY, NOBODY]);

    const reg = await asNobody(['register', 'web', 'sleep 1', '--user', 'www-data']);
    expect(reg.exitCode).toBe(0);
    expect(reg.stderr).toBe('pguard: note: only root can start web (as www-data): pguard runs as nobody, so `pguard start` will refuse it here.');
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).web).toEqual({ command: 'sleep 1', user: 'www-data' });
    expect((await asNobody(['stop', 'me'])).exitCode).toBe(0);
    await waitFor(() => nothingLeft(t), { what: 'every runner and run gone' });
  });
});
