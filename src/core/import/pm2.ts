// PM2: an ecosystem file's apps (or `pm2 jlist` output) as registry entries, read as PM2 reads
// them (lib/API/schema.json for names, aliases and defaults; lib/Common.js for how a script is
// run; lib/God.js for restarts): every key that has no pguard equivalent is named in a note.
import type { Note } from '../export-common.js';
import { ACCOUNT_PATTERN, ENV_NAME, isExitCode } from '../schema.js';
import { validateSchedule } from '../schedule.js';
import { splitSimpleCommand } from '../export-common.js';
import { filled, isObj, megabytes, noter, seconds, shellCommand, stringEnv, takeName, type Imported, type Obj } from './common.js';

/** PM2's aliases (schema.json): each alias -> the key it stands for. */
const ALIASES: Record<string, string> = {
  exec: 'script', interpreter: 'exec_interpreter', interpreterArgs: 'node_args', interpreter_args: 'node_args',
  out: 'out_file', output: 'out_file', out_log: 'out_file', error: 'error_file', err: 'error_file', err_file: 'error_file',
  err_log: 'error_file', log: 'log_file', pid: 'pid_file', cron: 'cron_restart', combine_logs: 'merge_logs', user: 'uid',
};

/** lib/API/interpreter.json: the interpreter PM2 picks by extension (.ts with bun since PM2 5.3.1). */
const INTERPRETER_BY_EXT: Record<string, string> = {
  sh: 'bash', py: 'python3', rb: 'ruby', php: 'php', pl: 'perl', js: 'node', coffee: 'coffee', ls: 'lsc', ts: 'bun', tsx: 'bun',
  // Not in the table: PM2 runs a text file with Node.
  mjs: 'node', cjs: 'node',
};

/** Keys this importer reads (after aliases); any other key of an app is named in a note. */
const HANDLED = new Set([
  'name', 'script', 'args', 'exec_interpreter', 'node_args', 'cwd', 'env', 'env_file', 'port', 'autorestart', 'max_restarts', 'min_uptime',
  'restart_delay', 'exp_backoff_restart_delay', 'max_memory_restart', 'kill_timeout', 'stop_exit_codes', 'instances', 'exec_mode',
  'watch', 'ignore_watch', 'watch_delay', 'watch_options', 'cron_restart', 'out_file', 'error_file', 'log_file', 'log_date_format',
  'merge_logs', 'time', 'uid', 'gid', 'command',
]);

