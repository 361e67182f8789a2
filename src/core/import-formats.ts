// `pguard import`: other managers' definitions as registry entries (snake_case, as written), with
// a note for each thing pguard cannot take over. Pure: parsed input in, entries and notes out.
import type { Note } from './export-common.js';
import { validateName } from './validate.js';

export interface Imported {
  readonly entries: { name: string; entry: Record<string, unknown> }[];
  readonly notes: Note[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** A shell word: as is where safe, else single-quoted. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** A name pguard takes (letters, digits, . _ -), and a note when it had to change. */
function takeName(raw: string, notes: Note[], fallback: string): string {
  const name = (raw || fallback).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || fallback;
  if (name !== raw) notes.push({ process: name, field: 'name', message: `named ${JSON.stringify(name)} (was ${JSON.stringify(raw)}: pguard names are letters, digits, . _ -)` });
  if (validateName(name)) notes.push({ process: name, field: 'name', message: validateName(name)! });
  return name;
}

/** 1000 (ms) or "10s" / "2m" / "1h" / "500ms" -> seconds. */
function seconds(v: unknown, unitless: 'ms' | 's'): number | undefined {
  if (typeof v === 'number') return unitless === 'ms' ? v / 1000 : v;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? unitless).toLowerCase();
  return unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
}

/** "200M", "1G", "512K", or bytes -> MB. */
function megabytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Math.round(v / 1024 / 1024);
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG])?B?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  return unit === 'G' ? n * 1024 : unit === 'M' ? n : unit === 'K' ? Math.max(1, Math.round(n / 1024)) : Math.round(n / 1024 / 1024);
}

const stringEnv = (env: Obj): Record<string, string> => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));

const INTERPRETER_BY_EXT: Record<string, string> = { js: 'node', mjs: 'node', cjs: 'node', ts: 'ts-node', py: 'python3', rb: 'ruby', php: 'php', sh: 'bash', pl: 'perl', coffee: 'coffee' };

/** PM2: an ecosystem's `apps` (or one app), or `pm2 jlist` output (apps with pm2_env). */
export function importPm2(input: unknown): Imported {
  const notes: Note[] = [];
  // An array of apps, {apps: [...]}, or one app (an object with a script); anything else holds none.
  const apps: unknown[] = Array.isArray(input) ? input : isObj(input) && Array.isArray(input.apps) ? input.apps : isObj(input) && Object.hasOwn(input, 'script') ? [input] : [];
  const entries = apps.filter(isObj).map((raw, i) => {
    // `pm2 jlist`: the definition lives in pm2_env, under other names.
    const jlist = isObj(raw.pm2_env);
    const a: Obj = jlist ? { ...(raw.pm2_env as Obj), name: raw.name, script: (raw.pm2_env as Obj).pm_exec_path, cwd: (raw.pm2_env as Obj).pm_cwd, interpreter: (raw.pm2_env as Obj).exec_interpreter } : raw;
    const script = typeof a.script === 'string' ? a.script : '';
    const name = takeName(typeof a.name === 'string' ? a.name : script.split('/').pop()!.replace(/\.\w+$/, ''), notes, `app${i + 1}`);
    const note = (field: string, message: string) => notes.push({ process: name, field, message });
    const e: Obj = {};
    const ext = /\.(\w+)$/.exec(script)?.[1]?.toLowerCase() ?? '';
    const interp = typeof a.interpreter === 'string' ? a.interpreter : INTERPRETER_BY_EXT[ext] ?? 'none';
    const interpArgs = [a.interpreter_args, a.node_args].flatMap((x) => (Array.isArray(x) ? x.map(String) : typeof x === 'string' && x ? x.split(/\s+/) : []));
    const args = Array.isArray(a.args) ? a.args.map(String).map(shellWord) : typeof a.args === 'string' && a.args ? [a.args] : [];
    if (!script) note('script', 'no script: nothing to run');
    e.command = [...(interp === 'none' ? [] : [interp, ...interpArgs.map(shellWord)]), shellWord(script), ...args].join(' ');
    if (typeof a.cwd === 'string') e.cwd = a.cwd;
    if (isObj(a.env) && !jlist) {
      const unset = Object.keys(a.env).filter((k) => (a.env as Obj)[k] === undefined || (a.env as Obj)[k] === null);
      for (const k of unset) note(`env.${k}`, 'no value when the file was read (unset in this environment): not imported');
      const env = stringEnv(Object.fromEntries(Object.entries(a.env).filter(([k]) => !unset.includes(k))));
      if (Object.keys(env).length > 0) e.env = env;
    }
    if (jlist) note('env', "pm2 jlist shows the daemon's whole environment: not imported; set the variables this app needs with register --env");
    for (const k of Object.keys(a).filter((k) => /^env_/.test(k))) note(k, `PM2's per-environment block is not imported (pguard has one env; --env ${k.slice(4)} chose it in PM2)`);
    if (typeof a.autorestart === 'boolean') e.auto_restart = a.autorestart;
    if (typeof a.max_restarts === 'number') e.max_restarts = a.max_restarts;
    const minUptime = seconds(a.min_uptime, 'ms');
    if (minUptime !== undefined) e.min_uptime = minUptime;
    const delay = seconds(a.restart_delay, 'ms');
    if (delay !== undefined) e.restart_cooldown = delay;
    const exp = seconds(a.exp_backoff_restart_delay, 'ms');
    if (exp !== undefined && exp > 0) { e.backoff = 'exponential'; e.restart_cooldown = exp; }
    const mem = megabytes(a.max_memory_restart);
    if (mem !== undefined) e.max_memory_mb = mem;
    const kill = seconds(a.kill_timeout, 'ms');
    if (kill !== undefined) e.kill_timeout = kill;
    // What pguard has no place for.
    if (typeof a.instances === 'number' ? a.instances > 1 : a.instances !== undefined && a.instances !== 1) note('instances', 'pguard runs one instance of each process: register one per instance (and ports) by hand');
    if (a.exec_mode === 'cluster' || a.exec_mode === 'cluster_mode') note('exec_mode', "PM2's cluster mode (one port shared by workers) has no equivalent: the app runs once, in fork mode");
    if (a.watch && a.watch !== false) note('watch', 'restart on file changes is not a pguard feature');
    if (a.cron_restart) note('cron_restart', `restart on a schedule: use a crontab line running \`pguard restart ${name}\``);
    for (const k of ['out_file', 'error_file', 'log_file', 'log_date_format', 'merge_logs']) if (a[k] !== undefined) note(k, 'pguard keeps one log per process in its state directory (`pguard logs`)');
    return { name, entry: e };
  });
  return { entries, notes };
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 15: 'SIGTERM' };

