// Issue 21: never a stack trace, never exit 70: registries people really write by mistake, a reader
// that closes the pipe early, and random argv against random registries.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';

describe('registries that used to crash status', () => {
  const entries: [string, string, number][] = [
    ['an entry with no command', '{"a": {}}', 0],
    ['a typo of command', '{"a": {"comand": "sleep 1"}}', 0],
    ['a number as command', '{"p": {"command": 3.5}}', 0],
    ['an empty command', '{"p": {"command": ""}}', 0],
    ['a blank command', '{"p": {"command": "   "}}', 0],
    ['null', 'null', 2],
    ['an array', '[]', 2],
    ['a string', '"x"', 2],
  ];
  it.each(entries)('%s: one line or a table, never exit 70', async (_what, raw, code) => {
    const t = tmpRegistry({}, { raw });
    for (const args of [['status'], ['status', '--json'], ['start', '--all', '--no-wait'], ['healthcheck'], ['history'], ['alerts']]) {
      const res = await t.cli(args);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).not.toBe(70);
      expect(res.stderr).not.toMatch(/unexpected error|\n\s+at /);
    }
    const res = await t.cli(['status']);
    expect(res.code).toBe(code);
    if (code === 2) expect(res.stderr).toMatch(/^pguard: .*: expected an object of process definitions, got .+$/);
    else expect(res.stdout).toMatch(/^\S+\s+invalid\s/m);
  });
});

describe('a reader that closes the pipe', () => {
  it.each([['status'], ['status', '--json'], ['history'], ['--help'], ['alerts', '--all']])('pguard %s | head -1: exit 0, nothing on stderr', async (...args) => {
    const entries = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`p${i}`, { command: 'exec sleep 1000' }]));
    const t = tmpRegistry(entries);
    const res = await execa('bash', ['-c', `node ${CLI} ${args.join(' ')} | head -1 >/dev/null; echo "\${PIPESTATUS[0]}" >&2`], { env: t.env, cwd: t.dir, reject: false });
    expect(res.stderr).toBe('0');
  });
});

describe('a folder deleted under the shell', () => {
  it('says so in one line, exit 2, for the full CLI and a hot command alike (it was exit 70, "uv_cwd")', async () => {
    const t = tmpRegistry({});
    const gone = join(t.dir, 'gone');
    mkdirSync(gone);
    // A shell whose folder is removed under it, then runs pguard there.
    for (const args of [['list'], ['status'], ['import', 'pm2', 'x.json', '--json']]) {
      const res = await execa('sh', ['-c', 'cd "$1" && rmdir "$1" && cli="$2" && shift 2 && exec node "$cli" "$@"', 'sh', gone, CLI, ...args], { reject: false, env: { ...t.env, PGUARD_REGISTRY: '' } });
      expect(res.exitCode, res.stderr).toBe(2);
      expect(res.stderr).toMatch(/the current folder no longer exists \(deleted or moved\)/);
      mkdirSync(gone);
    }
  });
});

describe('a very large registry', () => {
  it('renders a table of 300,000 rows (the column widths once overflowed the stack)', async () => {
    const { renderTable } = await import('../../src/cli/output.js');
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ name: `p${i}` }));
    const out = renderTable(rows, [{ header: 'NAME', value: (r: { name: string }) => r.name }]);
    expect(out.split('\n')).toHaveLength(300_001);
  });
});

