// process-compose: a process-compose.yaml's processes as registry entries, read as process-compose
// reads them (src/types/process.go, src/app/process.go, src/loader, src/templater): no
// `availability` means never restarted; commands run with `bash -c`; `vars` are Go templates;
// the top-level `environment` is every process's; `replicas` are processes of their own.
import type { Note } from '../export-common.js';
import { validateSchedule } from '../schedule.js';
import { ENV_NAME, isExitCode } from '../schema.js';
import { validateName } from '../validate.js';
import { splitSimpleCommand } from '../export-common.js';
import { filled, isObj, noter, shellCommand, SIGNALS_BY_NUMBER, takeName, type Imported, type ImportedEntry, type Obj } from './common.js';

const KNOWN = new Set([
  'command', 'entrypoint', 'working_dir', 'environment', 'env_file', 'depends_on', 'availability', 'readiness_probe', 'liveness_probe',
  'shutdown', 'disabled', 'is_disabled', 'vars', 'replicas', 'success_exit_codes', 'schedule', 'is_daemon', 'description', 'log_location',
  'namespace', 'is_elevated', 'is_template_disabled',
]);
const TOP_KNOWN = new Set(['version', 'processes', 'environment', 'vars', 'log_location', 'log_level', 'log_length', 'log_configuration', 'shell', 'extends', 'is_strict', 'env_cmds', 'ordered_shutdown', 'disable_env_expansion', 'is_tui_disabled', 'name']);

type Vars = Record<string, unknown>;
/** More replicas than this from one entry is not a stack on one machine (nor a file to expand blindly). */
const MAX_REPLICAS = 100;

/**
 * Go's text/template for what configurations use: {{.NAME}} (and {{ .NAME }}); a missing name
 * renders "<no value>", as Go's does for a map. Anything else inside {{ }} is kept, and said.
 */
export function renderVars(text: string, vars: Vars): { text: string; unknown: string[]; missing: string[] } {
  const unknown: string[] = [];
  const missing: string[] = [];
  const out = text.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (whole, inner: string) => {
    const m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
    if (!m) { unknown.push(whole); return whole; }
    const v = vars[m[1]!];
    if (v === undefined || v === null) { missing.push(m[1]!); return '<no value>'; }
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
  return { text: out, unknown, missing };
}

/** Every string of a parsed document with $$ read as $. */
function unescapeDollars(v: unknown): unknown {
  if (typeof v === 'string') return v.replaceAll('$$', '$');
  if (Array.isArray(v)) return v.map(unescapeDollars);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unescapeDollars(x)]));
  return v;
}

function envList(v: unknown): [string, string][] {
  if (Array.isArray(v)) return v.map(String).filter((s) => s.includes('=')).map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]);
  if (isObj(v)) return Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]);
  return [];
}

