// The first hour of a new user (issue 12), each point as the user meets it: registry problems that
// never lock anyone out, finding processes from another folder, and a CLI an agent can drive.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APPS, CLI, runCli } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';
import { localHttpServer } from '../helpers/local-server.js';

const forever = `sh ${APPS}forever.sh`;
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('a registry problem never locks the user out', () => {
  it('register keeps hand-written formatting: a one-line entry stays one line, only the changed entry is rewritten', async () => {
    const raw = '{\n  "a": { "command": "sleep 1", "duration_min": 0 },\n  "b": {"command": "true"}\n}\n';
    const t = tmpRegistry({}, { raw });
    expect((await t.cli(['register', 'a', 'sleep 2'])).code).toBe(0);
    expect(readFileSync(t.registry, 'utf8')).toBe('{\n  "a": { "command": "sleep 2", "duration_min": 0 },\n  "b": {"command": "true"}\n}\n');
    expect((await t.cli(['register', 'c', 'true'])).code).toBe(0);
    expect(readFileSync(t.registry, 'utf8')).toBe('{\n  "a": { "command": "sleep 2", "duration_min": 0 },\n  "b": {"command": "true"},\n  "c": {"command": "true"}\n}\n');
  });

  it('refuses a depends_on on an unknown name or one that closes a cycle, before writing anything', async () => {
    const t = tmpRegistry({ a: { command: 'true' }, b: { command: 'true', depends_on: ['a'] } });
    const before = readFileSync(t.registry, 'utf8');
    const unknown = await t.cli(['register', 'c', 'true', '--depends-on', 'nope']);
    expect(unknown).toMatchObject({ code: 2, stderr: `pguard: ${t.registry}: "c".depends_on: names "nope", which is not in the registry\npguard: ${t.registry}: nothing was written.` });
    const cycle = await t.cli(['register', 'a', 'true', '--depends-on', 'b']);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toContain('forms a cycle: a -> b -> a');
    expect(readFileSync(t.registry, 'utf8')).toBe(before);
    // and pguard still works on it
    expect((await t.cli(['status'])).code).toBe(0);
  });

  it('refuses to register into a registry that already breaks the schema, naming the issue, leaving the file byte for byte', async () => {
    const raw = '{"bad": {"command": "true", "max_restarts": "5x"}}';
    const t = tmpRegistry({}, { raw });
    const res = await t.cli(['register', 'new', 'true']);
    expect(res).toMatchObject({ code: 2, stderr: `pguard: ${t.registry}: "bad".max_restarts: expected a non-negative integer, got "5x" (string)\npguard: ${t.registry}: fix these first (register would otherwise write into a broken registry).` });
    expect(readFileSync(t.registry, 'utf8')).toBe(raw);
  });

  it('lists an invalid entry as invalid with its issues, starts the others, and stops, reads and deregisters it by name', async () => {
    const t = tmpRegistry({ good: { command: forever }, bad: { command: forever, max_restarts: '5x' } });
    const start = await t.cli(['start', '--all', '--no-wait']);
    // The others start; the bad one is named with its issue, and the start fails (issue 20).
    expect(start.code).toBe(1);
    expect(start.stdout).toContain('✗ bad not started: max_restarts: expected a non-negative integer, got "5x" (string)');
    const views = JSON.parse((await t.cli(['status', '--json'])).stdout);
    expect(views.map((v: { name: string; status: string }) => [v.name, v.status])).toEqual([['good', 'running'], ['bad', 'invalid']]);
    expect(views[1].issues).toEqual(['max_restarts: expected a non-negative integer, got "5x" (string)']);
    expect(await t.cli(['start', 'bad'])).toMatchObject({ code: 2 });
    expect(await t.cli(['logs', 'bad'])).toMatchObject({ code: 0, stdout: 'bad has no log yet: it has never run (start it with `pguard start bad`)' });
    expect(await t.cli(['stop', 'bad'])).toMatchObject({ code: 0, stdout: 'bad was not running' });
    expect(await t.cli(['deregister', 'bad'])).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual({ good: { command: forever } });
  });

  it('says in one line (exit 2) when --registry names a folder that does not exist, a folder, or nothing', async () => {
    const t = tmpRegistry({});
    expect(await t.cli(['register', 'a', 'true', '--registry', '/nonexistent/x/.process-registry.json'])).toMatchObject({
      code: 2, stderr: 'pguard: /nonexistent/x: no such folder for the registry. Create it first (mkdir -p), or pass another --registry.',
    });
    expect(await t.cli(['status', '--registry', '/nonexistent/x/.process-registry.json'])).toMatchObject({ code: 2 });
    expect(await t.cli(['status', '--registry', t.dir])).toMatchObject({ code: 2, stderr: `pguard: ${t.dir}: not a regular file (a registry is a JSON file). Pass the path of one with --registry.` });
    expect(await t.cli(['status', '--registry'])).toMatchObject({ code: 2, stderr: 'pguard: --registry needs a path: --registry PATH (the file, e.g. ./.process-registry.json).' });
  });

  it('keeps --env-file for itself: Node never reads it as its own', async () => {
    const t = tmpRegistry({});
    // As installed: the executable itself, not `node pguard.js`.
    const res = await execa(CLI, ['register', 'bot', 'true', '--env-file', './missing.env'], { cwd: t.dir, env: { ...t.env, NO_COLOR: '1' }, reject: false });
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual({ bot: { command: 'true', env_file: './missing.env' } });
  });
});

