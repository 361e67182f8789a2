// supervisord: a supervisord.conf (and the files its [include] names) as registry entries, read
// as supervisord reads it: Python's ConfigParser rules (supervisor/options.py), %-expansions,
// `command=` split shlex-wise and executed without a shell, and supervisord's own defaults
// (autorestart=unexpected with exitcodes=0, startsecs=1, startretries=3, autostart=true).
import type { Note } from '../export-common.js';
import { ACCOUNT_PATTERN, ENV_NAME, isExitCode, SIGNALS } from '../schema.js';
import { shellQuote } from '../crontab-plan.js';
import { megabytes, noter, takeName, type Imported, type ImportedEntry, type SourceContext } from './common.js';
import { percentFormat, shlexSplit, supervisorEnvironment, type Expansion } from './python.js';

export interface IniSection { readonly section: string; readonly values: Record<string, string>; readonly line: number }

/**
 * An INI text as Python's RawConfigParser reads it for supervisord (strict off; `;` and `#` start
 * a comment line, or an inline comment after a blank; `=` or `:` between key and value; keys in
 * lowercase; an indented line continues the value above it). One pass, no backtracking.
 */
export function parseIni(text: string): IniSection[] {
  return readIni(text).sections;
}

/** The sections, and the first line Python's configparser refuses (so supervisord refuses the file), if any. */
export function readIni(text: string): { sections: IniSection[]; problem?: { line: number; message: string } } {
  let problem: { line: number; message: string } | undefined;
  type Section = { section: string; lines: Map<string, string[]>; line: number };
  const out: Section[] = [];
  const bySection = new Map<string, Section>();
  let cur: Section | null = null;
  let option: string | null = null;
  let indentLevel = 0;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const trimmed = raw.trim();
    const comment = trimmed.startsWith(';') || trimmed.startsWith('#') ? 0 : inlineComment(raw);
    const value = (comment < 0 ? raw : raw.slice(0, comment)).trim();
    if (value === '') {
      // A blank line inside a value is part of it (trailing ones are dropped at the end).
      if (comment < 0 && cur && option) cur.lines.get(option)!.push('');
      continue;
    }
    const indent = raw.length - raw.trimStart().length;
    if (cur && option && indent > indentLevel) { cur.lines.get(option)!.push(value); continue; }
    indentLevel = indent;
    const close = value.lastIndexOf(']');
    if (value.startsWith('[') && close >= 2) {
      const name = value.slice(1, close);
      // strict off: a section named twice is one section, later keys winning.
      cur = bySection.get(name) ?? null;
      if (!cur) { cur = { section: name, lines: new Map(), line: n + 1 }; bySection.set(name, cur); out.push(cur); }
      option = null;
      continue;
    }
    if (!cur) { problem ??= { line: n + 1, message: 'a setting before any [section]' }; continue; }
    const eq = value.search(/[=:]/);
    if (eq <= 0 || value.slice(0, eq).trim() === '') { problem ??= { line: n + 1, message: 'neither a [section] nor a key = value (the line is not shown: it may hold a secret)' }; option = null; continue; }
    option = value.slice(0, eq).trim().toLowerCase();
    // (a key given twice keeps its place, with the later value)
    cur.lines.set(option, [value.slice(eq + 1).trim()]);
  }
  const sections = out.map((s) => ({
    section: s.section, line: s.line,
    values: Object.fromEntries([...s.lines].map(([k, v]) => [k, v.join('\n').trimEnd()])),
  }));
  return problem ? { sections, problem } : { sections };
}

/**
 * Where an inline comment starts, as Python's configparser finds it: each of ; and # is looked
 * for one occurrence at a time, in rounds, and the first round in which one of them follows a
 * blank (or starts the line) decides: so in `a=;x ;  # c` the comment is `# c`, not `;  # c`.
 */
function inlineComment(line: string): number {
  const at = new Map<string, number>([[';', -1], ['#', -1]]);
  let found = -1;
  while (found < 0 && at.size > 0) {
    for (const [prefix, from] of [...at]) {
      const i = line.indexOf(prefix, from + 1);
      if (i < 0) { at.delete(prefix); continue; }
      at.set(prefix, i);
      if (i === 0 || /\s/.test(line[i - 1]!)) found = found < 0 ? i : Math.min(found, i);
    }
  }
  return found;
}