/** process-compose: `processes:` of a process-compose.yaml (already parsed). */
export function importProcessCompose(doc: unknown): Imported {
  const notes: Note[] = [];
  const processes = isObj(doc) && isObj(doc.processes) ? doc.processes : {};
  const known = new Set(['command', 'working_dir', 'environment', 'depends_on', 'availability', 'readiness_probe', 'liveness_probe', 'shutdown', 'description', 'disabled']);
  const entries = Object.entries(processes).filter(([, p]) => isObj(p)).map(([raw, value]) => {
    const p = value as Obj;
    const name = takeName(raw, notes, 'process');
    const note = (field: string, message: string) => notes.push({ process: name, field, message });
    const e: Obj = { command: typeof p.command === 'string' ? p.command : '' };
    if (typeof p.working_dir === 'string') e.cwd = p.working_dir;
    if (Array.isArray(p.environment)) {
      e.env = Object.fromEntries(p.environment.map(String).filter((s) => s.includes('=')).map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));
    }
    if (isObj(p.depends_on)) {
      const deps: string[] = [];
      for (const [dep, spec] of Object.entries(p.depends_on)) {
        const cond = isObj(spec) ? spec.condition : undefined;
        if (cond === 'process_completed_successfully' || cond === 'process_completed') {
          note('depends_on', `"${dep}" with ${String(cond)}: pguard starts a process once its dependency is ready, not once it has completed; not imported`);
          continue;
        }
        deps.push(dep);
      }
      if (deps.length > 0) e.depends_on = deps;
    }
    const av = isObj(p.availability) ? p.availability : {};
    if (av.restart === 'no') e.auto_restart = false;
    else if (av.restart === 'exit_on_failure') note('availability.restart', 'exit_on_failure (stop everything when it fails) has no equivalent: it is restarted instead');
    else if (av.restart === 'on_failure') note('availability.restart', 'on_failure: pguard restarts any premature exit; a service (duration_min 0) that exits 0 is restarted too');
    if (typeof av.backoff_seconds === 'number') e.restart_cooldown = av.backoff_seconds;
    if (typeof av.max_restarts === 'number' && av.max_restarts > 0) e.max_restarts = av.max_restarts;
    else if (av.restart !== undefined && av.restart !== 'no') note('availability.max_restarts', 'unlimited in process-compose: pguard gives up after max_restarts (5 here) and retries a failed process 1, 2, 4 ... min later');
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
        const scheme = typeof h.scheme === 'string' ? h.scheme.toLowerCase() : 'http';
        probe = { type: 'http', url: `${scheme}://${typeof h.host === 'string' ? h.host : '127.0.0.1'}${h.port !== undefined ? `:${h.port}` : ''}${typeof h.path === 'string' ? h.path : '/'}`, ...common };
      } else if (isObj(pr.exec) && typeof pr.exec.command === 'string') probe = { type: 'exec', command: pr.exec.command, ...common };
      else note(key, 'a probe of a kind pguard does not know: not imported');
      if (probe && !health.some((x) => JSON.stringify(x) === JSON.stringify(probe))) health.push(probe);
    }
    if (isObj(p.readiness_probe) && isObj(p.liveness_probe)) note('readiness_probe', 'pguard has one list of probes, for readiness and liveness alike: both are in health');
    if (health.length > 0) e.health = health;
    const sd = isObj(p.shutdown) ? p.shutdown : {};
    if (typeof sd.signal === 'number') {
      if (SIGNALS[sd.signal]) e.stop_signal = SIGNALS[sd.signal];
      else note('shutdown.signal', `signal ${sd.signal} is not one pguard sends`);
    }
    if (typeof sd.timeout_seconds === 'number') e.kill_timeout = sd.timeout_seconds;
    if (sd.command !== undefined) note('shutdown.command', 'pguard stops a process with a signal, not a command');
    if (p.disabled === true) note('disabled', 'imported all the same; it starts only when you start it (pguard start --all would)');
    for (const k of Object.keys(p).filter((k) => !known.has(k))) note(k, 'not imported: pguard has no equivalent');
    return { name, entry: e };
  });
  return { entries, notes };
}