describe('found from anywhere', () => {
  const made: string[] = [];
  afterEach(() => { for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true }); });

  it('shows every registry used, with its path, from a folder that has none; acks from there; points control commands at the registry', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pguard-anywhere-'));
    made.push(home);
    const env = { XDG_STATE_HOME: join(home, 'xdg'), XDG_CONFIG_HOME: join(home, 'cfg'), PGUARD_REGISTRY: undefined, PGUARD_STATE_DIR: undefined };
    const one = join(home, 'one');
    const two = join(home, 'two');
    const elsewhere = join(home, 'elsewhere');
    for (const d of [one, two, elsewhere]) mkdirSync(d);
    const cli = (cwd: string, args: string[]) => runCli(args, { cwd, env });
    expect((await cli(one, ['register', 'web', forever])).code).toBe(0);
    expect((await cli(one, ['register', 'crashy', 'sh -c "exit 3"', '--max-restarts', '0'])).code).toBe(0);
    expect((await cli(two, ['register', 'bot', forever])).code).toBe(0);
    try {
      await cli(two, ['start', 'bot', '--no-wait']);
      await cli(one, ['start', 'crashy']);
      const flag = join(home, 'xdg', 'pguard', 'alert.flag');
      await waitFor(() => existsSync(flag), { what: 'the per-user alert flag' });
      expect(readFileSync(flag, 'utf8')).toBe(`1 ${join(one, '.process-registry.json')}\n`);

      const status = await cli(elsewhere, ['status', '--json']);
      expect(status.code).toBe(0);
      expect(status.stderr).toBe(`pguard: no .process-registry.json in ${elsewhere} or its parents; showing the 2 registries you have used (--registry PATH for one).`);
      const rows = JSON.parse(status.stdout).map((r: Record<string, string>) => [r.name, r.registry]);
      expect(rows).toEqual(expect.arrayContaining([
        ['web', join(one, '.process-registry.json')], ['crashy', join(one, '.process-registry.json')], ['bot', join(two, '.process-registry.json')],
      ]));
      const table = await cli(elsewhere, ['status']);
      expect(table.stdout).toContain(join(two, '.process-registry.json'));

      const alerts = JSON.parse((await cli(elsewhere, ['alerts', '--json'])).stdout);
      expect(alerts).toMatchObject([{ process: 'crashy', kind: 'failed', registry: join(one, '.process-registry.json') }]);
      const history = JSON.parse((await cli(elsewhere, ['history', '--json'])).stdout);
      expect(history.failures).toMatchObject([{ process: 'crashy', registry: join(one, '.process-registry.json') }]);

      expect(await cli(elsewhere, ['alerts', 'ack', alerts[0].id])).toMatchObject({ code: 0, stdout: 'acknowledged 1; 0 unacknowledged left (alert flag cleared)' });
      expect(existsSync(flag)).toBe(false);

      const stop = await cli(elsewhere, ['stop', 'bot']);
      expect(stop).toMatchObject({ code: 2, stderr: `pguard: no .process-registry.json in ${elsewhere} or its parents; "bot" is in ${join(two, '.process-registry.json')}: \`pguard stop bot --registry ${join(two, '.process-registry.json')}\`` });
      expect((await cli(elsewhere, ['stop', 'bot', '--registry', join(two, '.process-registry.json')])).code).toBe(0);

      // A registry that is gone is forgotten.
      rmSync(join(one, '.process-registry.json'));
      const after = JSON.parse((await cli(elsewhere, ['status', '--json'])).stdout);
      expect(after.map((r: { name: string }) => r.name)).toEqual(['bot']);
      expect(Object.keys(JSON.parse(readFileSync(join(home, 'xdg', 'pguard', 'registries.json'), 'utf8')))).toEqual([join(two, '.process-registry.json')]);
    } finally {
      await cli(two, ['stop', '--all']);
      if (existsSync(join(one, '.process-registry.json'))) await cli(one, ['stop', '--all']);
    }
  });
});

