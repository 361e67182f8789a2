// Windows' Task Scheduler, planned as text: the task XML that `pguard cron install` registers
// (schtasks /Create /XML) and `--print --format schtasks` prints, the quoting of its command line,
// the task names, and the reading back of a task's XML (schtasks /Query /XML) for status.
// Pure: paths, the user and the interval come in; no clock (StartBoundary is a fixed past date).

export type TaskKind = 'healthcheck' | 'boot';
export const TASK_KINDS: readonly TaskKind[] = ['healthcheck', 'boot'];

/** Task Scheduler folder of every pguard task (schtasks creates it with the first task). */
export const TASK_FOLDER = '\\pguard\\';

/**
 * What a task's RegistrationInfo/Version says: raised when the plan below changes, so that an
 * install over a task of an older plan rewrites it (Task Scheduler hands back its own normalised
 * XML, so the text cannot be compared).
 */
export const TASK_PLAN_VERSION = '1';

/** The most a task's Command may hold (the schema's pathType: 260 characters). */
const MAX_COMMAND = 260;

/** `\pguard\healthcheck-<id>`: one task per registry and kind, `id` as in the crontab marker. */
export function taskName(kind: TaskKind, id: string): string {
  return `${TASK_FOLDER}${kind}-${id}`;
}

export interface TaskPaths {
  /** node.exe: the task's Command. */
  readonly node: string;
  /** bin/pguard.js of this install. */
  readonly cli: string;
  readonly registry: string;
}

export interface TaskSpec {
  readonly kind: TaskKind;
  /** Minutes between healthchecks (1-60); unused by the boot task. */
  readonly every: number;
  readonly paths: TaskPaths;
  /** DOMAIN\user the task runs as and whose logon starts the boot task ('' leaves it to schtasks). */
  readonly user: string;
}

/**
 * One argument of a Windows command line, written so that CommandLineToArgvW and the Microsoft C
 * runtime (node.exe's own argv) both read it back unchanged: quoted, a `"` escaped as `\"`, and
 * the backslashes before a quote doubled (only there: `C:\dir\` stays `C:\dir\` elsewhere).
 * Task Scheduler expands %NAME% in a task's Arguments before it runs them and has no escape for
 * `%`: each `%` is left outside the quotes, between two quoted parts, so every `%...%` it could
 * see holds quote characters, which no variable's name has, and the quotes go when node.exe
 * parses its command line. `^` and `&` mean nothing here (no cmd.exe runs this line).
 */
export function windowsArg(s: string): string {
  if (s === '') return '""';
  return s.split('%').map((part) => (part === '' ? '' : quotePart(part))).join('%');
}

function quotePart(s: string): string {
  let out = '"';
  let slashes = 0;
  for (const ch of s) {
    if (ch === '\\') {
      slashes += 1;
      continue;
    }
    // 2n+1 backslashes before a quote: n backslashes and a literal quote.
    out += ch === '"' ? `${'\\'.repeat(slashes * 2 + 1)}"` : `${'\\'.repeat(slashes)}${ch}`;
    slashes = 0;
  }
  // Backslashes before the closing quote are doubled (2n + quote: n backslashes, end of quotes).
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

/**
 * Split a command line's arguments (everything after the program) as CommandLineToArgvW does:
 * spaces and tabs separate outside quotes; 2n backslashes before a quote give n and the quote
 * opens or closes; 2n+1 give n and a literal quote; other backslashes are literal; and within
 * quotes, consecutive quotes count in threes (the opening one included): 3n give n quotes, 3n+1
 * give n and close, 3n+2 give n+1 and close. One pass over the text.
 */
export function splitWindowsArgs(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let started = false;
  let quotes = 0; // 1: inside quotes
  let slashes = 0;
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if ((ch === ' ' || ch === '\t') && quotes === 0) {
      cur += '\\'.repeat(slashes);
      slashes = 0;
      if (started) args.push(cur);
      cur = '';
      started = false;
      i += 1;
      continue;
    }
    started = true;
    if (ch === '\\') {
      slashes += 1;
      i += 1;
      continue;
    }
    if (ch === '"') {
      cur += '\\'.repeat(Math.floor(slashes / 2));
      if (slashes % 2 === 1) cur += '"';
      else quotes += 1;
      slashes = 0;
      i += 1;
      while (line[i] === '"') {
        quotes += 1;
        if (quotes === 3) {
          cur += '"';
          quotes = 0;
        }
        i += 1;
      }
      if (quotes === 2) quotes = 0;
      continue;
    }
    cur += '\\'.repeat(slashes) + ch;
    slashes = 0;
    i += 1;
  }
  cur += '\\'.repeat(slashes);
  if (started) args.push(cur);
  return args;
}

