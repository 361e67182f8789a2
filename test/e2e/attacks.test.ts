// Another local user plays the attacker (setpriv --reuid=65534, where the suite runs as root; the
// tests skip with a message otherwise).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readIdentity } from '../../src/effects/identity.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

/** Run a shell command as `nobody`. */
function asNobody(script: string): void {
  execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', script]);
}

describe.skipIf(!isRoot)('another local user (as root, with nobody as the attacker)', () => {
  it('cannot plant a registry in a shared parent folder that root then runs (planted-registry regression)', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pguard-shared-'));
    dirs.push(shared);
    chmodSync(shared, 0o1777); // like /tmp, or a shared workspace
    const project = join(shared, 'project');
    mkdirSync(project);
    const pwned = join(shared, 'pwned');
    asNobody(`printf '{"evil": {"command": "touch ${pwned}"}}' > ${shared}/.process-registry.json`);
    const env = { PGUARD_STATE_DIR: join(project, 'state'), PGUARD_REGISTRY: undefined };
    const res = await runCli(['start', '--all'], { cwd: project, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`pguard: ${shared}/.process-registry.json: not trusted: it belongs to uid 65534, not to you (uid 0) or root; another user may have planted it. If it is yours to run, fix its owner or mode (chown, chmod go-w), or set PGUARD_TRUST_REGISTRY=${shared}/.process-registry.json.`);
    // Named explicitly, it is still checked.
    expect((await runCli(['status', '--registry', join(shared, '.process-registry.json')], { cwd: project, env })).code).toBe(2);
  });

  it('refuses a registry others can write, and one in a folder anyone can replace it in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-loose-'));
    dirs.push(dir);
    const file = join(dir, '.process-registry.json');
    writeFileSync(file, '{"bot": {"command": "true"}}');
    chmodSync(file, 0o664);
    const env = { PGUARD_STATE_DIR: join(dir, 'state') };
    const res = await runCli(['status', '--registry', file], { cwd: dir, env });
    expect(res).toMatchObject({ code: 2 });
    expect(res.stderr).toMatch(/not trusted: it is writable by its group \(mode 664\)/);
    // The override names the one registry it trusts.
    expect((await runCli(['status', '--registry', file], { cwd: dir, env: { ...env, PGUARD_TRUST_REGISTRY: file } })).code).toBe(0);
    // A folder of another user's that everyone can write (no sticky bit): anyone can swap the file.
    chmodSync(dir, 0o1777);
    const open = join(dir, 'open');
    asNobody(`mkdir ${open} && chmod 0777 ${open}`);
    const swapped = join(open, '.process-registry.json');
    writeFileSync(swapped, '{"bot": {"command": "true"}}');
    const loose = await runCli(['status', '--registry', swapped], { cwd: dir, env });
    expect(loose.code).toBe(2);
    expect(loose.stderr).toMatch(/not trusted: its folder is writable by everyone without the sticky bit, and not yours: anyone could replace it/);
  });

  it('follows no state-directory symlink another user planted, and chmods no shared folder (state-dir regression)', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pguard-shared-'));
    dirs.push(shared);
    chmodSync(shared, 0o1777);
    const project = mkdtempSync(join(tmpdir(), 'pguard-project-'));
    dirs.push(project);
    writeFileSync(join(project, '.process-registry.json'), '{"bot": {"command": "true"}}');
    const target = join(shared, 'victim');
    mkdirSync(target, { mode: 0o755 });
    asNobody(`ln -s ${target} ${shared}/state`);
    const res = await runCli(['status'], { cwd: project, env: { PGUARD_STATE_DIR: join(shared, 'state'), PGUARD_REGISTRY: undefined } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`pguard: ${shared}/state: the state directory is a symbolic link; pguard keeps its state only in a real folder of yours. Point PGUARD_STATE_DIR or $settings.state_dir at one.`);
    expect(statSync(target).mode & 0o777).toBe(0o755);
    // A shared folder (mode 1777, like /tmp) named as the state directory is refused, not chmodded.
    const open = await runCli(['status'], { cwd: project, env: { PGUARD_STATE_DIR: shared, PGUARD_REGISTRY: undefined } });
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/the state directory is open to everyone \(mode 1777\), and pguard did not make it: it will not chmod it/);
    expect(statSync(shared).mode & 0o7777).toBe(0o1777);
  });

});

