// The Windows scheduled tasks, checked without Windows (Wine's schtasks accepts XML and runs
// nothing): the XML against Microsoft's published Task Scheduler schema (libxml2 through
// xmllint-wasm; the XSD in test/fixtures/schtasks says where it comes from), its triggers and
// action read back, and the command line's quoting carried through what Task Scheduler and
// node.exe do to it: %NAME% expansion, then a split by CommandLineToArgvW's rules and by the C
// runtime's, each written here from its documentation, not taken from src/.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import xmllint from 'xmllint-wasm';
import {
  describeTask, findExpandable, isCurrentTask, isOurTask, NO_TASK, parseDurationMinutes, parseTaskXml, parseXml, planTaskArguments,
  planTaskXml, splitWindowsArgs, taskName, validateTaskPaths, windowsArg, type TaskSpec, type XmlElement,
} from '../../src/core/schtasks-plan.js';

const XSD = readFileSync(new URL('../fixtures/schtasks/task-scheduler.xsd', import.meta.url), 'utf8');

async function validate(contents: string | Uint8Array): Promise<string[]> {
  const res = await xmllint.validateXML({ xml: [{ fileName: 'task.xml', contents }], schema: [XSD] });
  return res.errors.map((e) => e.rawMessage);
}

/** What pguard writes for schtasks: UTF-16 LE with a BOM. */
const utf16 = (text: string) => new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));

// ---- The readers of a command line, from their documentation --------------------------------

/**
 * The Microsoft C runtime (node.exe's argv), from "Parsing C command-line arguments"
 * (learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments): white space separates;
 * quotes group; 2n backslashes + quote -> n backslashes and a delimiter; 2n+1 -> n and a literal
 * quote; other backslashes literal; and "within a quoted string, a pair of double quotation marks
 * is interpreted as a single escaped double quotation mark" (read here as: a quote, still quoted).
 */
function splitCrt(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let started = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if ((ch === ' ' || ch === '\t') && !quoted) {
      if (started) args.push(cur);
      cur = '';
      started = false;
      continue;
    }
    started = true;
    if (ch === '\\') {
      let n = 0;
      while (line[i] === '\\') { n++; i++; }
      if (line[i] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) { cur += '"'; continue; }
      } else {
        cur += '\\'.repeat(n);
        i--;
        continue;
      }
    }
    if (line[i] === '"') {
      if (quoted && line[i + 1] === '"') { cur += '"'; i++; continue; }
      quoted = !quoted;
      continue;
    }
    cur += line[i];
  }
  if (started) args.push(cur);
  return args;
}

/**
 * Task Scheduler's expansion of %NAME% in Arguments (ExpandEnvironmentStrings): a defined name
 * (any case) is replaced; an undefined one is left, and `reuse` says whether its closing `%` may
 * open the next name (both readings are tried: pguard's quoting must not depend on which).
 */
function expandEnv(s: string, env: Record<string, string>, reuse: boolean): string {
  const lookup = new Map(Object.entries(env).map(([k, v]) => [k.toLowerCase(), v]));
  let out = '';
  let i = 0;
  for (;;) {
    const a = s.indexOf('%', i);
    const b = a < 0 ? -1 : s.indexOf('%', a + 1);
    if (b < 0) return out + s.slice(i);
    const value = lookup.get(s.slice(a + 1, b).toLowerCase());
    if (b > a + 1 && value !== undefined) {
      out += s.slice(i, a) + value;
      i = b + 1;
    } else if (reuse) {
      out += s.slice(i, b);
      i = b;
    } else {
      out += s.slice(i, b + 1);
      i = b + 1;
    }
  }
}

/** Every NAME between two `%` of a text: what Task Scheduler would expand if it saw the text bare. */
function namesBetweenPercents(s: string): Record<string, string> {
  const parts = s.split('%');
  const env: Record<string, string> = { PATH: 'EXPANDED', TEMP: 'EXPANDED', x: 'EXPANDED' };
  for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) env[parts.slice(i + 1, j).join('%')] = 'EXPANDED';
  return env;
}

