// The fast path (cli/fast.ts) and yargs parse every documented call of the hot commands alike,
// from the one declaration each command has; and the fast path leaves to yargs what it does not take.
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/commands/list.js';
import { flagsOf } from '../../src/cli/command.js';
import { GLOBAL_OPTIONS, parseFast } from '../../src/cli/fast.js';
import { HOT_NAMES } from '../../src/cli/hot.js';
import { readFileSync } from 'node:fs';

/** What yargs hands the handler, the handlers swapped for a capture. */
async function parseWithYargs(argv: string[]): Promise<Record<string, unknown> | string> {
  let captured: Record<string, unknown> | null = null;
  let failure = '';
  await yargs(argv)
    .option('registry', { ...GLOBAL_OPTIONS.registry, global: true })
    .option('json', { ...GLOBAL_OPTIONS.json, global: true })
    .command(COMMANDS.map((c) => ({ ...c, handler: (a: Record<string, unknown>) => { captured = a; } })))
    .strict()
    .fail((msg) => { failure = msg; })
    .exitProcess(false)
    .parseAsync();
  return captured ?? `failed: ${failure}`;
}

/** The keys a command reads: its options (and their camelCase forms), positionals, the globals. */
function relevant(args: Record<string, unknown>, name: string): Record<string, unknown> {
  const cmd = COMMANDS.find((c) => String(c.command).split(' ')[0] === name)!;
  const flags = flagsOf(cmd)!;
  const keys = [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(flags.options ?? {}), ...Object.keys(flags.positionals ?? {})];
  const withCamel = keys.flatMap((k) => [k, k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())]);
  return Object.fromEntries([...new Set(withCamel)].filter((k) => args[k] !== undefined).map((k) => [k, args[k]]));
}

const CALLS: string[][] = [
  ['status'], ['status', '--json'], ['status', 'my-bot'], ['status', 'my-bot', '--json'], ['status', 'web', 'worker'], ['status', '--registry', '/srv/.process-registry.json'],
  ['status', '--registry=/x/r.json', '--json'], ['status', '--no-json'], ['status', '--json=false'],
  ['healthcheck'], ['healthcheck', '--json'], ['healthcheck', '--wait', '5'], ['healthcheck', '--wait=2.5', '--registry', '/r.json', '--json'],
  ['on-exit', 'bot', '--registry', '/r.json', '--run', '3.2'], ['on-exit', 'bot', '--run', '3.2', '--restarted-at', '1796130177732'],
  ['heartbeat', 'bot'], ['heartbeat', 'bot', '--registry', '/r.json'],
  ['notify', 'a1b2c3d4'], ['notify', 'a1b2c3d4', 'e5f6a7b8', '--registry', '/r.json'],
  ['alerts'], ['alerts', '--json'], ['alerts', '--all', '--json'], ['alerts', '--process', 'bot'],
  ['dashboard'], ['dashboard', '--port', '0', '--read-only'], ['dashboard', '--host', '0.0.0.0', '--port=8080', '--open'], ['dashboard', '--no-open', '--registry', '/r.json'],
  ['start', 'bot'], ['start', 'db', 'api', 'bot'], ['start', '--all'], ['start', '--all', '--no-wait'], ['start', '--all', '--wait', '3'],
  ['start', 'bot', '--wait=0.5', '--json'], ['start', '--no-wait', 'bot', '--registry', '/r.json'], ['start', '--all', '--wait', '0'],
  ['watch'], ['watch', '--foreground'], ['watch', '--stop'], ['watch', '--status', '--json'], ['watch', '--foreground', '--registry', '/r.json'],
];

describe('the fast path', () => {
  it.each(CALLS.map((c) => [c.join(' '), c] as const))('parses `pguard %s` as yargs does', async (_label, argv) => {
    const fast = parseFast(argv, COMMANDS);
    expect(fast, 'the fast path should take this call').not.toBeNull();
    const slow = await parseWithYargs(argv);
    expect(typeof slow).toBe('object');
    expect(relevant(fast!.args, argv[0]!)).toEqual(relevant(slow as Record<string, unknown>, argv[0]!));
  });

  it.each([
    [['status', '--help']], [['status', '-h']], [['status', '--bogus']], [['on-exit', 'bot', 'extra']], [['on-exit', 'bot']], [['heartbeat']],
    [['alerts', 'ack', '--all']], [['start', '--wait']], [['start', '--no-wait=1']], [['register', 'a', 'b']], [['status', '--registry']], [['healthcheck', '--wait']],
    [['notify']], [['--version']], [[]],
  ])('leaves %j to yargs', (argv) => {
    expect(parseFast(argv, COMMANDS)).toBeNull();
  });
});

describe('the hot commands', () => {
  it('are the same in bin/pguard.js and src/cli/hot.ts, and each declares its flags', () => {
    const bin = readFileSync(new URL('../../bin/pguard.js', import.meta.url), 'utf8');
    const listed = JSON.parse(/const HOT = (\[[^\]]*\])/.exec(bin)![1]!.replace(/'/g, '"'));
    expect(listed).toEqual([...HOT_NAMES]);
    for (const name of HOT_NAMES) expect(flagsOf(COMMANDS.find((c) => String(c.command).split(' ')[0] === name)!), name).toBeDefined();
  });
});
