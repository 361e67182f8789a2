import type { CommandModule } from 'yargs';
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
  'log-max-mb'?: string;
  'log-keep'?: string;
  probe?: string[];
}

/** flag -> registry key, and how to read its value. */
const NUMERIC: Record<string, string> = {
  'max-restarts': 'max_restarts', 'restart-cooldown': 'restart_cooldown', 'min-uptime': 'min_uptime',
  'kill-timeout': 'kill_timeout', 'log-max-mb': 'log_max_mb', 'log-keep': 'log_keep',
};

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
      .option('max-restarts', { type: 'string', describe: 'Automatic restarts before giving up' })
      .option('restart-cooldown', { type: 'string', describe: 'Seconds between automatic restarts' })
      .option('min-uptime', { type: 'string', describe: 'Seconds a run must last to count as stable' })
      .option('auto-restart', { type: 'boolean', describe: 'Restart after a premature death (--no-auto-restart to turn off)' })
      .option('stop-signal', { type: 'string', describe: 'Signal for stop (default SIGTERM)' })
      .option('kill-timeout', { type: 'string', describe: 'Seconds before SIGKILL on stop' })
      .option('depends-on', { type: 'string', array: true, describe: 'Names this process needs (repeatable or comma-separated)' })
      .option('backoff', { type: 'string', choices: ['fixed', 'exponential'], describe: 'Restart spacing' })
      .option('autostart', { type: 'boolean', describe: 'Start it on `pguard boot`' })
      .option('log-max-mb', { type: 'string', describe: 'Rotate the log past this size' })
      .option('log-keep', { type: 'string', describe: 'Rotated logs to keep' })
      .option('probe', { type: 'string', array: true, describe: 'Health probe (repeatable; replaces the list): http://HOST:PORT/PATH | tcp:HOST:PORT | exec:COMMAND | heartbeat:MAX_AGE_S | none' })
      .example('$0 register my-bot "python3 bot.py" 480 --max-restarts 5', 'an 8-hour job')
      .example('$0 register api "node server.js" --env PORT=8080 --depends-on db', 'a server that needs db')
      .example('$0 register api "node server.js" --probe http://127.0.0.1:8080/health', 'restarted when /health fails 3 times'),
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
      if (typeof v === 'string') patch[key] = parseNumberArg(v);
    }
    if (argv['auto-restart'] !== undefined) patch.auto_restart = argv['auto-restart'];
    if (argv['stop-signal'] !== undefined) patch.stop_signal = argv['stop-signal'];
    if (argv['depends-on'] !== undefined) patch.depends_on = parseListArgs(argv['depends-on']);
    if (argv.backoff !== undefined) patch.backoff = argv.backoff;
    if (argv.autostart !== undefined) patch.autostart = argv.autostart;
    if (argv.probe !== undefined) patch.health = parseProbeArgs(argv.probe);
    const path = resolveRegistryPath(argv, { create: true });
    const res = await registerProcess(path, registryLockDir(path), argv.name, patch);
    const { buildContext } = await import('../cli/wiring.js');
    const { remember } = await import('../cli/anywhere.js');
    const ctx = buildContext({ ...argv, registry: path }, { tolerant: true });
    await remember(ctx);
    const { recordRegistration } = await import('../app/register.js');
    await recordRegistration(ctx, res);
    if (argv.json) return printJson(res);
    if (res.created) printLine(`registered ${res.name} in ${res.registry}`);
    else if (res.changes.length === 0) printLine(`${res.name}: no changes`);
    else printLine(`updated ${res.name}: ${res.changes.join(', ')}${'\n'}(a running instance keeps its old definition until \`pguard restart ${res.name}\`)`);
  },
};