/** process-compose: `processes:` of a process-compose.yaml (already parsed). */
export function importProcessCompose(parsed: unknown): Imported {
  const notes: Note[] = [];
  if (!isObj(parsed)) return { entries: [], notes };
  // process-compose substitutes $VAR and ${VAR} in the whole file when it loads it (from .env and
  // its environment), $$ standing for a $. pguard leaves $VAR to bash when the process starts
  // (the same value where the environment is the same), and takes $$ as the $ it stands for.
  const doc = parsed.disable_env_expansion === true ? parsed : unescapeDollars(parsed) as Obj;
  const processes = isObj(doc.processes) ? doc.processes : {};
  const file = noter(notes, '(file)');
  const globalVars: Vars = isObj(doc.vars) ? doc.vars : {};
  const globalEnv = envList(doc.environment);
  for (const k of Object.keys(doc).filter((k) => !TOP_KNOWN.has(k))) file(k, 'not imported: pguard has no equivalent');
  if (doc.extends !== undefined) file('extends', `${JSON.stringify(doc.extends)} is not read: import it too (its processes first; then this file with --replace)`);
  if (doc.shell !== undefined) file('shell', 'pguard runs each command as process-compose does by default, with bash -c where it needs a shell; a different shell setting is not imported');
  if (doc.env_cmds !== undefined) file('env_cmds', 'variables computed by commands at start are not imported: set them in env or env_file');
  for (const k of ['log_location', 'log_level', 'log_length', 'log_configuration']) if (doc[k] !== undefined) file(k, 'pguard keeps one log per process in its state directory');
  if (doc.ordered_shutdown === true) file('ordered_shutdown', 'pguard stops dependents before what they depend on with stop --all; one by one otherwise');
  // Names first (replicas, and pguard's spelling of each): a dependency on a process with
  // replicas is on each replica, by the name its entry gets.
  const replicaNames = new Map<string, string[]>();
  for (const [raw, p] of Object.entries(processes)) {
    const asked = isObj(p) && typeof p.replicas === 'number' && Number.isInteger(p.replicas) && p.replicas > 1 ? p.replicas : 1;
    if (asked > MAX_REPLICAS) noter(notes, raw)('replicas', `${asked}: more than ${MAX_REPLICAS} processes from one entry is not a file pguard imports as written; one is imported`);
    const n = asked > MAX_REPLICAS ? 1 : asked;
    const width = 1 + Math.floor(Math.log10(n));
    replicaNames.set(raw, (n === 1 ? [raw] : Array.from({ length: n }, (_, i) => `${raw}-${String(i).padStart(width, '0')}`)).map((r) => takeName(r, notes, 'process')));
  }
  const entries: ImportedEntry[] = [];
  for (const [raw, value] of Object.entries(processes)) {
    if (!isObj(value)) continue;
    const names = replicaNames.get(raw)!;
    for (const [num, replica] of names.entries()) {
      const entry = importProcess(raw, replica, num, names.length, value, globalVars, globalEnv, replicaNames, notes);
      if (entry) entries.push(entry);
    }
  }
  return { entries, notes };
}