describe('import pm2 --allow-eval of a file that does not run', () => {
  const files: [string, string, string][] = [
    ['a syntax error', 'bad.config.js', 'module.exports = {apps: ['],
    ['a require of a missing module', 'req.config.js', 'const x = require("no-such-module-here"); module.exports = {apps: [{name: "a", script: x}]}'],
  ];
  it.each(files)('%s: exit 2, one line naming the file', async (_what, name, text) => {
    const t = tmpRegistry({});
    writeFileSync(`${t.dir}/${name}`, text);
    const res = await t.cli(['import', 'pm2', name, '--allow-eval']);
    expect(res.code).toBe(2);
    // A file that is not JavaScript is named with where it breaks, and never run (acorn parses it first).
    const why = name === 'bad.config.js' ? 'a syntax error at line 1, column 26: Unexpected token' : 'running it with Node failed \\(.+\\)';
    expect(res.stderr).toMatch(new RegExp(`^pguard: ${name.replace('.', '\\.')}: ${why}\\. Fix the file, or save \`pm2 jlist\` output and import that\\.$`));
  });

  it('a YAML process file with no apps (PM2 takes YAML: read as YAML, not run): exit 2, nothing found', async () => {
    const t = tmpRegistry({});
    writeFileSync(`${t.dir}/x.yml`, 'apps: []\n');
    expect(await t.cli(['import', 'pm2', 'x.yml', '--allow-eval'])).toMatchObject({ code: 2, stderr: 'pguard: x.yml: no processes to import from it (as pm2).' });
  });

  it('an ecosystem file that exports no apps adds nothing (it once added an entry with an empty command)', async () => {
    const t = tmpRegistry({});
    writeFileSync(`${t.dir}/empty.config.js`, 'module.exports = {}\n');
    const res = await t.cli(['import', 'pm2', 'empty.config.js']);
    expect(res).toMatchObject({ code: 2, stderr: 'pguard: empty.config.js: no processes to import from it (as pm2).' });
  });
});

describe('a full disk', () => {
  it('start and register say which file could not be written and which file system is full, exit 1', async (ctx) => {
    const t = tmpRegistry({ a: { command: 'exec sleep 1000' } });
    const mnt = `${t.dir}/full`;
    const mounted = await execa('sh', ['-c', `mkdir -p ${mnt} && mount -t tmpfs -o size=256k tmpfs ${mnt}`], { reject: false });
    if (mounted.exitCode !== 0) {
      ctx.skip(); // needs root (mount): CI runs as root
      return;
    }
    try {
      writeFileSync(`${mnt}/.process-registry.json`, '{"a": {"command": "exec sleep 1000"}}\n');
      await execa('sh', ['-c', `mkdir -m 700 ${mnt}/state && dd if=/dev/zero of=${mnt}/fill bs=1k count=1000`], { reject: false });
      const env = { ...t.env, PGUARD_REGISTRY: `${mnt}/.process-registry.json`, PGUARD_STATE_DIR: `${mnt}/state` };
      const start = await execa(process.execPath, [CLI, 'start', 'a'], { env, reject: false });
      expect(start.exitCode).toBe(1);
      expect(start.stderr).toMatch(new RegExp(`^pguard: ${mnt}/state/\\S+: cannot write \\(ENOSPC: no space left on the device\\): the file system on ${mnt} is full; free space there \\(nothing was half-written\\)\\.$`, 'm'));
      expect(start.stderr).not.toMatch(/unexpected error/);
      const reg = await execa(process.execPath, [CLI, 'register', 'b', 'sleep 5'], { env, reject: false });
      expect(reg.exitCode).toBe(1);
      expect(reg.stderr).toBe(`pguard: ${mnt}/.process-registry.json: cannot write the registry (ENOSPC: no space left on the device); it is unchanged.`);
    } finally {
      await execa('umount', [mnt], { reject: false });
    }
  });
});