describe('write failures', () => {
  it('refuses to replace a read-only (0444) registry, and leaves it as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-ro-'));
    dirs.push(dir);
    const file = join(dir, '.process-registry.json');
    writeFileSync(file, '{"bot": {"command": "true"}}');
    chmodSync(file, 0o444);
    const res = await runCli(['register', 'other', 'true', '--registry', file], { cwd: dir, env: { PGUARD_STATE_DIR: join(dir, 'state') } });
    expect(res).toMatchObject({ code: 1, stderr: `pguard: ${file}: the registry is read-only (mode 444): pguard will not replace it. Make it writable (chmod u+w) to change it.` });
    expect(readFileSync(file, 'utf8')).toBe('{"bot": {"command": "true"}}');
  });

  it('says in one line that a registry on a read-only mount cannot be written, and leaves no temp file (write-failure regression)', async (ctx) => {
    if (!isRoot) return ctx.skip('needs root to mount a read-only tmpfs');
    const mnt = mkdtempSync(join(tmpdir(), 'pguard-rofs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    } catch {
      rmSync(mnt, { recursive: true, force: true });
      return ctx.skip('cannot mount a tmpfs here');
    }
    try {
      const file = join(mnt, '.process-registry.json');
      writeFileSync(file, '{"bot": {"command": "true"}}');
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const state = mkdtempSync(join(tmpdir(), 'pguard-state-'));
      dirs.push(state);
      const res = await runCli(['register', 'other', 'true', '--registry', file], { cwd: state, env: { PGUARD_STATE_DIR: join(state, 's') } });
      expect(res.code).toBe(1);
      expect(res.stderr.split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/: (cannot write the registry \(EROFS: read-only file system\); it is unchanged\.|cannot open \(EROFS: read-only file system\)\.)$/);
      expect(res.stderr).not.toMatch(/unexpected error/);
      expect(readdirSync(mnt)).toEqual(['.process-registry.json']);
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
  it('cannot hold, reach or fake any of pguard\'s locks: the backstop recovers, register and stop go through (lock-squatting regression)', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['start', 'bot']);
    // The attacker binds every abstract name pguard used to lock with (visible in /proc/net/unix),
    // and keeps them: healthcheck used to say "ok, skipped" and recover nothing, register hang.
    const h = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
    const names = ['healthcheck', 'watch', 'alerts', 'ledger', 'proc-bot', 'dependents-bot'].map((n) => `pguard-${h(t.stateDir)}-${n}`);
    names.push(`pguard-${h(t.registry)}-registry`);
    const squatter = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e',
      `const net = require('net'); let n = 0; for (const k of ${JSON.stringify(names)}) net.createServer((s) => s.end(JSON.stringify({ pid: 1, since: 'x', what: 'squat' }))).listen({ path: '\\0' + k }, () => { if (++n === ${names.length}) console.log('squatting'); });`,
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitFor(() => new Promise<boolean | null>((r) => squatter.stdout!.once('data', () => r(true))), { what: 'the squatter' });
      // Nor can it reach the locks where they are now: the state directory is private.
      expect(() => asNobody(`ls ${t.stateDir}/locks`)).toThrow();
      const pid = await waitFor(() => t.runs('bot').latest?.identity.pid);
      // Without its runner, only the backstop can bring it back.
      const runner = JSON.parse(readFileSync(join(t.stateDir, 'procs', 'bot', 'state.json'), 'utf8')).runner.pid as number;
      process.kill(runner, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
      const hc = await t.cli(['healthcheck', '--json']);
      expect(JSON.parse(hc.stdout).skipped).toBeUndefined();
      await waitFor(async () => ((await t.status('bot')).status === 'running' ? true : null), { what: 'bot back' });
      expect((await t.cli(['register', 'other', 'exec sleep 1000'])).code).toBe(0);
      expect((await t.cli(['stop', 'bot'])).code).toBe(0);
      // No lock of pguard's is an abstract name any more: nothing of it shows in /proc/net/unix.
      const ours = readFileSync('/proc/net/unix', 'utf8').split('\n').filter((l) => l.includes('@pguard') && !names.some((n) => l.includes(n)));
      expect(ours).toEqual([]);
    } finally {
      squatter.kill('SIGKILL');
    }
  });

  it('signals no PID a lock holder claims unless it is this user\'s pguard watch (watch --stop regression)', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    await t.cli(['status']); // makes the state directory
    const victim = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '1000'], { stdio: 'ignore' });
    const mine = spawn('sleep', ['1000'], { stdio: 'ignore' });
    try {
      await waitFor(() => (readIdentity(victim.pid!) && readFileSync(`/proc/${victim.pid}/cmdline`, 'utf8').startsWith('sleep') ? true : null));
      for (const target of [victim.pid!, mine.pid!, 1]) {
        const id = readIdentity(target)!;
        // A holder that lies about who it is (only this user or root could bind it, in the private folder).
        const fake = spawn(process.execPath, ['-e', `const info = ${JSON.stringify(JSON.stringify({ pid: target, since: 'x', what: 'watch', startTime: id.startTime, bootId: id.bootId, uid: 0 }))}; require('net').createServer((s) => s.end(info)).listen(${JSON.stringify(join(t.stateDir, 'locks', 'watch.sock'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
        try {
          await new Promise((r) => fake.stdout!.once('data', r));
          const res = await t.cli(['watch', '--stop']);
          expect(res.code).toBe(1);
          expect(res.stderr).toBe(`pguard: the watch lock's holder says it is pid ${target}, which is not a pguard watch of yours: nothing was signalled.`);
          expect(readIdentity(target)).not.toBeNull();
        } finally {
          fake.kill('SIGKILL');
          await waitFor(() => fake.exitCode !== null || fake.signalCode !== null);
          rmSync(join(t.stateDir, 'locks', 'watch.sock'), { force: true });
        }
      }
    } finally {
      victim.kill('SIGKILL');
      mine.kill('SIGKILL');
    }
  });

});