function importProcess(
  key: string, name: string, replicaNum: number, replicas: number, p: Obj, globalVars: Vars, globalEnv: [string, string][], replicaNames: Map<string, string[]>, notes: Note[],
): ImportedEntry | null {
  const note = noter(notes, name);
  const first = replicaNum === 0;
  const vars: Vars = { ...globalVars, ...(isObj(p.vars) ? p.vars : {}), PC_REPLICA_NUM: replicaNum };
  const render = (field: string, text: string): string => {
    if (p.is_template_disabled === true) return text;
    const r = renderVars(text, vars);
    if (r.unknown.length > 0 && first) note(field, `template ${r.unknown.join(' ')} is more than {{.NAME}}: kept as written`);
    if (r.missing.length > 0 && first) note(field, `{{.${r.missing.join('}}, {{.')}}} is in no vars: written "<no value>", as process-compose writes it`);
    return r.text;
  };
  const e: Obj = {};
  // The command: process-compose runs `bash -c COMMAND`, or an entrypoint's words without a shell.
  if (typeof p.command === 'string' && p.command.trim()) {
    const command = render('command', p.command.trim());
    e.command = splitSimpleCommand(command) ? command : shellCommand(['bash', '-c', command]);
  } else if (Array.isArray(p.entrypoint) && p.entrypoint.length > 0) {
    e.command = shellCommand(p.entrypoint.map(String));
  } else {
    if (first) note('command', 'no command: nothing to run, not imported');
    return null;
  }
  const workingDir = filled(p.working_dir) ? render('working_dir', p.working_dir) : '';
  if (filled(workingDir)) e.cwd = workingDir;
  const env = new Map<string, string>(globalEnv);
  for (const [k, v] of envList(p.environment)) env.set(k, v);
  if (replicas > 1) env.set('PC_REPLICA_NUM', String(replicaNum));
  for (const [k, v] of env) {
    if (!ENV_NAME.test(k)) { if (first) note(`environment.${k}`, 'not a variable name pguard takes: not imported'); env.delete(k); } else env.set(k, render('environment', v));
  }
  if (env.size > 0) e.env = Object.fromEntries(env);
  if (filled(p.env_file)) e.env_file = p.env_file;
  if (isObj(p.depends_on)) {
    const deps: string[] = [];
    for (const [dep, spec] of Object.entries(p.depends_on)) {
      const cond = isObj(spec) ? spec.condition : undefined;
      if (cond === 'process_completed_successfully' || cond === 'process_completed') {
        if (first) note('depends_on', `"${dep}" with ${String(cond)}: pguard starts a process once its dependency is ready, not once it has completed; not imported`);
        continue;
      }
      if (cond === 'process_log_ready' && first) note('depends_on', `"${dep}" with process_log_ready: pguard waits for its probes (or ready_after), not for a log line`);
      else if (cond !== undefined && cond !== 'process_started' && cond !== 'process_healthy' && cond !== 'process_log_ready' && first) note('depends_on', `"${dep}": condition ${JSON.stringify(cond)} is not one process-compose knows; taken as process_started`);
      const named = replicaNames.get(dep) ?? [takeName(dep, [], '')];
      if (named.some((d) => d === '' || validateName(d))) { if (first) note('depends_on', `${JSON.stringify(dep)}: not a process name: not imported`); continue; }
      deps.push(...named);
    }
    if (deps.length > 0) e.depends_on = deps;
  }
  // Restarts: no availability, or restart "no" (the zero value), means never restarted.
  const av = isObj(p.availability) ? p.availability : {};
  const restart = av.restart === false ? 'no' : typeof av.restart === 'string' ? av.restart : 'no';
  const successCodes = Array.isArray(p.success_exit_codes) && p.success_exit_codes.every(isExitCode) ? [...new Set(p.success_exit_codes as number[])] : [0];
  // Not restarted: an exit with a success code is that process's work done (process-compose shows
  // it Completed), not a crash to be alerted on.
  if (restart === 'no') {
    e.auto_restart = false;
    e.success_exit_codes = successCodes;
  } else if (restart === 'always') {
    // restarted whatever the exit
  } else if (restart === 'on_failure') {
    e.success_exit_codes = successCodes;
  } else if (restart === 'exit_on_failure') {
    e.auto_restart = false;
    e.success_exit_codes = successCodes;
    if (first) note('availability.restart', 'exit_on_failure: process-compose stops everything when it fails; pguard leaves it down with an alert, and the others running');
  } else {
    e.auto_restart = false;
    e.success_exit_codes = successCodes;
    if (first) note('availability.restart', `${JSON.stringify(av.restart)} is not a restart policy process-compose knows (always, on_failure, exit_on_failure, no): not restarted`);
  }
  if (restart === 'always' || restart === 'on_failure') {
    e.restart_cooldown = typeof av.backoff_seconds === 'number' ? Math.max(av.backoff_seconds, 1) : 1;
    if (typeof av.max_restarts === 'number' && av.max_restarts > 0) e.max_restarts = av.max_restarts;
    else if (first) note('availability.max_restarts', 'unlimited in process-compose: pguard gives up after max_restarts (5 here) unstable restarts (runs shorter than min_uptime), and retries a failed process 1, 2, 4 ... min later');
  }
  if (p.is_daemon === true) {
    e.auto_restart = false;
    e.success_exit_codes = successCodes;
    if (first) note('is_daemon', 'a command that forks into the background and exits: pguard supervises a process that stays in the foreground, so it sees this one end (completed) and cannot stop or restart the daemon; run its foreground form instead');
  }
  // Probes: liveness and readiness both become health (pguard has one list).
  const health: Obj[] = [];
  for (const key of ['liveness_probe', 'readiness_probe']) {
    const pr = p[key];
    if (!isObj(pr)) continue;
    const common: Obj = {};
    if (typeof pr.period_seconds === 'number') common.interval = pr.period_seconds;
    if (typeof pr.timeout_seconds === 'number') common.timeout = pr.timeout_seconds;
    if (typeof pr.failure_threshold === 'number') common.failure_threshold = pr.failure_threshold;
    if (typeof pr.initial_delay_seconds === 'number') common.grace = pr.initial_delay_seconds;
    let probe: Obj | null = null;
    if (isObj(pr.http_get)) {
      const h = pr.http_get;
      const scheme = typeof h.scheme === 'string' ? render(key, h.scheme).toLowerCase() : 'http';
      const host = typeof h.host === 'string' ? render(key, h.host) : '127.0.0.1';
      const port = h.port !== undefined ? `:${render(key, String(h.port))}` : '';
      probe = { type: 'http', url: `${scheme}://${host}${port}${typeof h.path === 'string' ? render(key, h.path) : '/'}`, ...common };
    } else if (isObj(pr.exec) && typeof pr.exec.command === 'string') {
      probe = { type: 'exec', command: render(key, pr.exec.command), ...common };
    } else if (first) note(key, 'a probe of a kind pguard does not know: not imported');
    if (probe && !health.some((x) => JSON.stringify(x) === JSON.stringify(probe))) health.push(probe);
  }
  if (isObj(p.readiness_probe) && first) note('readiness_probe', 'pguard has one list of probes: a failing readiness probe restarts the process here, where process-compose only marks it not ready');
  if (health.length > 0) e.health = health;
  const sd = isObj(p.shutdown) ? p.shutdown : {};
  if (typeof sd.signal === 'number') {
    if (SIGNALS_BY_NUMBER[sd.signal]) e.stop_signal = SIGNALS_BY_NUMBER[sd.signal];
    else if (first) note('shutdown.signal', `signal ${sd.signal} is not one pguard sends`);
  }
  if (typeof sd.timeout_seconds === 'number') e.kill_timeout = sd.timeout_seconds;
  if (sd.command !== undefined && first) note('shutdown.command', 'pguard stops a process with a signal, not a command');
  if (p.schedule !== undefined && !isObj(p.schedule) && first) note('schedule', `${JSON.stringify(p.schedule)} is not a schedule (cron: or interval:): not imported`);
  if (isObj(p.schedule)) {
    const s = p.schedule;
    const schedule = typeof s.cron === 'string' ? s.cron : typeof s.interval === 'string' ? `every ${s.interval}` : undefined;
    const bad = schedule === undefined ? 'neither cron nor interval' : validateSchedule(schedule);
    if (bad) { if (first) note('schedule', `${JSON.stringify(schedule ?? s)}: ${bad}; not imported`); } else e.schedule = schedule;
    if (first && s.timezone !== undefined) note('schedule.timezone', 'pguard fires schedules in local time');
    if (first && s.run_on_start === true) note('schedule.run_on_start', 'not imported: `pguard start --now` runs it at once');
    if (first && typeof s.max_concurrent === 'number' && s.max_concurrent > 1) note('schedule.max_concurrent', 'pguard never overlaps two runs of one job');
  }
  if ((p.disabled === true || p.is_disabled === 'true') && first) note('disabled', 'imported all the same; it starts only when you start it (pguard start --all would)');
  if (first) {
    if (p.description !== undefined) note('description', 'not imported: pguard has no equivalent');
    if (p.log_location !== undefined) note('log_location', 'pguard keeps one log per process in its state directory');
    if (p.namespace !== undefined) note('namespace', 'pguard has one namespace per registry');
    if (p.is_elevated === true) note('is_elevated', 'process-compose runs it with sudo; pguard runs it as whoever runs pguard (or as its user, where pguard runs as root)');
    if (replicas > 1) note('replicas', `${replicas} processes, one entry each (${key}-N, with PC_REPLICA_NUM in their environment)`);
    for (const k of Object.keys(p).filter((k) => !KNOWN.has(k))) note(k, 'not imported: pguard has no equivalent');
  }
  return { name, entry: e };
}