describe('what a user sees of a run', () => {
  it('the log holds only the program\'s output: no "Terminated" from the runner at a stop or restart', async () => {
    const t = tmpRegistry({ a: { command: 'echo out; echo err >&2; exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['start', 'a']);
    await t.cli(['restart', 'a']);
    const pid = (await t.status('a')).pid as number;
    process.kill(pid, 'SIGTERM'); // a crash by signal, restarted by the runner
    const { waitFor } = await import('../helpers/wait-for.js');
    await waitFor(async () => { const p = (await t.status('a')).pid; return p && p !== pid; });
    await t.cli(['stop', 'a']);
    expect(t.logOf('a')).toBe('out\nerr\n'.repeat(3));
  });
});

describe('a job that completed', () => {
  it('stays completed after stop --all, and its time after completing is not downtime', async () => {
    const t = tmpRegistry({ job: { command: 'sleep 0.6', duration_min: 0.01 }, web: { command: 'exec sleep 1000' } });
    await t.cli(['start', '--all', '--no-wait']);
    const { waitFor } = await import('../helpers/wait-for.js');
    await waitFor(async () => (await t.status('job')).status === 'completed', { what: 'the job to complete' });
    const stop = await t.cli(['stop', '--all']);
    expect(stop.stdout).toContain('job was not running');
    expect((await t.status('job')).status).toBe('completed');
    const h = JSON.parse((await t.cli(['history', 'job', '--json'])).stdout);
    expect(h.summary[0].uptime_percent).toBeGreaterThan(95);
  });
});

describe('small truths', () => {
  it('wait --until healthy says healthy; a probe not yet run is pending; deregister closes the process\'s alerts', async () => {
    const t = tmpRegistry({
      web: { command: 'exec sleep 1000', health: [{ type: 'exec', command: 'true', grace: 0 }] },
      bad: { command: 'exit 3', auto_restart: false },
    });
    await t.cli(['start', 'web', '--no-wait']);
    const { waitFor } = await import('../helpers/wait-for.js');
    await waitFor(async () => (await t.status('web')).pid);
    expect((await t.status('web')).health[0]).toMatchObject({ ok: null, state: 'pending' });
    const wait = await t.cli(['wait', 'web', '--until', 'healthy', '--timeout', '10']);
    expect(wait).toMatchObject({ code: 0, stdout: '✓ web healthy' });
    await t.cli(['start', 'bad']);
    await waitFor(async () => JSON.parse((await t.cli(['alerts', '--json'])).stdout).some((a: { process: string }) => a.process === 'bad'));
    expect((await t.cli(['deregister', 'bad'])).code).toBe(0);
    expect(JSON.parse((await t.cli(['alerts', '--json'])).stdout).filter((a: { process: string }) => a.process === 'bad')).toEqual([]);
  });
});

describe('register sets what the registry holds, from the command line', () => {
  it('--probe with its interval, timeout, threshold and grace; every numeric field as a flag; help shows defaults, examples whole', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['register', 'db', 'sleep 100', '--probe', 'tcp:127.0.0.1:5432', '--probe', 'exec:true', '--probe-interval', '2', '--probe-timeout', '1',
      '--probe-failure-threshold', '2', '--probe-grace', '0', '--max-memory-mb', '500', '--max-cpu-percent', '90', '--ready-after', '1']);
    expect(res.code).toBe(0);
    const reg = JSON.parse(readFileSync(t.registry, 'utf8'));
    const settings = { interval: 2, timeout: 1, failure_threshold: 2, grace: 0 };
    expect(reg.db).toEqual({
      command: 'sleep 100', max_memory_mb: 500, max_cpu_percent: 90, ready_after: 1,
      health: [{ type: 'tcp', host: '127.0.0.1', port: 5432, ...settings }, { type: 'exec', command: 'true', ...settings }],
    });
    expect(await t.cli(['register', 'db', 'sleep 100', '--probe-interval', '2'])).toMatchObject({ code: 2, stderr: 'pguard: --probe-interval applies to the probes of this call: give them with --probe.' });
    const help = await t.cli(['register', '--help']);
    expect(help.stdout).toMatch(/--restart-cooldown +.*\(seconds, default 30\)/);
    expect(help.stdout).toContain('  pguard register db "postgres -D /srv/pg" --probe tcp:127.0.0.1:5432 --probe-interval 2 --probe-failure-threshold 2\n');
  });
});

describe('numeric flags', () => {
  it('are numbers in help, and a word that is not one is named in one line, exit 2', async () => {
    const t = tmpRegistry({});
    expect(await t.cli(['register', 'x', 'sleep 1', '--max-restarts', 'abc'])).toMatchObject({ code: 2, stderr: 'pguard: --max-restarts expects a number, got "abc".' });
    expect((await t.cli(['register', '--help'])).stdout).toMatch(/--max-memory-mb .*\[number\]/);
  });
});