// Paths nobody should have but anybody may: spaces, quotes, & % ^, trailing backslashes, %VAR%.
const HOSTILE = [
  'C:\\Program Files\\pguard\\bin\\pguard.js',
  'C:\\Users\\A & B\\reg.json',
  'C:\\100% sure\\50% off\\reg.json',
  'C:\\x\\%PATH%\\reg.json',
  'C:\\x\\%TEMP%%PATH%\\reg.json',
  'C:\\a^b^^c\\reg.json',
  'C:\\dir\\',
  'C:\\dir\\\\',
  'C:\\dir\\%',
  '%',
  '%%',
  '%x%',
  'say "hi"\\',
  '\\"',
  'a\\\\"b',
  '"',
  '""',
  ' leading and trailing ',
  'tab\there',
  '',
  '&<>"\'',
  'D:\\ünïcode ☃\\reg.json',
];

describe('the command line of a task', () => {
  // From "Parsing C command-line arguments": the documented examples, so splitCrt is what it says.
  it.each([
    ['"a b c" d e', ['a b c', 'd', 'e']],
    ['"ab\\"c" "\\\\" d', ['ab"c', '\\', 'd']],
    ['a\\\\\\b d"e f"g h', ['a\\\\\\b', 'de fg', 'h']],
    ['a\\\\\\"b c d', ['a\\"b', 'c', 'd']],
    ['a\\\\\\\\"b c" d e', ['a\\\\b c', 'd', 'e']],
  ])('the C runtime reader splits %j as documented', (line, args) => {
    expect(splitCrt(line)).toEqual(args);
  });

  // Cases of Wine's CommandLineToArgvW tests (dlls/shell32/tests/shlexec.c, cmdline_tests, which
  // Wine also runs on Windows), after the program name.
  it.each([
    ['arg1 arg2 "arg three" \'four five` six\\ $even)', ['arg1', 'arg2', 'arg three', "'four", 'five`', 'six\\', '$even)']],
    ['arg=1 arg-2 three\tfour\rfour\nfour ', ['arg=1', 'arg-2', 'three', 'four\rfour\nfour']],
    ['arg"one" "second"arg thirdarg ', ['argone', 'secondarg', 'thirdarg']],
    ['arg1 "unclosed', ['arg1', 'unclosed']],
    ['arg1 "', ['arg1', '']],
    ['"one^" "arg"&two three|four', ['one^', 'arg&two', 'three|four']],
    ['%TMPDIR% %2', ['%TMPDIR%', '%2']],
    ['"o\\ne" "t\\\\wo" "t\\\\\\ree" "f\\\\\\\\our" ', ['o\\ne', 't\\\\wo', 't\\\\\\ree', 'f\\\\\\\\our']],
    ['\\"one \\\\"two" \\\\\\"three \\\\\\\\"four" end', ['"one', '\\two', '\\"three', '\\\\four', 'end']],
    ['"one\\" still" "two\\\\" "three\\\\\\" still" "four\\\\\\\\" end', ['one" still', 'two\\', 'three\\" still', 'four\\\\', 'end']],
    ['two""quotes next', ['twoquotes', 'next']],
    ['three"""quotes next', ['three"quotes', 'next']],
    ['four"""" quotes" next 4%3=1', ['four" quotes', 'next', '4%3=1']],
    ['"two""quotes next', ['two"quotes', 'next']],
    ['"two"" next', ['two"', 'next']],
    ['"four""""quotes next', ['four"quotes', 'next']],
    ['"the crazy \\\\"""\\\\" quotes', ['the crazy \\"\\', 'quotes']],
  ])('splitWindowsArgs reads %j as CommandLineToArgvW does', (line, args) => {
    expect(splitWindowsArgs(line)).toEqual(args);
  });

  it.each(HOSTILE)('windowsArg(%j) reaches node.exe unchanged through %%NAME%% expansion and both readers', (s) => {
    const quoted = windowsArg(s);
    const env = namesBetweenPercents(s);
    for (const reuse of [true, false]) expect(expandEnv(quoted, env, reuse)).toBe(quoted);
    expect(splitWindowsArgs(quoted)).toEqual([s]);
    expect(splitCrt(quoted)).toEqual([s]);
  });

  it('the expansion model has teeth: a merely quoted %PATH% would be expanded', () => {
    expect(expandEnv('"C:\\x\\%PATH%\\reg.json"', { Path: 'C:\\Windows' }, false)).toBe('"C:\\x\\C:\\Windows\\reg.json"');
  });

  it('quotes every path, escapes quotes and the backslashes before them, and keeps % outside the quotes', () => {
    expect(windowsArg('C:\\Program Files\\x.js')).toBe('"C:\\Program Files\\x.js"');
    expect(windowsArg('C:\\dir\\')).toBe('"C:\\dir\\\\"');
    expect(windowsArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(windowsArg('a\\"b')).toBe('"a\\\\\\"b"');
    expect(windowsArg('C:\\100% sure\\%PATH%')).toBe('"C:\\100"%" sure\\\\"%"PATH"%');
    expect(windowsArg('^&')).toBe('"^&"');
  });

  it('random strings of the hard characters survive expansion and both readers (property)', () => {
    const unit = fc.constantFrom('a', 'Z', ' ', '\t', '\\', '"', '%', '^', '&', '<', '>', "'", 'P', 'A', 'T', 'H', 'é');
    fc.assert(fc.property(fc.string({ unit, maxLength: 24 }), (s) => {
      const quoted = windowsArg(s);
      const env = namesBetweenPercents(s);
      return [true, false].every((reuse) => expandEnv(quoted, env, reuse) === quoted)
        && JSON.stringify(splitWindowsArgs(quoted)) === JSON.stringify([s])
        && JSON.stringify(splitCrt(quoted)) === JSON.stringify([s]);
    }), { numRuns: 3000 });
  });

  it('joins arguments so both readers give each one back (property)', () => {
    const unit = fc.constantFrom('a', ' ', '\\', '"', '%', '^', '&');
    fc.assert(fc.property(fc.array(fc.string({ unit, maxLength: 10 }), { maxLength: 5 }), (args) => {
      const line = args.map(windowsArg).join(' ');
      return JSON.stringify(splitWindowsArgs(line)) === JSON.stringify(args) && JSON.stringify(splitCrt(line)) === JSON.stringify(args);
    }), { numRuns: 2000 });
  });

  it('finds the %NAME% Task Scheduler would expand in a command', () => {
    expect(findExpandable('C:\\node\\node.exe')).toBeNull();
    expect(findExpandable('C:\\100%\\node.exe')).toBeNull();
    expect(findExpandable('C:\\%%\\node.exe')).toBeNull();
    expect(findExpandable('C:\\%%USERNAME%\\node.exe')).toBe('%USERNAME%');
    expect(findExpandable('C:\\50% off\\100%\\node.exe')).toBe('% off\\100%');
  });
});

// ---- The task XML ----------------------------------------------------------------------------

const hostilePaths = {
  node: 'C:\\Program Files\\node & co\\node.exe',
  cli: 'C:\\Users\\A "B" ^C\\AppData\\Roaming\\npm\\node_modules\\pguard\\bin\\pguard.js',
  registry: 'C:\\Users\\A "B" ^C\\100% <sure> %PATH%\\dir\\.process-registry.json',
};
const spec = (over: Partial<TaskSpec> = {}): TaskSpec => ({ kind: 'healthcheck', every: 5, paths: hostilePaths, user: 'DESKTOP-1\\A & B', ...over });

const el = (root: XmlElement | undefined, ...path: string[]): XmlElement | undefined =>
  path.reduce<XmlElement | undefined>((e, name) => e?.children.find((c) => c.name === name), root);

describe('the task XML', () => {
  it.each([
    ['the healthcheck every 5 minutes', spec()],
    ['the healthcheck every minute', spec({ every: 1 })],
    ['the healthcheck every 60 minutes', spec({ every: 60 })],
    ['the logon task', spec({ kind: 'boot' })],
    ['the logon task of an unnamed user', spec({ kind: 'boot', user: '' })],
  ])('%s is valid under Microsoft\'s Task Scheduler schema, as UTF-8 text and as the UTF-16 file', async (_name, s) => {
    expect(await validate(planTaskXml(s, 'UTF-8'))).toEqual([]);
    expect(await validate(utf16(planTaskXml(s, 'UTF-16')))).toEqual([]);
  });

  it('the schema check has teeth: an interval under a minute and triggers out of order are refused', async () => {
    const xml = planTaskXml(spec(), 'UTF-8');
    expect(await validate(xml.replace('PT5M', 'PT0M'))).toEqual([expect.stringContaining("The value 'PT0M' is less than the minimum value allowed ('PT1M')")]);
    const swapped = xml.replace('      <Enabled>true</Enabled>\n      <StartBoundary>2020-01-01T00:00:00</StartBoundary>', '      <StartBoundary>2020-01-01T00:00:00</StartBoundary>\n      <Enabled>true</Enabled>');
    expect(await validate(swapped)).toEqual([expect.stringContaining("Element '{http://schemas.microsoft.com/windows/2004/02/mit/task}Enabled': This element is not expected")]);
  });

  it('the healthcheck task repeats every N minutes from a past start, one run at a time, as the installing user', () => {
    const task = parseXml(planTaskXml(spec(), 'UTF-16'))!;
    expect(task.name).toBe('Task');
    expect(task.attrs).toEqual({ version: '1.3', xmlns: 'http://schemas.microsoft.com/windows/2004/02/mit/task' });
    expect(el(task, 'Triggers')!.children.map((c) => c.name)).toEqual(['TimeTrigger']);
    expect(el(task, 'Triggers', 'TimeTrigger', 'Repetition', 'Interval')!.text).toBe('PT5M');
    expect(el(task, 'Triggers', 'TimeTrigger', 'StartBoundary')!.text).toBe('2020-01-01T00:00:00');
    expect(el(task, 'Triggers', 'TimeTrigger', 'Enabled')!.text).toBe('true');
    expect(el(task, 'Principals', 'Principal', 'UserId')!.text).toBe('DESKTOP-1\\A & B');
    expect(el(task, 'Principals', 'Principal', 'LogonType')!.text).toBe('InteractiveToken');
    expect(el(task, 'Principals', 'Principal', 'RunLevel')!.text).toBe('LeastPrivilege');
    expect(el(task, 'Actions')!.attrs.Context).toBe(el(task, 'Principals', 'Principal')!.attrs.id);
    expect(el(task, 'Settings', 'MultipleInstancesPolicy')!.text).toBe('IgnoreNew');
    expect(el(task, 'Settings', 'DisallowStartIfOnBatteries')!.text).toBe('false');
    expect(el(task, 'Settings', 'ExecutionTimeLimit')!.text).toBe('PT5M');
  });

  it('the boot task runs pguard boot when the installing user logs on', () => {
    const task = parseXml(planTaskXml(spec({ kind: 'boot' }), 'UTF-16'))!;
    expect(el(task, 'Triggers')!.children.map((c) => c.name)).toEqual(['LogonTrigger']);
    expect(el(task, 'Triggers', 'LogonTrigger', 'UserId')!.text).toBe('DESKTOP-1\\A & B');
    expect(splitWindowsArgs(el(task, 'Actions', 'Exec', 'Arguments')!.text)).toEqual([hostilePaths.cli, 'boot', '--registry', hostilePaths.registry]);
  });

  it('runs node.exe itself (the Command, XML-escaped only) with the CLI, the subcommand and the registry as its arguments', () => {
    const xml = planTaskXml(spec(), 'UTF-16');
    expect(xml).toContain('<Command>C:\\Program Files\\node &amp; co\\node.exe</Command>');
    expect(xml).toContain('<Arguments>"C:\\Users\\A \\"B\\" ^C\\AppData\\Roaming\\npm\\node_modules\\pguard\\bin\\pguard.js" healthcheck --registry "C:\\Users\\A \\"B\\" ^C\\100"%" &lt;sure&gt; "%"PATH"%"\\dir\\.process-registry.json"</Arguments>');
    const exec = el(parseXml(xml)!, 'Actions', 'Exec')!;
    expect(exec.children.map((c) => c.name)).toEqual(['Command', 'Arguments']);
    expect(exec.children[0]!.text).toBe(hostilePaths.node);
    const args = exec.children[1]!.text;
    expect(args).toBe(planTaskArguments('healthcheck', hostilePaths));
    // As node.exe would receive it after Task Scheduler expanded every variable it could.
    const expanded = expandEnv(args, { ...namesBetweenPercents(hostilePaths.registry), ...namesBetweenPercents(hostilePaths.cli) }, true);
    expect(splitCrt(expanded)).toEqual([hostilePaths.cli, 'healthcheck', '--registry', hostilePaths.registry]);
  });

  it('declares the encoding it is written in, and differs in nothing else', () => {
    const a = planTaskXml(spec(), 'UTF-16');
    const b = planTaskXml(spec(), 'UTF-8');
    expect(a.split('\n')[0]).toBe('<?xml version="1.0" encoding="UTF-16"?>');
    expect(b.split('\n')[0]).toBe('<?xml version="1.0" encoding="UTF-8"?>');
    expect(a.split('\n').slice(1)).toEqual(b.split('\n').slice(1));
  });

  it('names each task after the registry in the \\pguard\\ folder', () => {
    expect(taskName('healthcheck', '0123456789ab')).toBe('\\pguard\\healthcheck-0123456789ab');
    expect(taskName('boot', '0123456789ab')).toBe('\\pguard\\boot-0123456789ab');
  });

  it('refuses a node path Task Scheduler would change or could not hold', () => {
    expect(validateTaskPaths(hostilePaths)).toEqual([]);
    expect(validateTaskPaths({ ...hostilePaths, node: 'C:\\%USERNAME%\\node.exe' })).toEqual([
      'the node path "C:\\\\%USERNAME%\\\\node.exe" holds %USERNAME%, which Task Scheduler would expand as an environment variable (a task\'s command has no escape for %). Run pguard with a node.exe whose path has no %...% in it.',
    ]);
    expect(validateTaskPaths({ ...hostilePaths, node: `C:\\${'n'.repeat(300)}\\node.exe` })[0]).toMatch(/is 312 characters long; a task's command holds at most 260/);
  });
});

// ---- Reading a task back (schtasks /Query /XML) ----------------------------------------------

/** A task as Windows gives it back: its own additions and order, a UTF-16 declaration, PT1H. */
const queried = (args: string, trigger = '<TimeTrigger><Repetition><Interval>PT1H</Interval><StopAtDurationEnd>false</StopAtDurationEnd></Repetition><StartBoundary>2020-01-01T00:00:00</StartBoundary><Enabled>true</Enabled></TimeTrigger>') => `\uFEFF<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.3" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Source>pguard</Source>
    <Version>1</Version>
    <URI>\\pguard\\healthcheck-0123456789ab</URI>
  </RegistrationInfo>
  <Principals><Principal id="Author"><UserId>S-1-5-21-1-2-3-1001</UserId><LogonType>InteractiveToken</LogonType></Principal></Principals>
  <Settings><DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><IdleSettings><StopOnIdleEnd>true</StopOnIdleEnd></IdleSettings></Settings>
  <Triggers>${trigger}</Triggers>
  <Actions Context="Author">
    <Exec>
      <Command>C:\\Program Files\\nodejs\\node.exe</Command>
      <Arguments>${args}</Arguments>
    </Exec>
  </Actions>
</Task>`;

describe('a task read back', () => {
  const paths = { node: 'C:\\Program Files\\nodejs\\node.exe', cli: 'C:\\npm\\pguard\\bin\\pguard.js', registry: 'C:\\Work\\A & B\\.process-registry.json' };
  const args = 'healthcheck --registry';
  const ours = queried(`"C:\\npm\\pguard\\bin\\pguard.js" ${args} "c:\\work\\A &amp; B\\.process-registry.json"`);

  it('gives the interval, command, arguments and registry of what Windows returns', () => {
    expect(parseTaskXml(ours)).toEqual({
      installed: true, triggers: ['TimeTrigger'], interval: 60,
      command: 'C:\\Program Files\\nodejs\\node.exe',
      arguments: '"C:\\npm\\pguard\\bin\\pguard.js" healthcheck --registry "c:\\work\\A & B\\.process-registry.json"',
      kind: 'healthcheck', registry: 'c:\\work\\A & B\\.process-registry.json', version: '1',
    });
  });

  it('is ours for this registry (paths compare without case), and not for another', () => {
    const t = parseTaskXml(ours);
    expect(isOurTask(t, 'healthcheck', paths.registry)).toBe(true);
    expect(isOurTask(t, 'healthcheck', 'C:\\Work\\other\\.process-registry.json')).toBe(false);
    expect(isOurTask(t, 'boot', paths.registry)).toBe(false);
  });

  it('a task that runs something else, or nothing readable, exists but is not ours', () => {
    const other = parseTaskXml(queried('/c "C:\\evil.bat" --registry "C:\\Work\\A &amp; B\\.process-registry.json"'));
    expect(other).toMatchObject({ installed: true, kind: null });
    expect(isOurTask(other, 'healthcheck', paths.registry)).toBe(false);
    expect(parseTaskXml('not xml <')).toEqual({ ...NO_TASK, installed: true });
    expect(parseTaskXml(null)).toBe(NO_TASK);
  });

  it('is current only when it is exactly what install would register', () => {
    const s: TaskSpec = { kind: 'healthcheck', every: 60, paths, user: 'me' };
    const exact = parseTaskXml(queried(planTaskArguments('healthcheck', paths).replace(/&/g, '&amp;')));
    expect(isCurrentTask(exact, s)).toBe(true);
    expect(isCurrentTask(exact, { ...s, every: 5 })).toBe(false);
    expect(isCurrentTask(exact, { ...s, paths: { ...paths, node: 'C:\\node2\\node.exe' } })).toBe(false);
    // What install writes, read back, is current.
    expect(isCurrentTask(parseTaskXml(planTaskXml({ ...s, every: 5 }, 'UTF-16')), { ...s, every: 5 })).toBe(true);
    expect(isCurrentTask(parseTaskXml(planTaskXml({ ...s, kind: 'boot' }, 'UTF-16')), { ...s, kind: 'boot' })).toBe(true);
  });

  it('describes a task in one line', () => {
    expect(describeTask('\\pguard\\healthcheck-0123456789ab', parseTaskXml(ours))).toBe(
      '\\pguard\\healthcheck-0123456789ab (every 60 min): "C:\\Program Files\\nodejs\\node.exe" "C:\\npm\\pguard\\bin\\pguard.js" healthcheck --registry "c:\\work\\A & B\\.process-registry.json"',
    );
  });

  it.each([
    ['PT5M', 5], ['PT1H', 60], ['PT1H30M', 90], ['P1D', 1440], ['PT300S', 5], ['PT30S', null], ['P', null], ['PT', null], ['5M', null], ['PT-5M', null],
  ])('reads the duration %s as %s minutes', (d, minutes) => {
    expect(parseDurationMinutes(d)).toBe(minutes);
  });
});

describe('the XML reader', () => {
  it('reads elements, attributes, entities, CDATA and comments; drops prefixes', () => {
    const doc = parseXml('<?xml version="1.0"?><!-- c --><t:Task xmlns:t="u" a=\'1 &gt; 0\'><A>x &amp; &#65;&#x42;<![CDATA[<y>]]></A><B/></t:Task>')!;
    expect(doc.name).toBe('Task');
    expect(doc.attrs).toEqual({ t: 'u', a: '1 > 0' });
    expect(doc.children.map((c) => [c.name, c.text])).toEqual([['A', 'x & AB<y>'], ['B', '']]);
  });

  it.each([
    ['a document type (entity expansion)', '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'],
    ['an unknown entity', '<x>&nope;</x>'],
    ['a mismatched end tag', '<x><y></x></y>'],
    ['an unclosed element', '<x><y></y>'],
    ['two roots', '<x/><y/>'],
    ['an attribute without quotes', '<x a=1/>'],
  ])('refuses %s', (_name, text) => {
    expect(parseXml(text)).toBeNull();
  });

  it('takes linear time on hostile input', () => {
    const n = 200_000;
    for (const text of ['<'.repeat(n), '&'.repeat(n), `<x>${'&amp'.repeat(n / 4)}</x>`, `<x${' a="1"'.repeat(n / 6)}>`, `${'<x>'.repeat(n / 3)}`, `<x a="${'='.repeat(n)}`, `<!--${'-'.repeat(n)}`]) {
      const t0 = performance.now();
      parseXml(text);
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });
});
