import { describe, expect, it } from 'vitest';
import { validateRegistry } from '../../src/core/validate.js';
import { describeJsonSchema } from '../../src/core/schema.js';
import { readFileSync } from 'node:fs';

describe('validateRegistry()', () => {
  it('loads the legacy managed-process format unchanged', () => {
    const { defs, issues } = validateRegistry({
      'my-bot': { command: 'python3 bot.py', duration_min: 480, auto_restart: true, max_restarts: 5, restart_cooldown: 30 },
    });
    expect(issues).toEqual([]);
    expect(defs.get('my-bot')).toMatchObject({
      command: 'python3 bot.py', durationMin: 480, autoRestart: true, maxRestarts: 5, restartCooldownS: 30,
      minUptimeS: 60, stopSignal: 'SIGTERM', killTimeoutS: 10, dependsOn: [], backoff: 'fixed',
    });
  });

  it('fills every default', () => {
    const { defs } = validateRegistry({ a: { command: 'x' } });
    expect(defs.get('a')).toEqual({
      name: 'a', command: 'x', cwd: undefined, env: {}, envFile: undefined, durationMin: 0, autoRestart: true,
      maxRestarts: 5, restartCooldownS: 30, minUptimeS: 60, backoff: 'fixed', stopSignal: 'SIGTERM', killTimeoutS: 10,
      dependsOn: [], autostart: false, logMaxMb: 10, logKeep: 3, logWriter: false, health: [], maxMemoryMb: undefined, maxCpuPercent: undefined,
      cpuWindowS: 60, readyAfterS: 3, restartDependents: true, noRestartExitCodes: [78], successExitCodes: [], survivesRestartOf: [],
      user: undefined, group: undefined,
    });
  });

  const bad: [string, unknown, string][] = [
    ['max_restarts', '5x', 'max_restarts: expected a non-negative integer, got "5x" (string)'],
    ['max_restarts', -1, 'max_restarts: expected a non-negative integer, got -1 (number)'],
    ['no_restart_exit_codes', [78, 256], 'no_restart_exit_codes: expected an array of exit codes (whole numbers from 0 to 255), got [78,256] (array)'],
    ['duration_min', 'long', 'duration_min: expected a non-negative number, got "long" (string)'],
    ['auto_restart', 'yes', 'auto_restart: expected true or false, got "yes" (string)'],
    ['env', { A: 1 }, 'env: expected an object of NAME: "string value" pairs, got an object'],
    ['stop_signal', 'SIGFOO', 'stop_signal: expected one of SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGKILL, SIGUSR1, SIGUSR2, got "SIGFOO" (string)'],
    ['depends_on', 'db', 'depends_on: expected an array of process names (or {"name": "db", "restart": false}), got "db" (string)'],
    ['backoff', 'linear', 'backoff: expected "fixed" or "exponential", got "linear" (string)'],
    ['success_exit_codes', [0, 78], 'success_exit_codes: 78 cannot mean both done and "do not restart me" (no_restart_exit_codes; 126 and 127 always do)'],
    ['success_exit_codes', [127], 'success_exit_codes: 127 cannot mean both done and "do not restart me" (no_restart_exit_codes; 126 and 127 always do)'],
    ['user', 'no body', 'user: expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id, got "no body" (string)'],
    ['user', '-x', 'user: expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id, got "-x" (string)'],
    ['user', -1, 'user: expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id, got -1 (number)'],
    ['user', 4_294_967_295, 'user: expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id, got 4294967295 (number)'],
    ['user', 'a'.repeat(33), `user: expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id, got "${'a'.repeat(33)}" (string)`],
  ];
  it.each(bad)('names the process and field for a bad %s', (field, value, message) => {
    const { issues } = validateRegistry({ bot: { command: 'x', [field]: value } });
    expect(issues.map((i) => `${i.field}: ${i.message}`)).toEqual([message]);
    expect(issues[0]!.process).toBe('bot');
  });

  it.each([
    ['a name', { user: 'www-data' }, { user: 'www-data', group: undefined }],
    ['a machine account', { user: 'host$' }, { user: 'host$', group: undefined }],
    ['a uid as a number, kept as its digits', { user: 33, group: 0 }, { user: '33', group: '0' }],
    ['a uid and gid as strings', { user: '65534', group: 'nogroup' }, { user: '65534', group: 'nogroup' }],
  ])('takes user and group as %s (shape only: no account is looked up)', (_what, entry, expected) => {
    const { defs, issues } = validateRegistry({ bot: { command: 'x', ...entry } });
    expect(issues).toEqual([]);
    expect(defs.get('bot')).toMatchObject(expected);
  });

  it('refuses group without user, naming the field', () => {
    const { issues } = validateRegistry({ bot: { command: 'x', group: 'adm' } });
    expect(issues).toEqual([{ process: 'bot', field: 'group', message: 'needs user (the group is that of the user the program runs as); add user, or remove group' }]);
  });

  it('reports every issue at once', () => {
    const { issues } = validateRegistry({ a: { max_restarts: 'x' }, 'b/../c': { command: 'y' }, c: { command: 'z', depends_on: ['nope'] } });
    expect(issues.map((i) => `${i.process}.${i.field}`)).toEqual(['a.command', 'a.max_restarts', 'b/../c.', 'c.depends_on']);
  });

  it.each(['../etc', 'a b', '', '-x', 'x'.repeat(65), '.hidden'])('refuses the name %j', (name) => {
    const { issues } = validateRegistry({ [name]: { command: 'x' } });
    expect(issues[0]?.message).toMatch(/invalid process name/);
  });

  it('accepts $schema and $settings, refuses other $ keys', () => {
    const { issues, settings } = validateRegistry({ $schema: './s.json', $settings: { alert_cooldown: 5 }, $other: 1 });
    expect(settings.alertCooldownS).toBe(5);
    expect(issues).toEqual([{ process: '$other', field: '', message: 'keys starting with "$" are reserved ($schema, $settings)' }]);
  });

  it('normalizes signal names', () => {
    expect(validateRegistry({ a: { command: 'x', stop_signal: 'int' } }).defs.get('a')?.stopSignal).toBe('SIGINT');
  });

  it('takes a dependency as a name or as {"name", "restart": false} (one it survives the restart of)', () => {
    const { defs, issues } = validateRegistry({ db: { command: 'x' }, cache: { command: 'x' }, api: { command: 'x', depends_on: ['cache', { name: 'db', restart: false }] } });
    expect(issues).toEqual([]);
    expect(defs.get('api')).toMatchObject({ dependsOn: ['cache', 'db'], survivesRestartOf: ['db'] });
    expect(validateRegistry({ db: { command: 'x' }, api: { command: 'x', depends_on: [{ name: 'db', restart: 'no' }] } }).issues).toHaveLength(1);
  });

  it.each([
    { url: 'file:///etc/passwd', got: '"file:…" (a string of 18 characters; the rest is not shown, as a webhook URL may hold a secret)' },
    { url: 'gopher://x', got: '"gopher:…" (a string of 10 characters; the rest is not shown, as a webhook URL may hold a secret)' },
    { url: 'not a url', got: '(a string of 9 characters; it is not shown, as a webhook URL may hold a secret)' },
    // Passes for http, but does not parse: refused here, not at the first alert.
    { url: 'http://u:pw@[127.0.0.1/hook', got: '"http:…" (a string of 27 characters; the rest is not shown, as a webhook URL may hold a secret)' },
    { url: 5, got: '5 (number)' },
  ])('refuses the webhook $url, naming it without its text: only http and https URLs that parse', ({ url, got }) => {
    expect(validateRegistry({ $settings: { webhook: url } }).issues).toEqual([
      { process: '$settings', field: 'webhook', message: `expected an http:// or https:// URL, got ${got}` },
    ]);
  });

  it('takes a webhook URL with credentials (they are sent as Authorization: Basic)', () => {
    expect(validateRegistry({ $settings: { webhook: 'https://user:p%40ss@hooks.example.com/x' } })).toMatchObject({ issues: [], settings: { webhook: 'https://user:p%40ss@hooks.example.com/x' } });
  });

  it('refuses a dependency cycle, naming it', () => {
    const { issues } = validateRegistry({ a: { command: 'x', depends_on: ['b'] }, b: { command: 'x', depends_on: ['a'] } });
    expect(issues).toEqual([{ process: 'a', field: 'depends_on', message: 'forms a cycle: a -> b -> a' }]);
  });
});

describe('the shipped JSON Schema', () => {
  it('is the one generated from FIELDS (regenerate templates/registry.schema.json if this fails)', () => {
    const shipped = JSON.parse(readFileSync(new URL('../../templates/registry.schema.json', import.meta.url), 'utf8'));
    expect(shipped).toEqual(describeJsonSchema());
  });
});