/** The glob patterns of a main file's [include] `files=`, expanded as supervisord does. */
export function includePatterns(text: string, ctx: SourceContext): { patterns: string[]; notes: Note[] } {
  const inc = parseIni(text).find((s) => s.section === 'include');
  if (!inc?.values.files) return { patterns: [], notes: [] };
  const r = percentFormat(inc.values.files, (k) => (k === 'here' ? ctx.here : k === 'host_node_name' ? ctx.hostname : undefined));
  if (!r.ok) return { patterns: [], notes: [{ process: '[include]', field: 'files', message: `supervisord refuses it (${r.why}): no file included` }] };
  return { patterns: r.value.join('').split(/\s+/).filter(Boolean), notes: [] };
}

export interface SupervisordFile { readonly path: string; readonly text: string; readonly here: string }

const PROGRAM_KEYS = new Set([
  'command', 'process_name', 'numprocs', 'numprocs_start', 'priority', 'autostart', 'startsecs', 'startretries', 'autorestart',
  'exitcodes', 'stopsignal', 'stopwaitsecs', 'stopasgroup', 'killasgroup', 'user', 'redirect_stderr', 'environment', 'directory',
  'stdout_logfile', 'stderr_logfile', 'stdout_logfile_maxbytes', 'stdout_logfile_backups',
]);
const LOG_KEYS = new Set(['stdout_logfile', 'stderr_logfile', 'stderr_logfile_maxbytes', 'stderr_logfile_backups', 'stdout_syslog', 'stderr_syslog']);
const SERVER_SECTIONS = /^(supervisord|supervisorctl|unix_http_server|inet_http_server|rpcinterface:.*|include)$/;
const truthy = (v: string) => /^(true|yes|on|1)$/i.test(v.trim());

/**
 * supervisord's [program:x] sections (and their groups) of the main file and its includes, in
 * supervisord's start order (priority, then name). `user` is kept; numprocs makes one entry per
 * process, named by process_name.
 */
export function importSupervisord(files: readonly SupervisordFile[], ctx: SourceContext): Imported {
  const notes: Note[] = [];
  for (const f of files) {
    const { problem } = readIni(f.text);
    if (problem) return { entries: [], notes, refused: `${f.path}: line ${problem.line}: ${problem.message}; supervisord refuses the file (Python's configparser)` };
  }
  const sections = files.flatMap((f) => parseIni(f.text).map((s) => ({ ...s, file: f })));
  // [supervisord] environment= is every program's, under its own.
  const server = sections.find((s) => s.section === 'supervisord');
  const globalEnv = new Map<string, string>();
  if (server?.values.environment) {
    const r = expandText(server.values.environment, (k) => (k === 'here' ? server.file.here : envFrom(k, ctx, globalEnv)));
    const pairs = r.ok ? supervisorEnvironment(r.text) : r;
    if (pairs.ok) for (const [k, v] of pairs.value) globalEnv.set(k, v);
    else notes.push({ process: '[supervisord]', field: 'environment', message: `supervisord refuses it (${pairs.why}): not imported` });
  }
  // Groups: their members' group_name and priority.
  const groupOf = new Map<string, { name: string; priority: number | undefined }>();
  for (const s of sections.filter((x) => x.section.startsWith('group:'))) {
    const group = s.section.slice(6).trim();
    const members = (s.values.programs ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    for (const m of members) groupOf.set(m, { name: group, priority: s.values.priority !== undefined ? Number(s.values.priority) : undefined });
    notes.push({ process: `[group:${group}]`, field: 'programs', message: `a supervisord group (started and stopped together as ${group}:*) has no pguard equivalent: its programs ${members.join(', ')} are imported one by one` });
  }
  const other = sections.filter((s) => !s.section.startsWith('program:') && !s.section.startsWith('group:') && !SERVER_SECTIONS.test(s.section));
  for (const s of other) {
    const what = s.section.startsWith('eventlistener:') ? 'an event listener (supervisord\'s event protocol on its stdin) has no pguard equivalent'
      : s.section.startsWith('fcgi-program:') ? 'a FastCGI program (supervisord owns its socket) has no pguard equivalent'
        : 'a section supervisord does not know';
    notes.push({ process: `[${s.section}]`, field: '', message: `${what}: not imported` });
  }
  const server2 = sections.filter((s) => SERVER_SECTIONS.test(s.section) && s.section !== 'include' && !(s.section === 'supervisord' && Object.keys(s.values).every((k) => k === 'environment')));
  if (server2.length > 0) notes.push({ process: server2.map((s) => `[${s.section}]`).join(' '), field: '', message: 'configure supervisord itself (its socket, log, pid file, user): nothing to import' });

  const programs: { priority: number; name: string; entry: ImportedEntry }[] = [];
  for (const s of sections.filter((x) => x.section.startsWith('program:'))) {
    const program = s.section.slice('program:'.length).trim();
    const group = groupOf.get(program);
    const priority = group?.priority ?? (s.values.priority !== undefined && Number.isFinite(Number(s.values.priority)) ? Number(s.values.priority) : 999);
    for (const e of importProgram(program, group?.name ?? program, s.values, s.file.here, ctx, globalEnv, notes)) programs.push({ priority, name: e.name, entry: e });
  }
  programs.sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries: programs.map((p) => p.entry), notes };
}