/** How deep a file nests, at most, counted before it is parsed (parsers recurse). */
export const MAX_IMPORT_DEPTH = 64;

/**
 * The deepest nesting of `[` and `{` in JSON or a JavaScript literal (strings and comments
 * skipped), in one pass; stops counting past `limit`.
 */
export function literalDepth(text: string, limit = MAX_IMPORT_DEPTH): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const e = text.indexOf('\n', i);
      i = e < 0 ? text.length : e;
    } else if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? text.length : e + 1;
    } else if (c === '[' || c === '{') {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return max;
}

/**
 * An upper bound on how deep a YAML file nests, in one pass: its block levels (a stack of
 * indentations, and `- ` / `? ` markers on a line) plus its flow brackets outside quoted scalars,
 * comments and block scalars (`|`, `>`); stops counting past `limit`.
 */
export function yamlDepth(text: string, limit = MAX_IMPORT_DEPTH): number {
  const indents: number[] = [];
  let flow = 0;
  let max = 0;
  let blockScalarOf = -1; // the indentation of the line a block scalar (| or >) belongs to
  for (const line of text.split('\n')) {
    let i = 0;
    while (line[i] === ' ') i++;
    if (i === line.length || line[i] === '#' || line[i] === '\r') continue;
    if (blockScalarOf >= 0 && i > blockScalarOf) continue; // its text, not structure
    blockScalarOf = -1;
    while (indents.length > 0 && indents[indents.length - 1]! >= i) indents.pop();
    indents.push(i);
    const indent = i;
    let level = indents.length;
    // `- - - x`: each marker a level of its own.
    while ((line[i] === '-' || line[i] === '?') && (line[i + 1] === ' ' || i + 1 >= line.length)) {
      level++;
      i += 2;
      while (line[i] === ' ') i++;
    }
    for (; i < line.length; i++) {
      const c = line[i]!;
      const prev = i === 0 ? ' ' : line[i - 1]!;
      if ((c === '"' || c === "'") && /[\s[{,:-]/.test(prev)) {
        for (i++; i < line.length && line[i] !== c; i++) if (c === '"' && line[i] === '\\') i++;
      } else if (c === '#' && /\s/.test(prev)) break;
      else if (c === '[' || c === '{') {
        flow++;
        if (level + flow > max) max = level + flow;
        if (max > limit) return max;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (level + flow > max) max = level + flow;
    if (max > limit) return max;
    if (/(^|[\s:-])[|>][-+0-9]*\s*(#.*)?\r?$/.test(line)) blockScalarOf = indent;
  }
  return max;
}

/** supervisord's INI: `[program:NAME]` sections as key -> value (continuation lines joined). */
export function parseIni(text: string): { section: string; values: Record<string, string> }[] {
  const out: { section: string; values: Record<string, string> }[] = [];
  let cur: { section: string; values: Record<string, string> } | null = null;
  let lastKey: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[;#]/.test(raw) || raw.trim() === '') { lastKey = null; continue; }
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (sec) { cur = { section: sec[1]!.trim(), values: {} }; out.push(cur); lastKey = null; continue; }
    if (!cur) continue;
    if (/^\s/.test(raw) && lastKey) { cur.values[lastKey] += `\n${raw.trim()}`; continue; }
    // KEY = VALUE (or KEY: VALUE), found by index: no pattern that backtracks over a long line.
    const eq = raw.search(/[=:]/);
    const key = eq < 0 ? '' : raw.slice(0, eq).trim().toLowerCase();
    if (!key) continue;
    // An inline comment starts with " ;" (supervisor's rule).
    let value = raw.slice(eq + 1);
    const comment = value.search(/\s;/);
    if (comment >= 0) value = value.slice(0, comment);
    cur.values[key] = value.trim();
    lastKey = key;
  }
  return out;
}

/** KEY="val",KEY2=val2 (supervisor's environment= syntax). */
function parseSupervisorEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^,]*)\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    env[m[1]!] = v;
  }
  return env;
}

/** supervisord: the `[program:x]` sections of an INI file, in priority order (lower first: pguard keeps registry order among equals). */
export function importSupervisord(text: string): Imported {
  const notes: Note[] = [];
  const known = new Set(['command', 'directory', 'environment', 'autorestart', 'autostart', 'startsecs', 'startretries', 'stopsignal', 'stopwaitsecs', 'priority', 'redirect_stderr']);
  const programs = parseIni(text).filter((s) => s.section.startsWith('program:'));
  const withPriority = programs.map((s, i) => ({ s, i, priority: Number(s.values.priority ?? 999) }));
  withPriority.sort((a, b) => a.priority - b.priority || a.i - b.i);
  const entries = withPriority.map(({ s }) => {
    const v = s.values;
    const name = takeName(s.section.slice('program:'.length).trim(), notes, 'program');
    const note = (field: string, message: string) => notes.push({ process: name, field, message });
    const expand = (x: string) => x.replace(/%\(program_name\)s/g, name);
    const e: Obj = { command: expand(v.command ?? '') };
    if (!v.command) note('command', 'no command: nothing to run');
    if (/%\(/.test(String(e.command))) note('command', 'holds %(...)s expansions pguard does not make; edit it');
    if (v.directory) e.cwd = expand(v.directory);
    if (v.environment) e.env = parseSupervisorEnv(v.environment);
    if (v.autorestart === 'false') e.auto_restart = false;
    else if (v.autorestart === 'unexpected' || v.autorestart === undefined) note('autorestart', 'unexpected (restart on exit codes not in exitcodes): pguard restarts a premature exit of any code; a service that exits 0 is restarted too');
    if (v.autostart !== 'false') e.autostart = true;
    const startsecs = Number(v.startsecs);
    if (v.startsecs !== undefined && Number.isFinite(startsecs)) e.min_uptime = startsecs;
    const retries = Number(v.startretries);
    if (v.startretries !== undefined && Number.isInteger(retries)) e.max_restarts = retries;
    if (v.stopsignal) e.stop_signal = v.stopsignal.toUpperCase().startsWith('SIG') ? v.stopsignal.toUpperCase() : `SIG${v.stopsignal.toUpperCase()}`;
    const wait = Number(v.stopwaitsecs);
    if (v.stopwaitsecs !== undefined && Number.isFinite(wait)) e.kill_timeout = wait;
    if (v.priority !== undefined) note('priority', `kept as the order of the registry (start order among processes with no depends_on between them); add depends_on where one needs another`);
    for (const k of Object.keys(v).filter((k) => !known.has(k))) note(k, 'not imported: pguard has no equivalent');
    return { name, entry: e };
  });
  return { entries, notes };
}
