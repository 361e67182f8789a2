// Issue 22, round two: another local user plays the attacker (setpriv --reuid=65534, where the
// suite runs as root; the tests skip with a message otherwise). The env_file a registry names, the
// secrets a registry holds, and every folder above the state directory: only the user's own.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

/** Run a shell command as `nobody`. */
function asNobody(script: string): void {
  execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', script], { stdio: 'ignore' });
}

/** A folder anyone can write in, like /tmp (mode 1777, root's): where the attacker plants things. */
function sharedFolder(): string {
  const shared = mkdtempSync(join(tmpdir(), 'pguard-shared-'));
  dirs.push(shared);
  chmodSync(shared, 0o1777);
  return shared;
}

const modeOf = (file: string) => statSync(file).mode & 0o7777;

if (!isRoot) {
  describe('another local user, round two', () => {
    it.skip('needs root: the attacker is played by nobody (setpriv --reuid=65534)', () => undefined);
  });
}

describe.skipIf(!isRoot)('another local user, round two (as root, with nobody as the attacker)', () => {
  it('runs nothing with an env_file another user owns: that process alone is refused, named, and the others start (env_file-owner regression)', async () => {
    const shared = sharedFolder();
    const ranAs = join(shared, 'ran-as');
    // nobody's env file puts nobody's folder first on PATH, where a `sleep` of theirs waits.
    asNobody([
      `mkdir ${shared}/bin`,
      `printf '#!/bin/sh\\nid -u > ${ranAs}\\nexec /bin/sleep "$@"\\n' > ${shared}/bin/sleep`,
      `chmod 755 ${shared}/bin/sleep`,
      `printf 'PATH=${shared}/bin:/usr/local/bin:/usr/bin:/bin\\n' > ${shared}/their.env`,
    ].join(' && '));
    const envFile = join(shared, 'their.env');
    const t = tmpRegistry({
      victim: { command: 'exec sleep 1000', env_file: envFile },
      other: { command: 'exec /bin/sleep 1000' },
    });
    const res = await t.cli(['start', '--all']);
    expect(res.code).toBe(1);
    expect(res.stdout.split('\n')).toContain(`✗ victim not started: "victim".env_file: ${envFile}: not trusted: it belongs to uid 65534, not to you (uid 0) or root; another user may have planted it. If it is yours to use, fix its owner or mode (chown, chmod go-w), or set PGUARD_TRUST_REGISTRY=${envFile}.`);
    expect(res.stdout).toMatch(/✓ other started \(pid \d+\)/);
    expect(res.stderr).not.toMatch(/\n {4}at /); // no stack
    expect((await t.status('victim')).status).toBe('never-started');
    expect((await t.status('other')).status).toBe('running');
    expect(existsSync(ranAs)).toBe(false);
    // Named on its own, it is refused the same way, in one line.
    const one = await t.cli(['start', 'victim']);
    expect(one.code).toBe(1);
    expect(one.stdout).toMatch(/^✗ victim not started: "victim"\.env_file: .*: not trusted: it belongs to uid 65534/);
    expect(existsSync(ranAs)).toBe(false);
  });

  it('refuses an env_file others can write, or one in a folder anyone can replace it in; PGUARD_TRUST_REGISTRY=<that file> trusts it anyway', async () => {
    const t = tmpRegistry({});
    const loose = join(t.dir, 'loose.env');
    writeFileSync(loose, 'GREETING=hello\n');
    chmodSync(loose, 0o666);
    // A folder of nobody's that anyone can write (no sticky bit): anyone can swap a file in it.
    const open = join(sharedFolder(), 'open');
    asNobody(`mkdir -m 777 ${open}`);
    const swapped = join(open, 'swapped.env');
    writeFileSync(swapped, 'GREETING=hello\n');
    writeFileSync(t.registry, JSON.stringify({
      a: { command: 'echo "a says $GREETING"; exec /bin/sleep 1000', env_file: 'loose.env' },
      b: { command: 'echo "b says $GREETING"; exec /bin/sleep 1000', env_file: swapped },
    }));
    const res = await t.cli(['start', '--all', '--json']);
    expect(res.code).toBe(1);
    const results = JSON.parse(res.stdout) as { name: string; outcome: string; message: string }[];
    expect(results.find((r) => r.name === 'a')).toMatchObject({ outcome: 'not-started', message: expect.stringContaining(`${loose}: not trusted: it is writable by everyone (mode 666), so others could change what it runs.`) });
    expect(results.find((r) => r.name === 'b')).toMatchObject({ outcome: 'not-started', message: expect.stringContaining(`${swapped}: not trusted: its folder is writable by everyone without the sticky bit, and not yours: anyone could replace it.`) });
    expect(existsSync(join(t.stateDir, 'procs', 'a', 'runs.log'))).toBe(false);
    // Trusted by name: that one starts, and reads the file.
    const trusted = await t.cli(['start', 'a'], { env: { PGUARD_TRUST_REGISTRY: loose } });
    expect(trusted.code).toBe(0);
    await waitFor(() => t.logOf('a').includes('a says hello'));
  });

  it('creates a registry that holds env values 0600, keeps it 0600 through rewrites, and warns when one is readable by others (registry-secrets regression)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-secrets-'));
    dirs.push(dir);
    chmodSync(dir, 0o755); // others may enter the folder: only the file's mode keeps them out
    const file = join(dir, '.process-registry.json');
    const env = { PGUARD_STATE_DIR: join(dir, 'state'), PGUARD_REGISTRY: undefined };
    const made = await runCli(['register', 'api', 'exec /bin/sleep 1000', '--env', 'API_KEY=s3cret', '--registry', file], { cwd: dir, env });
    expect(made).toMatchObject({ code: 0, stderr: '' });
    expect(modeOf(file)).toBe(0o600);
    expect(() => asNobody(`cat ${file}`)).toThrow();
    // A rewrite keeps it 0600, and leaves no temp file behind.
    expect((await runCli(['register', 'web', 'exec /bin/sleep 1000', '--registry', file], { cwd: dir, env })).code).toBe(0);
    expect((await runCli(['register', 'api', 'exec /bin/sleep 1000', '--env', 'API_KEY=n3w', '--registry', file], { cwd: dir, env })).code).toBe(0);
    expect(modeOf(file)).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['.process-registry.json', 'state']);
    // One that holds no env value is made as before (0644: nothing in it is secret).
    const plain = join(dir, 'plain.json');
    expect((await runCli(['register', 'web', 'exec /bin/sleep 1000', '--registry', plain], { cwd: dir, env })).code).toBe(0);
    expect(modeOf(plain)).toBe(0o644);
    // An existing one readable by others that holds env values: written, its mode kept, and a warning with the fix.
    const open = join(dir, 'open.json');
    writeFileSync(open, '{"api": {"command": "true", "env": {"API_KEY": "s3cret"}}}\n');
    chmodSync(open, 0o644);
    const warned = await runCli(['register', 'web', 'true', '--registry', open], { cwd: dir, env });
    expect(warned).toMatchObject({ code: 0, stdout: `registered web in ${open}` });
    expect(warned.stderr).toBe(`pguard: warning: ${open} holds env values and others can read it (mode 644). Make it private: chmod go-r ${open}`);
    expect(modeOf(open)).toBe(0o644);
    // One that gets its first env values (import makes an empty registry first; register into a
    // plain one): written private, said once.
    const pm2 = join(dir, 'ecosystem.config.json');
    writeFileSync(pm2, JSON.stringify({ apps: [{ name: 'api', script: 'server.js', env: { API_KEY: 's3cret' } }] }));
    const imported = join(dir, 'imported.json');
    const imp = await runCli(['import', 'pm2', pm2, '--registry', imported], { cwd: dir, env });
    expect(imp.code).toBe(0);
    expect(modeOf(imported)).toBe(0o600);
    expect(() => asNobody(`cat ${imported}`)).toThrow();
    const gained = await runCli(['register', 'api', 'true', '--env', 'API_KEY=s3cret', '--registry', plain], { cwd: dir, env });
    expect(gained).toMatchObject({ code: 0, stderr: `pguard: warning: ${plain} now holds env values: written private (mode 600, was 644).` });
    expect(modeOf(plain)).toBe(0o600);
  });

  it('keeps no state under a folder another user controls, however it is reached (state-dir ancestors regression)', async () => {
    const shared = sharedFolder();
    const project = mkdtempSync(join(tmpdir(), 'pguard-project-'));
    dirs.push(project);
    writeFileSync(join(project, '.process-registry.json'), '{"bot": {"command": "true"}}');
    const base = { PGUARD_STATE_DIR: undefined, PGUARD_REGISTRY: undefined, XDG_CONFIG_HOME: join(project, 'config') };
    // $XDG_STATE_HOME/pguard: a link nobody planted, into a folder of theirs.
    const theirs = join(shared, 'theirs');
    asNobody(`mkdir -m 777 ${theirs} && ln -s ${theirs} ${shared}/pguard`);
    const viaLink = await runCli(['status'], { cwd: project, env: { ...base, XDG_STATE_HOME: shared } });
    expect(viaLink.code).toBe(2);
    expect(viaLink.stderr).toMatch(new RegExp(`^pguard: ${shared}/pguard/pguard-project-[^:/]+: the state directory is not safe: ${shared}/pguard is a symbolic link of uid 65534's, not yours or root's: that user decides where it leads\\. Keep state under folders only you or root own and can write \\(set PGUARD_STATE_DIR, \\$settings\\.state_dir or XDG_STATE_HOME\\)\\.$`));
    expect(readdirSync(theirs)).toEqual([]);
    // Named directly, a state directory inside another user's folder.
    const inside = await runCli(['status'], { cwd: project, env: { ...base, PGUARD_STATE_DIR: join(theirs, 'state') } });
    expect(inside).toMatchObject({ code: 2, stderr: `pguard: ${theirs}/state: the state directory is not safe: ${theirs} belongs to uid 65534, not to you (uid 0) or root: that user could move it and put their own in its place. Keep state under folders only you or root own and can write (set PGUARD_STATE_DIR, $settings.state_dir or XDG_STATE_HOME).` });
    expect(readdirSync(theirs)).toEqual([]);
    // A link of root's is followed, and what it leads into is checked: still nobody's folder.
    symlinkSync(theirs, join(project, 'mine'));
    const rootLink = await runCli(['status'], { cwd: project, env: { ...base, PGUARD_STATE_DIR: join(project, 'mine', 'state') } });
    expect(rootLink).toMatchObject({ code: 2, stderr: expect.stringContaining(`: the state directory is not safe: ${theirs} belongs to uid 65534`) });
    expect(readdirSync(theirs)).toEqual([]);
    // root's own folder, open to its group without the sticky bit.
    const loose = join(project, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o775);
    const grouped = await runCli(['status'], { cwd: project, env: { ...base, PGUARD_STATE_DIR: join(loose, 'a', 'state') } });
    expect(grouped).toMatchObject({ code: 2, stderr: `pguard: ${loose}/a/state: the state directory is not safe: ${loose} is writable by its group (mode 775) without the sticky bit: others could put their own folder in its place. Keep state under folders only you or root own and can write (set PGUARD_STATE_DIR, $settings.state_dir or XDG_STATE_HOME), or chmod go-w ${loose}.` });
    expect(existsSync(join(loose, 'a'))).toBe(false);
    // What is safe still works: a link of root's to a folder of root's, and /tmp (sticky, root's) above it.
    mkdirSync(join(project, 'real'));
    symlinkSync(join(project, 'real'), join(project, 'xdg'));
    const ok = await runCli(['status'], { cwd: project, env: { ...base, XDG_STATE_HOME: join(project, 'xdg') } });
    expect(ok).toMatchObject({ code: 0 });
    const [made] = readdirSync(join(project, 'real', 'pguard')).filter((n) => n.startsWith('pguard-project-'));
    expect(modeOf(join(project, 'real', 'pguard', made!))).toBe(0o700);
  });
});
