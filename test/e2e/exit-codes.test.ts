// Issue 21: the README's exit table holds for every command (a table of invocations), and random
// argv against random registries never ends in a stack trace or exit 70 (fast-check).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tmpRegistry } from '../helpers/tmp-registry.js';

const registry = { web: { command: 'exec sleep 1000' }, crashy: { command: 'exit 3', auto_restart: false } };

// [invocation, expected exit, expected --json code (null: no error)]
const table: [string[], number, string | null][] = [
  [['status'], 0, null],
  [['status', 'web', 'crashy'], 0, null],
  [['ls'], 0, null],
  [['history'], 0, null],
  [['alerts'], 0, null],
  [['info'], 0, null],
  [['stop', 'web'], 0, null],
  [['-v'], 0, null],
  [['--version'], 0, null],
  // 1: it failed
  [['status', 'nope'], 1, 'unknown-process'],
  [['stop', 'nope'], 1, 'unknown-process'],
  [['logs', 'nope'], 1, 'unknown-process'],
  [['alerts', 'ack', 'no-such-id'], 1, 'failed'],
  [['start', 'crashy'], 1, null],
  [['wait', 'web', '--until', 'running', '--timeout', '0.2'], 1, null],
  // 2: bad usage
  [['start'], 2, 'usage'],
  [['stop'], 2, 'usage'],
  [['restart'], 2, 'usage'],
  [['register', 'bad/name', 'sleep 1'], 2, 'usage'],
  [['register', 'x'], 2, 'usage'],
  [['stauts'], 2, 'usage'],
  [['status', '--bogus'], 2, 'usage'],
  [['cron', 'frob'], 2, 'usage'],
  [['export', 'foo'], 2, 'usage'],
  [['history', '--since', 'yesterday'], 2, 'usage'],
  [['wait', 'web', '--until', 'sleeping'], 2, 'usage'],
  [['start', 'web', '--wait', 'soon'], 2, 'usage'],
];

describe('the README exit table, command by command', () => {
  it('documents 0, 1, 2 and 70 and nothing else', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| (\d+) \| .+ \|$/gm)].map((m) => Number(m[1]));
    expect(rows).toEqual([0, 1, 2, 70]);
  });

  it.each(table)('pguard %j: exit %i', async (args, code, json) => {
    const t = tmpRegistry(registry);
    const res = await t.cli(args);
    expect(res.code, res.stderr).toBe(code);
    if (code === 2) expect(res.stderr.split('\n'), res.stderr).toHaveLength(1);
    if (json) {
      const j = await t.cli([...args, '--json']);
      expect(j.code).toBe(code);
      expect(JSON.parse(j.stderr.split('\n').at(-1)!)).toMatchObject({ code: json });
    }
  });

  it('a registry that is not valid JSON, one not found, one that breaks the schema: 2', async () => {
    const broken = tmpRegistry({}, { raw: '{"a": {"command": "x",}}' });
    expect(await broken.cli(['status'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^pguard: .+:1:\d+: not valid JSON/) });
    const invalid = tmpRegistry({ a: { command: 'x', max_restarts: -1 } });
    expect((await invalid.cli(['start', 'a'])).code).toBe(2);
    const none = tmpRegistry({});
    expect((await none.cli(['status', '--registry', `${none.dir}/missing/.process-registry.json`])).code).toBe(2);
  });
});

// Words a user (or an agent) might type: commands, flags, values, names that exist and do not.
const WORDS = ['start', 'stop', 'restart', 'status', 'ls', 'register', 'deregister', 'history', 'alerts', 'ack', 'info', 'healthcheck',
  'rollback', 'audit', 'verify', 'head', 'export', 'systemd', 'k8s', 'compose', 'logs', 'heartbeat', 'wait', 'stauts', 'web', 'db', 'nope',
  '--all', '--json', '--no-wait', '--wait', '0', '-1', '1e9', '--since', '24h', '--until', 'running', '--timeout', '0.1', '--to', '2',
  '--registry', '', ' ', '--', '-', 'a/b', '../x', '"', '$(id)', '\u00e9', '--max-restarts', 'NaN', '--probe', 'tcp:x', '--env', 'A=b', '--help'];
const registries = fc.oneof(
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('web', 'db', 'x y', '$settings', 'a'), fc.oneof(
    fc.record({ command: fc.oneof(fc.constant('exec sleep 1000'), fc.constant(''), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }),
    fc.record({ command: fc.constant('exec sleep 1000'), depends_on: fc.array(fc.constantFrom('web', 'db', 'a', 'zz'), { maxLength: 2 }), max_restarts: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.string()) }),
    fc.jsonValue({ maxDepth: 2 }),
  ), { maxKeys: 3 }),
);

describe('random argv against random registries', () => {
  it('exits 0, 1 or 2, never with a stack trace or exit 70; a usage error is one line', async () => {
    const runs = Number(process.env.PGUARD_FUZZ_RUNS ?? 30);
    await fc.assert(fc.asyncProperty(registries, fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 5 }), async (reg, argv) => {
      // Never a long wait, never the user's crontab or a server: those commands are not fuzzed.
      if (['cron', 'watch', 'dashboard', 'mcp', 'skill', 'import', 'boot'].includes(argv[0]!) || argv.includes('-f') || argv.includes('--follow')) return;
      // wait and start are bounded by a flag put first (after a `--` it would be a word), and a
      // history that sets that flag itself is not run (--timeout 1e9 is a wait the user asked for).
      const [cmd, ...rest] = argv;
      if ((cmd === 'wait' && rest.includes('--timeout')) || ((cmd === 'start' || cmd === 'restart') && rest.includes('--wait'))) return;
      const args = cmd === 'wait' ? [cmd, '--timeout', '0.1', ...rest] : cmd === 'start' || cmd === 'restart' ? [cmd!, '--no-wait', ...rest] : argv;
      const t = tmpRegistry({}, { raw: JSON.stringify(reg) ?? 'null' });
      const res = await t.cli(args);
      expect([0, 1, 2], `${JSON.stringify(args)} on ${JSON.stringify(reg)}: ${res.code}\n${res.stderr}`).toContain(res.code);
      expect(res.stderr).not.toMatch(/unexpected error|\n\s+at \S+ \(/);
      // A usage error is one line; a registry that breaks the schema names each of its issues, one
      // line each, every one of them `pguard: FILE: ...`.
      // With --json (before any `--`), the error is one JSON object instead.
      const lines = res.stderr.trim().split('\n');
      const json = args.slice(0, args.includes('--') ? args.indexOf('--') : undefined).includes('--json');
      if (res.code === 2 && json) expect(JSON.parse(lines.at(-1)!), res.stderr).toMatchObject({ code: expect.any(String) });
      if (res.code === 2 && !json && lines.length > 1) expect(lines.every((l) => l.startsWith(`pguard: ${t.registry}: `)), `${JSON.stringify(args)}: ${res.stderr}`).toBe(true);
      if (res.code === 2 && !json) expect(lines[0], `${JSON.stringify(args)}: ${res.stderr}`).toMatch(/^pguard: /);
    }), { numRuns: runs, ...(process.env.PGUARD_FUZZ_SEED ? { seed: Number(process.env.PGUARD_FUZZ_SEED) } : {}) });
  }, 300_000);
});