describe('an agent-grade CLI', () => {
  it('pguard wait: exit 0 once every process is there, 1 on timeout or when one cannot get there by itself', async () => {
    const t = tmpRegistry({ bot: { command: forever }, crashy: { command: 'sh -c "exit 3"', max_restarts: 0 }, idle: { command: forever } });
    await t.cli(['start', 'bot', '--no-wait']);
    expect(await t.cli(['wait', 'bot', '--until', 'running', '--timeout', '10'])).toMatchObject({ code: 0, stdout: '✓ bot running' });
    const timeout = await t.cli(['wait', 'bot', 'idle', '--timeout', '0.5', '--json']);
    expect(timeout.code).toBe(1);
    expect(JSON.parse(timeout.stdout)).toMatchObject({ until: 'running', reached: false, outcome: 'timed-out', processes: [{ name: 'bot', reached: true }, { name: 'idle', status: 'never-started', reached: false }] });
    await t.cli(['start', 'crashy', '--no-wait']);
    expect(await t.cli(['wait', 'crashy', '--until', 'failed', '--timeout', '10'])).toMatchObject({ code: 0, stdout: '✓ crashy failed' });
    await t.cli(['stop', 'bot']);
    const stopped = await t.cli(['wait', 'bot', '--until', 'running', '--timeout', '10']);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/^✗ bot stopped.*\nstopped waiting after [\d.]+ s: a process cannot become running by itself \(see above\)$/);
    expect(await t.cli(['wait', 'bot', '--until', 'stopped'])).toMatchObject({ code: 0 });
    expect(await t.cli(['wait', 'bot', '--until', 'soon'])).toMatchObject({ code: 2, stderr: 'pguard: --until expects one of running, healthy, stopped, completed, failed, got "soon".' });
  });

  it('pguard wait --until healthy runs the probes itself (no watch or healthcheck needed), and waits while they fail', async () => {
    let up = false;
    const server = await localHttpServer((_req, res) => { res.statusCode = up ? 200 : 503; res.end(); });
    try {
      const t = tmpRegistry({ web: { command: forever, health: [{ type: 'http', url: `${server.url}/health` }] } });
      await t.cli(['start', 'web', '--no-wait']);
      await t.cli(['wait', 'web', '--timeout', '10']);
      const failing = await t.cli(['wait', 'web', '--until', 'healthy', '--timeout', '0.5', '--json']);
      expect(failing.code).toBe(1);
      expect(JSON.parse(failing.stdout)).toMatchObject({ outcome: 'timed-out', processes: [{ name: 'web', reached: false }] });
      up = true;
      expect(await t.cli(['wait', 'web', '--until', 'healthy', '--timeout', '10'])).toMatchObject({ code: 0, stdout: '✓ web healthy' });
    } finally {
      await server.close();
    }
  });

  it('with --json, an error is one JSON object on stderr with a code', async () => {
    const t = tmpRegistry({ bot: { command: 'true' } });
    const cases: [string[], number, string][] = [
      [['stop', 'nope', '--json'], 1, 'unknown-process'],
      [['status', '--json', '--bogus'], 2, 'usage'],
      [['register', 'x', '--json'], 2, 'usage'],
      [['status', '--json', '--registry', join(t.dir, 'none.json')], 2, 'no-registry'],
    ];
    for (const [args, code, kind] of cases) {
      const res = await t.cli(args);
      expect(res.code).toBe(code);
      const err = JSON.parse(res.stderr);
      expect(err).toMatchObject({ code: kind, error: expect.any(String) });
      expect(res.stderr.split('\n')).toHaveLength(1);
    }
    writeFileSync(t.registry, '{"bot": {"command": "true", "max_restarts": -1}}');
    const invalid = JSON.parse((await t.cli(['start', 'bot', '--json'])).stderr);
    expect(invalid).toEqual({ error: `${t.registry}: "bot".max_restarts: expected a non-negative integer, got -1 (number)`, code: 'registry-invalid', issues: [{ process: 'bot', field: 'max_restarts', message: 'expected a non-negative integer, got -1 (number)' }] });
    writeFileSync(t.registry, '{"bot": ');
    expect(JSON.parse((await t.cli(['status', '--json'])).stderr)).toMatchObject({ code: 'registry-parse' });
  });

  it('speaks one JSON dialect: snake_case keys and ISO 8601 times, in every command', async () => {
    const t = tmpRegistry({ bot: { command: forever }, crashy: { command: 'sh -c "echo boom; exit 3"', max_restarts: 0 } });
    const outputs: unknown[] = [];
    for (const args of [['start', '--all'], ['status'], ['alerts', '--all'], ['history'], ['info'], ['healthcheck'], ['wait', 'bot'], ['cron', 'status'], ['logs', 'crashy'], ['audit', 'verify'], ['stop', '--all']]) {
      const res = await t.cli([...args, '--json']);
      outputs.push(JSON.parse(res.stdout));
    }
    const bad: string[] = [];
    const walk = (v: unknown, at: string): void => {
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) {
        if (!/^[a-z0-9_]+$/.test(k)) bad.push(`${at}.${k}: not snake_case`);
        if (/(_at|^at)$/.test(k) && x !== null && (typeof x !== 'string' || Number.isNaN(Date.parse(x)) || !x.endsWith('Z'))) bad.push(`${at}.${k}: ${JSON.stringify(x)} is not an ISO time`);
        if (typeof x === 'number' && x > 1e12) bad.push(`${at}.${k}: ${x} looks like epoch ms`);
        walk(x, `${at}.${k}`);
      }
    };
    walk(outputs, '');
    expect(bad).toEqual([]);
    const died = (outputs[0] as { name: string; exit?: unknown; log_tail?: string[] }[]).find((r) => r.name === 'crashy')!;
    expect(died).toMatchObject({ exit: { code: 3, started_at: expect.stringMatching(/Z$/) }, log_tail: ['boom'] });
  });

  it('prints a shell completion script that knows the commands', async () => {
    const t = tmpRegistry({});
    const script = await t.cli(['completion']);
    expect(script.stdout).toContain('complete -o bashdefault -o default -F _pguard_yargs_completions pguard');
    const words = (await t.cli(['--get-yargs-completions', 'pguard', ''])).stdout.split('\n');
    expect(words).toEqual(expect.arrayContaining(['start', 'stop', 'status', 'wait', 'alerts']));
    expect(words).not.toContain('on-exit');
  });

  it('completes process names after a command that takes them', async () => {
    const t = tmpRegistry({ bot: { command: 'true' }, api: { command: 'true' }, billing: { command: 'true' } });
    const complete = async (...words: string[]) => (await t.cli(['--get-yargs-completions', 'pguard', ...words])).stdout.split('\n').filter(Boolean);
    expect(await complete('stop', '')).toEqual(expect.arrayContaining(['bot', 'api', 'billing']));
    const b = await complete('logs', 'b');
    expect(b).toEqual(expect.arrayContaining(['bot', 'billing']));
    expect(b).not.toContain('api');
    expect(await complete('start', 'bot', '')).toContain('api'); // start takes many
    expect(await complete('alerts', '')).not.toContain('bot'); // alerts takes alert ids, not names
    expect(await complete('stop', '--')).not.toContain('bot');
    // After a flag that takes one of a few values: those values, not names (issue 21).
    expect(await complete('wait', 'bot', '--until', '')).toEqual(['running', 'healthy', 'stopped', 'completed', 'failed']);
    expect(await complete('wait', 'bot', '--until', 'h')).toEqual(['healthy']);
    expect(await complete('register', 'x', 'y', '--backoff', '')).toEqual(['fixed', 'exponential']);
  });

  it('register --probe sets health probes without editing JSON, and names a bad one', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['register', 'api', 'true', '--probe', 'http://127.0.0.1:8080/health', '--probe', 'tcp:localhost:5432', '--probe', 'exec:pg_isready -q', '--probe', 'heartbeat:20']);
    expect(res.code).toBe(0);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).api.health).toEqual([
      { type: 'http', url: 'http://127.0.0.1:8080/health' }, { type: 'tcp', host: 'localhost', port: 5432 },
      { type: 'exec', command: 'pg_isready -q' }, { type: 'heartbeat', max_age: 20 },
    ]);
    expect(await t.cli(['register', 'api', 'true', '--probe', 'udp:53'])).toMatchObject({ code: 2, stderr: 'pguard: --probe expects http://HOST:PORT/PATH, tcp:HOST:PORT, exec:COMMAND or heartbeat:MAX_AGE_S (or none), got "udp:53".' });
    expect(await t.cli(['register', 'api', 'true', '--probe', 'tcp:db:x'])).toMatchObject({ code: 2, stderr: `pguard: ${t.registry}: "api".health[0].port: expected an integer from 1 to 65535, got "x" (string)` });
    await t.cli(['register', 'api', 'true', '--probe', 'none']);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).api.health).toEqual([]);
  });

  it('names the missing argument, and prints its version from any folder', async () => {
    const t = tmpRegistry({});
    expect(await t.cli(['register', 'bot'])).toMatchObject({ code: 2, stderr: 'pguard: register needs <command>: pguard register <name> <command> [duration_min]. See `pguard register --help`.' });
    expect(await runCli(['--version'], { cwd: '/' })).toMatchObject({ code: 0, stdout: version });
  });
});