/** PM2's own split of a string of arguments (lib/tools/Config.js): quotes grouped, no shell. */
export function pm2Args(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)]; // `args: 300` (YAML and JS alike)
  if (typeof v !== 'string') return [];
  return (v.match(/[^\s"'=]+="[^"]*"|[^\s"'=]+='[^']*'|"([^"]*)"|'([^']*)'|\S+/g) ?? [])
    .map((w) => (w.length >= 2 && (w[0] === '"' || w[0] === "'") && w.at(-1) === w[0] ? w.slice(1, -1) : w))
    .filter((w) => w.trim() !== '');
}

/** PM2: an ecosystem's `apps` (or one app), or `pm2 jlist` output (apps with pm2_env). */
export function importPm2(input: unknown): Imported {
  const notes: Note[] = [];
  const apps: unknown[] = Array.isArray(input) ? input
    : isObj(input) && Array.isArray(input.apps) ? input.apps
      : isObj(input) && ['script', 'exec', 'command'].some((k) => Object.hasOwn(input, k)) ? [input] : [];
  if (isObj(input) && input.deploy !== undefined) notes.push({ process: '(file)', field: 'deploy', message: "PM2's deployment recipes are not processes: not imported" });
  const entries = [];
  for (const [i, raw] of apps.entries()) {
    if (!isObj(raw)) continue;
    const jlist = isObj(raw.pm2_env);
    const a = jlist ? fromJlist(raw) : withAliases(raw);
    // JSON files may say `command` for `script` (lib/Common.js).
    if (a.script === undefined && typeof a.command === 'string') a.script = a.command;
    const script = typeof a.script === 'string' ? a.script.trim() : '';
    const spaced = script.includes(' ');
    const fallback = `app${i + 1}`;
    const name = takeName(typeof a.name === 'string' ? a.name : spaced ? script : script.split('/').pop()!.replace(/\.\w+$/, ''), notes, fallback);
    const note = noter(notes, name);
    if (!script) {
      note('script', `no script (PM2 requires one${raw.cmd !== undefined ? '; `cmd` is not a PM2 key' : ''}): nothing to run, not imported`);
      continue;
    }
    const e: Obj = {};
    e.command = commandOf(a, script, note);
    if (filled(a.cwd)) e.cwd = a.cwd;
    const env: Record<string, string> = {};
    if (isObj(a.env) && !jlist) {
      for (const [k, v] of Object.entries(a.env)) {
        if (v === undefined || v === null) note(`env.${k}`, 'no value when the file was read (unset in this environment): not imported');
        else if (!ENV_NAME.test(k)) note(`env.${k}`, 'not a variable name pguard takes: not imported');
        else env[k] = stringEnv({ v }).v!;
      }
    }
    if (typeof a.port === 'number' || typeof a.port === 'string') env.PORT ??= String(a.port);
    if (typeof a.exec_interpreter === 'string' ? a.exec_interpreter.includes('python') : /\.py$/i.test(script)) env.PYTHONUNBUFFERED ??= '1'; // as PM2 sets it
    if (Object.keys(env).length > 0) e.env = env;
    if (jlist) note('env', "pm2 jlist shows the daemon's whole environment: not imported; set the variables this app needs with register --env");
    if (filled(a.env_file)) e.env_file = a.env_file;
    for (const k of Object.keys(a).filter((k) => /^env_/.test(k) && k !== 'env_file')) note(k, `PM2's per-environment block is not imported (pguard has one env; --env ${k.slice(4)} chose it in PM2)`);
    // Restarts, with PM2's defaults written out (schema.json; lib/God.js).
    // autorestart false: PM2 shows an app that exited 0 as stopped, not errored.
    if (a.autorestart === false) { e.auto_restart = false; e.success_exit_codes = [0]; }
    e.max_restarts = typeof a.max_restarts === 'number' && a.max_restarts >= 0 ? Math.floor(a.max_restarts) : 16;
    e.min_uptime = seconds(a.min_uptime, 'ms') ?? 1;
    e.restart_cooldown = seconds(a.restart_delay, 'ms') ?? 0;
    const exp = seconds(a.exp_backoff_restart_delay, 'ms');
    if (exp !== undefined && exp > 0) {
      e.backoff = 'exponential';
      e.restart_cooldown = exp;
      note('exp_backoff_restart_delay', `PM2 waits ${exp} s, then 1.5 x longer each time up to 15 s; pguard doubles it up to ${Math.min(3600, exp * 16)} s (16 x)`);
    }
    e.kill_timeout = seconds(a.kill_timeout, 'ms') ?? 1.6;
    const stopCodes = typeof a.stop_exit_codes === 'number' ? [a.stop_exit_codes] : Array.isArray(a.stop_exit_codes) ? a.stop_exit_codes : undefined;
    if (stopCodes) {
      if (stopCodes.every(isExitCode)) e.success_exit_codes = [...new Set([...(e.success_exit_codes as number[] | undefined ?? []), ...stopCodes])];
      else note('stop_exit_codes', `not a list of exit codes (${JSON.stringify(a.stop_exit_codes)}): not imported`);
    }
    const mem = megabytes(a.max_memory_restart);
    if (mem !== undefined) e.max_memory_mb = mem;
    // uid/gid: PM2 sets them where it runs as root, as pguard does with user and group.
    if (a.uid !== undefined || a.gid !== undefined) {
      const bad = [a.uid, a.gid].find((x) => x !== undefined && !ACCOUNT_PATTERN.test(String(x)));
      if (bad !== undefined) { note('uid', `${JSON.stringify(bad)} is not a user or group: not imported (it would run as whoever runs pguard)`); continue; }
      if (a.uid !== undefined) e.user = String(a.uid);
      if (a.gid !== undefined && a.uid !== undefined) e.group = String(a.gid);
      else if (a.gid !== undefined) note('gid', `group ${String(a.gid)} without a uid: pguard sets a group only with a user; set user too`);
    }
    if (typeof a.cron_restart === 'string' && a.cron_restart.trim()) {
      const cron = a.cron_restart.trim();
      const bad = validateSchedule(cron);
      if (bad) note('cron_restart', `${JSON.stringify(cron)}: ${bad}; not imported`);
      else if (a.autorestart === false) {
        e.schedule = cron;
        note('cron_restart', 'with autorestart false this is a job: imported as schedule (PM2 also runs it once when it is started: pguard start --now)');
      } else e.restart_schedule = cron;
    }
    // What pguard has no place for.
    const instances = a.instances;
    if (instances !== undefined && instances !== 1 && instances !== '1') note('instances', `${JSON.stringify(instances)}: pguard runs one instance of each process: register one per instance (and ports) by hand`);
    if (a.exec_mode === 'cluster' || a.exec_mode === 'cluster_mode') note('exec_mode', "PM2's cluster mode (one port shared by workers) has no equivalent: the app runs once, in fork mode");
    if (a.watch !== undefined && a.watch !== false) note('watch', 'restart on file changes is not a pguard feature');
    for (const k of ['out_file', 'error_file', 'log_file', 'log_date_format', 'merge_logs', 'time']) {
      if (a[k] !== undefined && a[k] !== false) note(k, 'pguard keeps one log per process in its state directory (`pguard logs`), without timestamps');
    }
    if (!jlist) for (const k of Object.keys(a).filter((k) => !HANDLED.has(k) && !/^env_/.test(k) && !(k === 'ignore_watch' || k === 'watch_delay' || k === 'watch_options'))) {
      note(k, noteFor(k));
    }
    entries.push({ name, entry: e });
  }
  return { entries, notes };
}

function noteFor(key: string): string {
  switch (key) {
    case 'wait_ready': case 'listen_timeout':
      return "PM2 waits for process.send('ready') (or listen_timeout); pguard counts a process ready after ready_after (3 s) or once its probes pass: add an http or tcp probe in health";
    case 'shutdown_with_message': return "pguard stops a process with stop_signal, not process.send('shutdown')";
    case 'namespace': return 'pguard has one namespace per registry';
    case 'pid_file': return 'pguard keeps the PID in its state directory';
    case 'treekill': return 'pguard always ends the whole process tree';
    default: return 'not imported: pguard has no equivalent';
  }
}

/** An app with PM2's aliases replaced by the keys they stand for (the key itself wins). */
function withAliases(raw: Obj): Obj {
  const a: Obj = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = ALIASES[k] ?? k;
    if (key !== k && Object.hasOwn(raw, key)) continue;
    a[key] = v;
  }
  return a;
}

/** `pm2 jlist`: the definition lives in pm2_env, under other names; only what defines the app is read. */
function fromJlist(raw: Obj): Obj {
  const env = raw.pm2_env as Obj;
  const a: Obj = { name: raw.name, script: env.pm_exec_path, cwd: env.pm_cwd };
  for (const k of ['args', 'exec_interpreter', 'node_args', 'autorestart', 'max_restarts', 'min_uptime', 'restart_delay', 'exp_backoff_restart_delay',
    'max_memory_restart', 'kill_timeout', 'stop_exit_codes', 'instances', 'exec_mode', 'watch', 'cron_restart', 'uid', 'gid']) {
    if (env[k] !== undefined) a[k] = env[k];
  }
  return a;
}

/** The command PM2 runs: interpreter, its arguments, the script and its arguments, without a shell. */
function commandOf(a: Obj, script: string, note: (f: string, m: string) => void): string {
  const args = pm2Args(a.args);
  // A script with spaces is a command line: PM2 runs `bash -c SCRIPT`, and drops args.
  if (script.includes(' ')) {
    if (args.length > 0) note('args', `PM2 runs a script with spaces as \`${shellCommand(['bash', '-c', script])}\` and ignores args (${args.join(' ')}): so does this import`);
    return splitSimpleCommand(script) ? script : shellCommand(['bash', '-c', script]);
  }
  const ext = /\.(\w+)$/.exec(script)?.[1]?.toLowerCase() ?? '';
  const interp = typeof a.exec_interpreter === 'string' && a.exec_interpreter.trim() ? a.exec_interpreter.trim() : INTERPRETER_BY_EXT[ext] ?? 'none';
  if (interp === 'bun' && a.exec_interpreter === undefined) note('script', 'PM2 (5.3.1 and later) runs a .ts script with bun: so does this import (ts-node before)');
  const interpArgs = pm2Args(a.node_args);
  const argv = interp === 'none' ? [script, ...args] : [interp, ...interpArgs, script, ...args];
  return shellCommand(argv);
}
