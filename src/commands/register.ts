import type { Argv, CommandModule } from 'yargs';
import { FIELDS, type FieldSpec } from '../core/schema.js';
import { UserError } from '../errors.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs {
  name: string;
  command: string;
  duration_min?: string;
  cwd?: string;
  env?: string[];
  'env-file'?: string;
  'max-restarts'?: string;
  'restart-cooldown'?: string;
  'min-uptime'?: string;
  'auto-restart'?: boolean;
  'stop-signal'?: string;
  'kill-timeout'?: string;
  'depends-on'?: string[];
  backoff?: string;
  autostart?: boolean;
  'log-writer'?: boolean;
  'log-max-mb'?: string;
  'log-keep'?: string;
  probe?: string[];
  user?: string;
  group?: string;
  schedule?: string;
  'restart-schedule'?: string;
}

/** Every numeric field of the registry has its flag (--max-memory-mb for max_memory_mb), described from FIELDS with its unit and default. */
const NUMERIC_FIELDS = FIELDS.filter((f) => (f.type === 'non-negative-number' || f.type === 'non-negative-integer') && f.key !== 'duration_min');
const NUMERIC: Record<string, string> = Object.fromEntries(NUMERIC_FIELDS.map((f) => [f.key.replace(/_/g, '-'), f.key]));
const describeField = (f: FieldSpec) => `${f.doc.replace(/\.$/, '')}${f.unit ? ` (${f.unit}` : ''}${f.default !== undefined ? `${f.unit ? ', ' : ' ('}default ${String(f.default)})` : f.unit ? ')' : ''}`;
/** A numeric flag's value (yargs reads a word that is not a number as NaN): one line naming the flag where it is not a number. */
function numberFlag(flag: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const args = process.argv;
  const at = args.findIndex((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  const given = at < 0 ? String(value) : args[at]!.includes('=') ? args[at]!.slice(args[at]!.indexOf('=') + 1) : String(args[at + 1] ?? '');
  throw new UserError(`--${flag} expects a number, got ${JSON.stringify(given)}.`, 2);
}

/** Probe settings for every --probe of the same call. */
const PROBE_FLAGS = { 'probe-interval': 'interval', 'probe-timeout': 'timeout', 'probe-failure-threshold': 'failure_threshold', 'probe-grace': 'grace' } as const;

export const registerCommand: CommandModule<GlobalArgs, Args> = {
  command: 'register <name> <command> [duration_min]',
  describe: 'Add a process to the registry, or update it (says what changed)',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'Process name (letters, digits, . _ -)' })
      .positional('command', { type: 'string', demandOption: true, describe: 'Shell command (quote it)' })
      .positional('duration_min', { type: 'string', describe: 'Expected run time in minutes; 0 = indefinite' })
      .option('cwd', { type: 'string', describe: 'Working directory' })
      .option('env', { type: 'string', array: true, describe: 'NAME=VALUE (repeatable)' })
      .option('env-file', { type: 'string', describe: 'dotenv file' })
      .option('auto-restart', { type: 'boolean', describe: 'Restart after a premature death (--no-auto-restart to turn off)' })
      .option('stop-signal', { type: 'string', describe: 'Signal for stop (default SIGTERM)' })
      .option('depends-on', { type: 'string', array: true, describe: 'Names this process needs (repeatable or comma-separated)' })
      .option('backoff', { type: 'string', choices: ['fixed', 'exponential'], describe: 'Restart spacing' })
      .option('autostart', { type: 'boolean', describe: 'Start it on `pguard boot`' })
      .option('log-writer', { type: 'boolean', describe: 'Rotate the log as it is written, at --log-max-mb (a writer beside the runner: never larger, nothing lost; ~0.2 MB more a process)' })
      .option('user', { type: 'string', requiresArg: true, describe: 'Run it as this user (name or uid; pguard must run as root)' })
      .option('group', { type: 'string', requiresArg: true, describe: "With --user: this primary group instead of the user's" })
      .option('schedule', { type: 'string', requiresArg: true, describe: 'Run it to completion on a schedule: cron "0 * * * *", @daily, or "every 30m" (start arms it)' })
      .option('restart-schedule', { type: 'string', requiresArg: true, describe: 'Restart it gracefully on a schedule (PM2\'s cron_restart); same syntax' })
      .options(Object.fromEntries(NUMERIC_FIELDS.map((f) => [f.key.replace(/_/g, '-'), { type: 'number' as const, requiresArg: true, describe: describeField(f) }])))
      .option('probe', { type: 'string', array: true, describe: 'Health probe (repeatable; replaces the list): http://HOST:PORT/PATH | tcp:HOST:PORT | exec:COMMAND | heartbeat:MAX_AGE_S | none' })
      .option('probe-interval', { type: 'number', requiresArg: true, describe: 'Seconds between runs of each --probe (default 10)' })
      .option('probe-timeout', { type: 'number', requiresArg: true, describe: 'Seconds each --probe may take (default 5)' })
      .option('probe-failure-threshold', { type: 'number', requiresArg: true, describe: 'Failures in a row that restart it (default 3)' })
      .option('probe-grace', { type: 'number', requiresArg: true, describe: 'Seconds after a start when failures do not count (default 10)' })
      .example('$0 register my-bot "python3 bot.py" 480 --max-restarts 5', 'an 8-hour job')
      .example('$0 register api "node server.js" --env PORT=8080 --depends-on db', 'a server that needs db')
      .example('$0 register api "node server.js" --probe http://127.0.0.1:8080/health', 'restarted when /health fails 3 times')
      .example('$0 register db "postgres -D /srv/pg" --probe tcp:127.0.0.1:5432 --probe-interval 2 --probe-failure-threshold 2', '')
      .example('$0 register scraper "python3 scrape.py" --max-memory-mb 500', 'restarted past 500 MB') as unknown as Argv<Args>,
  handler: async (argv) => {
    const { parseEnvArgs, parseListArgs, parseNumberArg, parseProbeArgs } = await import('../cli/args.js');
    const { registryLockDir, resolveRegistryPath } = await import('../cli/wiring.js');
    const { registerProcess } = await import('../app/register.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const patch: Record<string, unknown> = { command: argv.command };
    if (argv.duration_min !== undefined) patch.duration_min = parseNumberArg(argv.duration_min);
    if (argv.cwd !== undefined) patch.cwd = argv.cwd;
    if (argv.env !== undefined) patch.env = parseEnvArgs(argv.env);
    if (argv['env-file'] !== undefined) patch.env_file = argv['env-file'];
    for (const [flag, key] of Object.entries(NUMERIC)) {
      const v = argv[flag as keyof Args];
      if (v !== undefined) patch[key] = numberFlag(flag, v);
    }
    if (argv['auto-restart'] !== undefined) patch.auto_restart = argv['auto-restart'];
    if (argv['stop-signal'] !== undefined) patch.stop_signal = argv['stop-signal'];
    if (argv['depends-on'] !== undefined) patch.depends_on = parseListArgs(argv['depends-on']);
    if (argv.backoff !== undefined) patch.backoff = argv.backoff;
    if (argv.autostart !== undefined) patch.autostart = argv.autostart;
    if (argv['log-writer'] !== undefined) patch.log_writer = argv['log-writer'];
    if (argv.user !== undefined) patch.user = argv.user;
    if (argv.group !== undefined) patch.group = argv.group;
    if (argv.schedule !== undefined) patch.schedule = argv.schedule;
    if (argv['restart-schedule'] !== undefined) patch.restart_schedule = argv['restart-schedule'];
    const probeSettings = Object.fromEntries(Object.entries(PROBE_FLAGS).flatMap(([flag, key]) => {
      const v = (argv as unknown as Record<string, unknown>)[flag];
      return v !== undefined ? [[key, numberFlag(flag, v)]] : [];
    }));
    if (Object.keys(probeSettings).length > 0 && argv.probe === undefined) {
      const { UserError } = await import('../errors.js');
      throw new UserError(`--${Object.keys(PROBE_FLAGS).find((f) => (argv as unknown as Record<string, unknown>)[f] !== undefined)} applies to the probes of this call: give them with --probe.`, 2);
    }
    if (argv.probe !== undefined) patch.health = parseProbeArgs(argv.probe).map((p) => (Object.keys(p).length > 0 ? { ...p, ...probeSettings } : p));
    const path = resolveRegistryPath(argv, { create: true });
    const res = await registerProcess(path, registryLockDir(path), argv.name, patch);
    const { buildContext } = await import('../cli/wiring.js');
    const { remember } = await import('../cli/anywhere.js');
    const ctx = buildContext({ ...argv, registry: path }, { tolerant: true });
    await remember(ctx);
    const { recordRegistration } = await import('../app/register.js');
    await recordRegistration(ctx, res);
    if (argv.json) return printJson(res);
    if (res.warning) process.stderr.write(`pguard: warning: ${res.warning}\n`);
    if (patch.user !== undefined) {
      const { describeForeignUsers } = await import('../effects/run-as.js');
      const foreign = describeForeignUsers([{ name: res.name, user: patch.user }]);
      if (foreign) process.stderr.write(`pguard: note: ${foreign}\n`);
    }
    if (res.created) printLine(`registered ${res.name} in ${res.registry}`);
    else if (res.changes.length === 0) printLine(`${res.name}: no changes`);
    else printLine(`updated ${res.name}: ${res.changes.join(', ')}${'\n'}(a running instance keeps its old definition until \`pguard restart ${res.name}\`)`);
  },
};
