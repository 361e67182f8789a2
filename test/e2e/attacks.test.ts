// Another local user plays the attacker (setpriv --reuid=65534, where the suite runs as root; the
// tests skip with a message otherwise).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

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
});