/** The first `%NAME%` in a text that Task Scheduler would expand if NAME were defined, or null. */
export function findExpandable(s: string): string | null {
  const open = s.indexOf('%');
  if (open < 0) return null;
  let from = open;
  while (from >= 0) {
    const close = s.indexOf('%', from + 1);
    if (close < 0) return null;
    if (close > from + 1) return s.slice(from, close + 1);
    from = close;
  }
  return null;
}

/**
 * Why these paths cannot go into a task, one sentence each ([] when they can). The Command is
 * node.exe's path as it is: Task Scheduler takes it without CommandLineToArgvW's quoting, so
 * only its %NAME% expansion and the schema's 260 characters can go wrong; the Arguments are
 * quoted by windowsArg.
 */
export function validateTaskPaths(paths: TaskPaths): string[] {
  const issues: string[] = [];
  const expandable = findExpandable(paths.node);
  if (expandable !== null) {
    issues.push(`the node path ${JSON.stringify(paths.node)} holds ${expandable}, which Task Scheduler would expand as an environment variable (a task's command has no escape for %). Run pguard with a node.exe whose path has no %...% in it.`);
  }
  if (paths.node.length > MAX_COMMAND) {
    issues.push(`the node path ${JSON.stringify(paths.node)} is ${paths.node.length} characters long; a task's command holds at most ${MAX_COMMAND}. Run pguard with a node.exe at a shorter path.`);
  }
  return issues;
}

/** The task's Arguments: `"<pguard.js>" healthcheck --registry "<registry>"`. */
export function planTaskArguments(kind: TaskKind, paths: TaskPaths): string {
  return `${windowsArg(paths.cli)} ${kind} --registry ${windowsArg(paths.registry)}`;
}

/**
 * Character data of an element: `&` and `<` escaped, and `>` (for `]]>`). Quotes need escaping
 * only in attribute values, and no path goes into one, so Arguments keep their `"` readable.
 */
