import type { ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { APPS, runCli } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';
import { localHttpServer } from '../helpers/local-server.js';

describe('what a definition controls', () => {
  it('runs in cwd (relative to the registry) with env_file, then env, on top of our environment', async () => {
    const t = tmpRegistry({});
    mkdirSync(join(t.dir, 'work'));
    writeFileSync(join(t.dir, '.env'), 'FROM_FILE=file\nBOTH=file\n');
    writeFileSync(t.registry, JSON.stringify({
      show: { command: 'echo "cwd=$(pwd) file=$FROM_FILE both=$BOTH name=$PGUARD_NAME"; exec sleep 60', cwd: 'work', env_file: '.env', env: { BOTH: 'env' } },
    }));
    await t.cli(['start', 'show', '--no-wait']);
    await waitFor(() => t.logOf('show').includes('cwd='));
    expect(t.logOf('show').trim()).toBe(`cwd=${join(t.dir, 'work')} file=file both=env name=show`);
  });

  it('delivers stop_signal SIGINT to the process (not ignored as in a shell background job)', async () => {
    const t = tmpRegistry({ polite: { command: `trap 'echo got INT; exit 0' INT; echo ready; while :; do sleep 0.1; done`, stop_signal: 'SIGINT', kill_timeout: 5 } });
    await t.cli(['start', 'polite', '--no-wait']);
    await waitFor(() => t.logOf('polite').includes('ready'));
    const res = await t.cli(['stop', 'polite']);
    expect(res.stdout).toBe('polite stopped');
    expect(t.logOf('polite')).toContain('got INT');
    expect((await t.status('polite')).last_exit).toMatchObject({ code: 0 });
  });

  it('restart brings up a new instance with the current definition and resets the budget', async () => {
    const t = tmpRegistry({ bot: { command: 'echo v1; exec sleep 60' } });
    await t.cli(['start', 'bot', '--no-wait']);
    const first = await waitFor(async () => (await t.status('bot')).pid as number | null);
    await t.cli(['register', 'bot', 'echo v2; exec sleep 60']);
    const res = await t.cli(['restart', 'bot']);
    expect(res.code).toBe(0);
    const s = await t.status('bot');
    expect(s.pid).not.toBe(first);
    await waitFor(() => t.logOf('bot').includes('v2'));
  });

  it('follows a log with logs -f', async () => {
    const t = tmpRegistry({ talk: { command: 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.1; done' } });
    await t.cli(['start', 'talk', '--no-wait']);
    const follower = execa(process.execPath, [join(process.cwd(), 'bin', 'pguard.js'), 'logs', 'talk', '-n', '0', '-f'], { env: t.env, reject: false });
    let seen = '';
    follower.stdout!.on('data', (d) => { seen += d; });
    await waitFor(() => /line \d+\nline \d+\n/.test(seen), { what: 'followed lines' });
    follower.kill('SIGINT');
    const res = await follower;
    expect(res.exitCode).toBe(0);
  });
});

describe('finding the registry', () => {
  it('uses the nearest .process-registry.json upwards, and register creates one in the current folder when none is found', async () => {
    const t = tmpRegistry({ top: { command: 'true' } });
    const sub = join(t.dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const env = { PGUARD_STATE_DIR: t.stateDir };
    const res = await runCli(['info', '--json'], { cwd: sub, env });
    expect(JSON.parse(res.stdout).registry).toBe(t.registry);
    // A folder with no registry in it or above it (the temp folder's parents hold none).
    const lonely = mkdtempSync(join(tmpdir(), 'pguard-lonely-'));
    try {
      // ... and no registry used before (from anywhere, `status` would show those: first-hour.test.ts).
      const none = await runCli(['status'], { cwd: lonely, env: { ...env, XDG_STATE_HOME: join(lonely, 'xdg') } });
      expect(none.stderr).toBe(`pguard: no .process-registry.json in ${lonely} or its parents. Create one with \`pguard register <name> <command>\`, or pass --registry PATH.`);
      const reg = await runCli(['register', 'x', 'true'], { cwd: lonely, env });
      expect(reg.stdout).toBe(`registered x in ${join(lonely, '.process-registry.json')}`);
      const flagPath = join(lonely, 'custom.json');
      expect((await runCli(['register', 'y', 'true', '--registry', flagPath], { cwd: '/', env })).code).toBe(0);
      expect(Object.keys(JSON.parse(readFileSync(flagPath, 'utf8')))).toEqual(['y']);
    } finally {
      rmSync(lonely, { recursive: true, force: true });
    }
  });
});

describe('agent skill', () => {
  it('installs SKILL.md with name and description front matter', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['skill', 'install', join(t.dir, 'skills')]);
    const file = join(t.dir, 'skills', 'pguard', 'SKILL.md');
    expect(res.stdout).toBe(`installed ${file}`);
    expect(readFileSync(file, 'utf8')).toMatch(/^---\nname: pguard\ndescription: .+\n---\n/);
  });
});

describe('alert channels never delay a restart', () => {
  it('restarts at once while the webhook hangs', async () => {
    const hanging: ServerResponse[] = [];
    const server = await localHttpServer((_req, res) => { hanging.push(res); });
    try {
      const t = tmpRegistry({});
      writeFileSync(t.registry, JSON.stringify({
        $settings: { webhook: `${server.url}/slow`, alert_cooldown: 0 },
        bot: { command: 'exec sleep 60', restart_cooldown: 0 },
      }));
      await t.cli(['start', 'bot', '--no-wait']);
      for (let i = 1; i <= 3; i++) {
        const pid = await waitFor(() => t.runs('bot').latest?.identity.pid);
        const before = t.runs('bot').starts.size;
        const killedAt = Date.now();
        process.kill(pid, 'SIGKILL');
        const run = await waitFor(() => (t.runs('bot').starts.size > before ? t.runs('bot').latest : null), { timeoutMs: 5000 });
        // Well under the webhook's 3 s timeout: waiting on the channel would show here. (A report
        // that takes the slow path starts Node, which is slow on a loaded machine.)
        expect(run!.startedAt - killedAt).toBeLessThan(2500);
      }
      // The alerts did go out, to a webhook that never answers.
      await waitFor(() => hanging.length > 0, { what: 'the webhook to be called' });
    } finally {
      await server.close();
    }
  });
});