type Expanded = { ok: true; text: string } | { ok: false; why: string };

/** %-expansion to text; a reference to the environment not known here is refused. */
function expandText(text: string, mapping: (k: string) => Expansion | undefined): Expanded {
  const r = percentFormat(text, mapping);
  if (!r.ok) return r;
  const ref = r.value.find((p) => typeof p !== 'string') as { ref: string } | undefined;
  if (ref) return { ok: false, why: `names ENV_${ref.ref}, which is not set here` };
  return { ok: true, text: r.value.join('') };
}

/** %(ENV_X)s: the program's environment, supervisord's, then the importing shell's; else unknown. */
function envFrom(key: string, ctx: SourceContext, env: ReadonlyMap<string, string>): Expansion | undefined {
  if (!key.startsWith('ENV_')) return undefined;
  const name = key.slice(4);
  return env.get(name) ?? ctx.env[name] ?? { ref: name };
}

function importProgram(
  program: string, groupName: string, v: Record<string, string>, here: string, ctx: SourceContext, globalEnv: ReadonlyMap<string, string>, notes: Note[],
): ImportedEntry[] {
  const pnote = noter(notes, program);
  const numprocs = v.numprocs !== undefined ? Number(v.numprocs) : 1;
  const start = v.numprocs_start !== undefined ? Number(v.numprocs_start) : 0;
  if (!Number.isInteger(numprocs) || numprocs < 1 || !Number.isInteger(start) || start < 0) {
    pnote('numprocs', `supervisord refuses numprocs ${v.numprocs ?? ''} / numprocs_start ${v.numprocs_start ?? ''}: not imported`);
    return [];
  }
  const processName = v.process_name ?? '%(program_name)s';
  if (numprocs > 1 && !processName.includes('%(process_num)')) {
    pnote('process_name', 'supervisord refuses numprocs > 1 without %(process_num) in process_name: not imported');
    return [];
  }
  if (!v.command) {
    pnote('command', 'no command: supervisord refuses the program, nothing to run; not imported');
    return [];
  }
  const out: ImportedEntry[] = [];
  for (let num = start; num < start + numprocs; num++) {
    const base: Record<string, Expansion> = { here, program_name: program, group_name: groupName, host_node_name: ctx.hostname, process_num: num, numprocs };
    const env = new Map(globalEnv);
    // %(ENV_X)s outside the command is expanded once, here, as supervisord expands it once when it
    // starts: from the program's environment=, [supervisord]'s, then the shell that imports.
    const fromShell = new Set<string>();
    const at = (k: string): Expansion | undefined => {
      const x = base[k] ?? envFrom(k, ctx, env);
      if (k.startsWith('ENV_') && typeof x === 'string' && !env.has(k.slice(4))) fromShell.add(k.slice(4));
      return x;
    };
    const rawName = expandText(processName, at);
    if (!rawName.ok) { pnote('process_name', `supervisord refuses it (${rawName.why}): not imported`); return out; }
    const name = takeName(rawName.text, notes, program);
    const note = noter(notes, name);
    const e: Record<string, unknown> = {};
    // environment= first: its keys become ENV_ names for the command.
    const own = new Map<string, string>();
    if (v.environment) {
      const ex = expandText(v.environment, at);
      const pairs = ex.ok ? supervisorEnvironment(ex.text) : ex;
      if (!pairs.ok) {
        const unset = /^names ENV_(\w+), which is not set here$/.exec(pairs.why)?.[1];
        note('environment', unset
          ? `%(ENV_${unset})s: ${unset} is not set where you import, and supervisord takes it from its environment when it starts: set it and import again; not imported`
          : `supervisord refuses it (${pairs.why}); not imported`);
        continue;
      }
      for (const [k, x] of pairs.value) own.set(k, x);
    }
    for (const [k, x] of own) env.set(k, x);
    const envOut = { ...Object.fromEntries(globalEnv), ...Object.fromEntries(own) };
    const badKeys = Object.keys(envOut).filter((k) => !ENV_NAME.test(k));
    for (const k of badKeys) { note(`environment.${k}`, 'not a variable name pguard takes: not imported'); delete envOut[k]; }
    if (Object.keys(envOut).length > 0) e.env = envOut;
    // The command: %-expanded, then split as supervisord splits it, and run without a shell.
    // %(ENV_X)s stays $X, read when the process starts (from env, env_file or pguard's own environment).
    const cmd = percentFormat(v.command, (k) => base[k] ?? (k.startsWith('ENV_') ? { ref: k.slice(4) } : undefined));
    if (!cmd.ok) { note('command', `supervisord refuses it (${cmd.why}): not imported`); continue; }
    const refs = [...new Set(cmd.value.filter((p): p is { ref: string } => typeof p !== 'string').map((p) => p.ref))];
    const argv = shlexSplit(cmd.value.map((p) => (typeof p === 'string' ? p : `\u0000${p.ref}\u0000`)).join(''));
    if (!argv.ok || argv.value.length === 0) { note('command', `supervisord cannot split it into a program and arguments (${argv.ok ? 'empty' : argv.why}): not imported`); continue; }
    e.command = argv.value.map(wordWithRefs).join(' ');
    for (const r of refs) {
      if (!env.has(r)) note('command', `%(ENV_${r})s is $${r} from the environment the process starts in (supervisord read it once, when it started): set it in env or env_file${ctx.env[r] === undefined ? '; it is not set where you imported' : ''}`);
    }
    if (v.directory !== undefined) {
      const d = expandText(v.directory, at);
      if (!d.ok) { note('directory', `supervisord refuses it (${d.why}): not imported`); continue; }
      if (d.text.trim() !== '') e.cwd = d.text;
    }
    for (const x of fromShell) note('environment', `%(ENV_${x})s taken from the shell you imported in (${x}), as supervisord takes it once from its own environment: check it is the one it ran with`);
    if (v.user !== undefined) {
      const u = expandText(v.user, at);
      if (!u.ok || !ACCOUNT_PATTERN.test(u.text.trim())) { note('user', `${JSON.stringify(v.user)} is not a user name or id: supervisord refuses it; not imported (it would run as whoever runs pguard)`); continue; }
      e.user = u.text.trim();
    }
    // Restarts, as supervisord decides them.
    const autorestart = (v.autorestart ?? 'unexpected').trim().toLowerCase();
    const exitcodes = (v.exitcodes ?? '0').split(',').map((x) => Number(x.trim()));
    const isFalse = autorestart === 'false' || autorestart === 'no' || autorestart === 'off' || autorestart === '0';
    if (!isFalse && autorestart !== 'unexpected' && !truthy(autorestart)) { note('autorestart', `${JSON.stringify(v.autorestart)} is not true, false or unexpected: supervisord refuses it; not imported`); continue; }
    if (!exitcodes.every(isExitCode)) { note('exitcodes', `${JSON.stringify(v.exitcodes)} is not a list of exit codes: supervisord refuses it; not imported`); continue; }
    // An expected exit (exitcodes) is the program's work done: under autorestart=unexpected it is
    // not restarted, and under false no exit is, but an expected one is EXITED, not an error.
    if (isFalse) e.auto_restart = false;
    if (isFalse || autorestart === 'unexpected') e.success_exit_codes = [...new Set(exitcodes)];
    e.autostart = v.autostart === undefined || truthy(v.autostart);
    // supervisord: a run that lasts startsecs is RUNNING, and is restarted without limit; before
    // that it is retried startretries times, waiting 1, 2, 3 ... s: pguard's budget renewed by min_uptime.
    e.min_uptime = numberOr(v.startsecs, 1, note, 'startsecs');
    e.max_restarts = numberOr(v.startretries, 3, note, 'startretries');
    e.restart_cooldown = 1;
    if (v.stopsignal !== undefined) {
      const sig = `SIG${v.stopsignal.trim().toUpperCase().replace(/^SIG/, '')}`;
      if ((SIGNALS as readonly string[]).includes(sig)) e.stop_signal = sig;
      else note('stopsignal', `${v.stopsignal} is not a signal pguard stops with (${SIGNALS.join(', ')}): SIGTERM instead`);
    }
    e.kill_timeout = numberOr(v.stopwaitsecs, 10, note, 'stopwaitsecs');
    if (v.stopasgroup !== undefined && !truthy(v.stopasgroup) || v.killasgroup !== undefined && !truthy(v.killasgroup)) {
      note('stopasgroup', 'pguard always signals the whole process group and tree, where supervisord signals the program alone');
    }
    const maxMb = v.stdout_logfile_maxbytes !== undefined ? megabytes(v.stdout_logfile_maxbytes) : undefined;
    if (maxMb !== undefined) e.log_max_mb = maxMb;
    if (v.stdout_logfile_backups !== undefined) {
      const keep = Number(v.stdout_logfile_backups);
      if (Number.isInteger(keep) && keep >= 0) e.log_keep = keep;
      else note('stdout_logfile_backups', `${v.stdout_logfile_backups} is not a whole number: supervisord refuses it; not imported`);
    }
    if (v.stdout_logfile !== undefined || Object.keys(v).some((k) => LOG_KEYS.has(k))) {
      note('stdout_logfile', 'pguard keeps one log per process (stdout and stderr) in its state directory: `pguard logs`');
    }
    if (v.priority !== undefined) note('priority', 'kept as the order of the registry (start order among processes with no depends_on between them); add depends_on where one needs another');
    if (numprocs > 1 && num === start) note('numprocs', `${numprocs} processes, one entry each (${processName} with process_num ${start}..${start + numprocs - 1})`);
    for (const k of Object.keys(v).filter((k) => !PROGRAM_KEYS.has(k) && !LOG_KEYS.has(k) && k !== 'stopasgroup' && k !== 'killasgroup')) {
      note(k, 'not imported: pguard has no equivalent');
    }
    out.push({ name, entry: e });
  }
  return out;
}

function numberOr(v: string | undefined, dflt: number, note: (f: string, m: string) => void, field: string): number {
  if (v === undefined) return dflt;
  const n = Number(v.trim());
  if (Number.isInteger(n) && n >= 0) return n;
  note(field, `${v} is not a whole number: supervisord refuses it; ${dflt} (its default) instead`);
  return dflt;
}

/** One word of argv for /bin/sh, where \0NAME\0 marks a reference to an environment variable. */
function wordWithRefs(word: string): string {
  if (!word.includes('\u0000')) return shellQuote(word);
  return word.split(/\u0000/).map((part, i) => (i % 2 === 1 ? `"\${${part}}"` : part === '' ? '' : shellQuote(part))).join('');
}