function xmlContent(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Minutes as an XML duration (PT5M). */
export function describeInterval(minutes: number): string {
  return `PT${minutes}M`;
}

/**
 * The task's XML. `encoding` is only what the declaration says: 'UTF-16' for the file schtasks
 * reads (written UTF-16 LE with a BOM), 'UTF-8' for --print on a terminal; the rest is the same.
 * Elements follow the order of Microsoft's published schema (triggerBaseType is a sequence).
 */
export function planTaskXml(spec: TaskSpec, encoding: 'UTF-16' | 'UTF-8'): string {
  const { kind, paths } = spec;
  const user = spec.user ? `      <UserId>${xmlContent(spec.user)}</UserId>` : null;
  const trigger = kind === 'healthcheck'
    ? [
      '    <TimeTrigger>',
      '      <Enabled>true</Enabled>',
      // A fixed date in the past: the first run is the next multiple of the interval after it.
      '      <StartBoundary>2020-01-01T00:00:00</StartBoundary>',
      '      <Repetition>',
      `        <Interval>${describeInterval(spec.every)}</Interval>`,
      '        <StopAtDurationEnd>false</StopAtDurationEnd>',
      '      </Repetition>',
      '    </TimeTrigger>',
    ].join('\n')
    : ['    <LogonTrigger>', '      <Enabled>true</Enabled>', user, '    </LogonTrigger>'].filter((l) => l !== null).join('\n');
  const what = kind === 'healthcheck'
    ? `pguard healthcheck every ${spec.every} min for ${paths.registry}`
    : `pguard boot at logon (starts the autostart processes of ${paths.registry})`;
  return [
    `<?xml version="1.0" encoding="${encoding}"?>`,
    '<!-- Made by pguard cron install; pguard cron uninstall removes it. -->',
    '<Task version="1.3" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    '    <Source>pguard</Source>',
    `    <Version>${TASK_PLAN_VERSION}</Version>`,
    `    <Description>${xmlContent(what)}</Description>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    trigger,
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    // As the user who installs it, only while they are logged on, without elevation.
    user,
    '      <LogonType>InteractiveToken</LogonType>',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    // One run at a time; on battery too (defaults would skip a laptop's runs); a run missed while
    // asleep is made up on waking.
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    `    <StartWhenAvailable>${kind === 'healthcheck'}</StartWhenAvailable>`,
    `    <ExecutionTimeLimit>${kind === 'healthcheck' ? 'PT5M' : 'PT10M'}</ExecutionTimeLimit>`,
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlContent(paths.node)}</Command>`,
    `      <Arguments>${xmlContent(planTaskArguments(kind, paths))}</Arguments>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].filter((line) => line !== null).join('\n');
}

// ---- Reading a task back -------------------------------------------------------------------

export interface XmlElement {
  /** Local name (any prefix dropped). */
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The element's own character data, entities decoded. */
  text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string | null {
  if (!s.includes('&')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const amp = s.indexOf('&', i);
    if (amp < 0) return out + s.slice(i);
    const semi = s.indexOf(';', amp);
    if (semi < 0) return null;
    out += s.slice(i, amp);
    const ref = s.slice(amp + 1, semi);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!Number.isInteger(code) || code < 0 || code > 0x10ffff) return null;
      out += String.fromCodePoint(code);
    } else {
      const ch = ENTITIES[ref];
      if (ch === undefined) return null;
      out += ch;
    }
    i = semi + 1;
  }
  return out;
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);
const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';

/**
 * A small XML reader for a task's XML: elements, attributes, text, CDATA, comments and
 * processing instructions. One forward pass (indexOf from a position that only grows, no
 * regular expressions), so its time is linear in the text. A document type declaration (the door
 * to entity expansion) or anything malformed gives null.
 */
export function parseXml(text: string): XmlElement | null {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const root: XmlElement = { name: '', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const chunk = lt < 0 ? s.slice(i) : s.slice(i, lt);
    if (chunk !== '') {
      const decoded = decodeEntities(chunk);
      if (decoded === null) return null;
      stack[stack.length - 1]!.text += decoded;
    }
    if (lt < 0) break;
    if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4);
      if (end < 0) return null;
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt + 9);
      if (end < 0) return null;
      stack[stack.length - 1]!.text += s.slice(lt + 9, end);
      i = end + 3;
    } else if (s.startsWith('<!', lt)) {
      return null; // <!DOCTYPE ...>: a task has none
    } else if (s[lt + 1] === '/') {
      const end = s.indexOf('>', lt + 2);
      if (end < 0) return null;
      const name = localName(s.slice(lt + 2, end).trim());
      const open = stack.pop();
      if (!open || open === root || open.name !== name) return null;
      i = end + 1;
    } else {
      const tag = readTag(s, lt + 1);
      if (!tag) return null;
      const el: XmlElement = { name: tag.name, attrs: tag.attrs, children: [], text: '' };
      stack[stack.length - 1]!.children.push(el);
      if (!tag.selfClosing) stack.push(el);
      i = tag.end;
    }
  }
  if (stack.length !== 1 || root.children.length !== 1) return null;
  return root.children[0]!;
}

/** A start tag from just after its `<`: name, attributes (values decoded), and where it ends. */
function readTag(s: string, from: number): { name: string; attrs: Record<string, string>; selfClosing: boolean; end: number } | null {
  let i = from;
  while (i < s.length && !isSpace(s[i]) && s[i] !== '>' && s[i] !== '/') i += 1;
  const name = localName(s.slice(from, i));
  if (name === '') return null;
  const attrs: Record<string, string> = {};
  for (;;) {
    while (isSpace(s[i])) i += 1;
    if (i >= s.length) return null;
    if (s[i] === '>') return { name, attrs, selfClosing: false, end: i + 1 };
    if (s[i] === '/') return s[i + 1] === '>' ? { name, attrs, selfClosing: true, end: i + 2 } : null;
    const eq = s.indexOf('=', i);
    if (eq < 0) return null;
    const key = s.slice(i, eq).trim();
    if (/[\s<>"'/]/.test(key)) return null;
    let q = eq + 1;
    while (isSpace(s[q])) q += 1;
    const quote = s[q];
    if (quote !== '"' && quote !== "'") return null;
    const close = s.indexOf(quote, q + 1);
    if (close < 0 || key === '') return null;
    const value = decodeEntities(s.slice(q + 1, close));
    if (value === null) return null;
    attrs[localName(key)] = value;
    i = close + 1;
  }
}

const child = (el: XmlElement | undefined, name: string): XmlElement | undefined => el?.children.find((c) => c.name === name);

/** An XML duration (P1DT2H5M, PT30S...) in whole minutes, or null. */
export function parseDurationMinutes(d: string): number | null {
  if (d.length > 64) return null;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(d.trim());
  if (!m || d.trim() === 'P' || d.trim().endsWith('T')) return null;
  const [days, hours, minutes, seconds] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)) as [number, number, number, number];
  if (seconds % 60 !== 0) return null;
  return days * 1440 + hours * 60 + minutes + seconds / 60;
}

/** What a queried task holds, as far as pguard cares. */
export interface QueriedTask {
  readonly installed: boolean;
  /** Trigger element names: TimeTrigger, LogonTrigger... */
  readonly triggers: string[];
  /** Minutes between runs of the first repeating trigger, or null. */
  readonly interval: number | null;
  readonly command: string | null;
  readonly arguments: string | null;
  /** The pguard subcommand it runs (argument 2), when it runs pguard. */
  readonly kind: TaskKind | null;
  /** The argument after --registry. */
  readonly registry: string | null;
  /** RegistrationInfo/Version when Source is pguard. */
  readonly version: string | null;
}

export const NO_TASK: QueriedTask = { installed: false, triggers: [], interval: null, command: null, arguments: null, kind: null, registry: null, version: null };

/** The XML of `schtasks /Query /TN NAME /XML` (null: no such task) read back. */
export function parseTaskXml(xml: string | null): QueriedTask {
  if (xml === null) return NO_TASK;
  const task = parseXml(xml);
  if (!task || task.name !== 'Task') return { ...NO_TASK, installed: true };
  const triggers = child(task, 'Triggers')?.children ?? [];
  const repeating = triggers.map((t) => child(child(t, 'Repetition'), 'Interval')?.text).find((x) => x !== undefined);
  const exec = child(child(task, 'Actions'), 'Exec');
  const command = child(exec, 'Command')?.text.trim() ?? null;
  const args = child(exec, 'Arguments')?.text ?? null;
  const argv = args === null ? [] : splitWindowsArgs(args);
  const at = argv.indexOf('--registry');
  const sub = argv[1];
  const info = child(task, 'RegistrationInfo');
  return {
    installed: true,
    triggers: triggers.map((t) => t.name),
    interval: repeating === undefined ? null : parseDurationMinutes(repeating),
    command,
    arguments: args,
    kind: isPguardCli(argv[0]) && (sub === 'healthcheck' || sub === 'boot') ? sub : null,
    registry: at >= 0 && at + 1 < argv.length ? argv[at + 1]! : null,
    version: child(info, 'Source')?.text.trim() === 'pguard' ? (child(info, 'Version')?.text.trim() ?? null) : null,
  };
}

function isPguardCli(path: string | undefined): boolean {
  if (!path) return false;
  const base = path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
  return base.toLowerCase() === 'pguard.js';
}

/** Windows paths compare without case (NTFS folders are case-insensitive by default). */
export function sameWindowsPath(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A task that runs pguard `kind` for this registry, from its trigger: ours, whatever its paths. */
export function isOurTask(task: QueriedTask, kind: TaskKind, registry: string): boolean {
  const trigger = kind === 'healthcheck' ? 'TimeTrigger' : 'LogonTrigger';
  return task.installed && task.kind === kind && task.triggers.includes(trigger) && task.registry !== null && sameWindowsPath(task.registry, registry);
}

/** A task that is already what `spec` would register: installing again changes nothing. */
export function isCurrentTask(task: QueriedTask, spec: TaskSpec): boolean {
  return isOurTask(task, spec.kind, spec.paths.registry)
    && task.version === TASK_PLAN_VERSION
    && task.command === spec.paths.node
    && task.arguments === planTaskArguments(spec.kind, spec.paths)
    && (spec.kind === 'boot' || task.interval === spec.every);
}

/** One line for a task, as `cron status` and `cron install` show it. */
export function describeTask(name: string, task: Pick<QueriedTask, 'kind' | 'interval' | 'command' | 'arguments'>): string {
  const when = task.kind === 'boot' ? 'at logon' : task.interval !== null ? `every ${task.interval} min` : 'on its triggers';
  // The command as Task Scheduler takes it (a path, not an argument to quote), in quotes to read.
  return `${name} (${when}): ${task.command === null ? '' : `"${task.command}"`} ${task.arguments ?? ''}`.trimEnd();
}
