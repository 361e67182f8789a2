// Issue 22 (points 3, 4, 5): every field that reaches a unit, a manifest or a compose file, with
// every hostile character, either comes back exactly as it was when the target reads it, or the
// export is refused in one line (exit 2). The systemd side is read back by a small reader written
// from systemd.syntax(7) and systemd.service(5)/systemd.exec(5): line continuation, quoting and
// C escapes per directive, `%%` for `%` (specifiers), `$$` for `$` where ExecStart= expands.
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { splitSimpleCommand } from '../../src/core/export-common.js';
import { exportCompose } from '../../src/core/export-compose.js';
import { exportK8s } from '../../src/core/export-k8s.js';
import { exportSystemd, type SystemdOptions } from '../../src/core/export-systemd.js';
import type { ProcessDef } from '../../src/core/schema.js';
import { validateRegistry } from '../../src/core/validate.js';
import { UserError } from '../../src/errors.js';

const defsOf = (raw: Record<string, unknown>): ProcessDef[] => [...validateRegistry(raw).defs.values()];

// ---- a reader of unit files, from systemd.syntax(7) ------------------------------------------------

const C_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ' };

/** One C escape at s[i] (the backslash): the character and the index after it; throws on one systemd does not know. */
function cEscape(s: string, i: number): [string, number] {
  const n = s[i + 1];
  if (n === undefined) throw new Error('a trailing backslash');
  if (n in C_ESCAPES) return [C_ESCAPES[n]!, i + 2];
  const hex = (len: number) => {
    const h = s.slice(i + 2, i + 2 + len);
    if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new Error(`a bad \\${n} escape`);
    const c = parseInt(h, 16);
    if (c === 0) throw new Error('a NUL escape');
    return c;
  };
  if (n === 'x') return [String.fromCharCode(hex(2)), i + 4];
  if (n === 'u') return [String.fromCodePoint(hex(4)), i + 6];
  if (n === 'U') return [String.fromCodePoint(hex(8)), i + 10];
  if (/[0-7]/.test(n)) {
    const o = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) === 0) throw new Error('a bad octal escape');
    return [String.fromCharCode(parseInt(o, 8)), i + 4];
  }
  throw new Error(`an unknown escape \\${n}`);
}

/** Words of a setting that takes quoted, C-escaped words (ExecStart=, Environment=). */
function words(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (i < value.length && /[ \t\n]/.test(value[i]!)) i++;
    if (i >= value.length) return out;
    let w = '';
    let quote: string | null = null;
    while (i < value.length) {
      const c = value[i]!;
      if (quote) {
        if (c === quote) { quote = null; i++; if (i < value.length && !/[ \t]/.test(value[i]!)) throw new Error('a closing quote not followed by a space'); continue; }
      } else if (c === '"' || c === "'") {
        if (w !== '') throw new Error('a quote inside a word');
        quote = c; i++; continue;
      } else if (/[ \t]/.test(c)) break;
      if (c === '\\') { const [ch, j] = cEscape(value, i); w += ch; i = j; continue; }
      w += c; i++;
    }
    if (quote) throw new Error('an unclosed quote');
    out.push(w);
  }
}

/** `%%` -> `%`; any other specifier is one the exporter did not mean. */
function specifiers(s: string): string {
  return s.replace(/%(.?)/g, (_, c: string) => { if (c === '%') return '%'; throw new Error(`a specifier %${c}`); });
}

/** ExecStart=: `$$` -> `$`; a variable would be expanded. */
function dollars(s: string): string {
  return s.replace(/\$(.?)/g, (_, c: string) => { if (c === '$') return '$'; throw new Error(`a variable $${c}`); });
}

/** The [Service] settings of a unit, as systemd reads its lines (a line ends at \n, \r, \r\n or NUL; comments; continuations). */
function serviceSettings(text: string): [string, string][] {
  const settings: [string, string][] = [];
  let section = '';
  const lines = text.split(/\r\n|\r|\n|\0/);
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (/^\s*[#;]/.test(line) || line.trim() === '') continue;
    // A backslash at the end merges the next line (replaced by a space).
    while (line.endsWith('\\') && n + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++n]!}`;
    if (/^\s*\[.*\]\s*$/.test(line)) { section = line.trim(); continue; }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`a line that is not a setting: ${JSON.stringify(line)}`);
    if (section === '[Service]') settings.push([line.slice(0, eq).trim(), line.slice(eq + 1).replace(/^[ \t]+|[ \t\r]+$/g, '')]);
  }
  return settings;
}

const setting = (s: [string, string][], key: string) => s.filter(([k]) => k === key).map(([, v]) => v);

// ---- the table ---------------------------------------------------------------------------------

const HOSTILE: [string, string][] = [
  ['a newline that would add a line', 'x\nExecStartPost=/nonexistent/injected-by-env'],
  ['a section header on its own line', 'x\n[Service]\nExecStartPost=/nonexistent/injected'],
  ['a carriage return', 'x\rExecStartPost=/nonexistent/injected'],
  ['NUL', 'x\0y'],
  ['other C0 controls', 'a\x01b\x07c\x1bd\x1fe\tf\x0bg\x0ch'],
  ['DEL and C1', 'a\x7fb\x85c\x9bd'],
  ['a specifier', '100%h %n %%'],
  ['dollars', 'echo $HOME ${AWS_SECRET_ACCESS_KEY} pa$word $$ $(id)'],
  ['quotes', `it's "quoted" \`x\``],
  ['backslashes', 'a\\b\\nc\\'],
  ['spaces', '  my app  with spaces '],
  ['a trailing backslash', 'x \\'],
  ['a comment character', '#x ;y'],
];

type Field = 'command' | 'cwd' | 'env' | 'env_file';
const FIELDS: Field[] = ['command', 'cwd', 'env', 'env_file'];

function defWith(field: Field, value: string): ProcessDef {
  const entry: Record<string, unknown> = { command: 'sleep 1' };
  if (field === 'command') entry.command = value;
  if (field === 'cwd') entry.cwd = `/srv/${value}`;
  if (field === 'env') entry.env = { VALUE: value };
  if (field === 'env_file') entry.env_file = `/etc/${value}`;
  const [def] = defsOf({ app: entry });
  expect(def, `${field} ${JSON.stringify(value)} is a valid entry`).toBeDefined();
  return def!;
}

const expected = (field: Field, value: string) => (field === 'cwd' ? `/srv/${value}` : field === 'env_file' ? `/etc/${value}` : value);

/** The one-line refusal, or null when it exported. */
function refusal(f: () => unknown): string | null {
  try { f(); return null; } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
}

const systemdOpts = (): SystemdOptions => ({ mode: 'user', version: 254, cwdOf: (d) => d.cwd ?? '/srv', envFileOf: (d) => d.envFile, redactEnv: false });

describe('systemd: every field x every hostile character reads back as it was, or is refused', () => {
  for (const field of FIELDS) {
    it.each(HOSTILE)(`${field}: %s`, (_what, value) => {
      const def = defWith(field, value);
      const want = expected(field, value);
      let text = '';
      const refused = refusal(() => { text = exportSystemd([def], systemdOpts()).files[0]!.text; });
      if (refused !== null) {
        // Refused only for what a unit cannot hold: NUL anywhere; a control character, or trailing
        // space or backslash, in a path (WorkingDirectory=, EnvironmentFile= take no quotes or escapes).
        const path = field === 'cwd' || field === 'env_file';
        expect(/\0/.test(want) || (path && (/[\x00-\x1f\x7f-\x9f]/.test(want) || /[\s\\]$/.test(want))), refused).toBe(true);
        expect(refused).toMatch(/^app\.(command|cwd|env\.VALUE|env_file): /);
        return;
      }
      const s = serviceSettings(text);
      // Nothing injected: exactly the settings pguard writes, each once.
      expect(s.map(([k]) => k).filter((k) => k.startsWith('Exec'))).toEqual(['ExecStart']);
      expect(setting(s, 'WorkingDirectory')).toHaveLength(1);
      if (field === 'command') {
        const argv = words(setting(s, 'ExecStart')[0]!).map((w) => dollars(specifiers(w)));
        expect(argv[0]).not.toMatch(/^[-@:+!|]/);
        // The shell's, or the words the runner would run it as (a "simple" command).
        if (argv.length === 3 && argv[0] === '/bin/sh' && argv[1] === '-c') expect(argv[2]).toBe(want);
        else expect(argv).toEqual(splitSimpleCommand(want));
      }
      if (field === 'cwd') expect(specifiers(setting(s, 'WorkingDirectory')[0]!)).toBe(want);
      if (field === 'env_file') expect(specifiers(setting(s, 'EnvironmentFile')[0]!)).toBe(want);
      if (field === 'env') {
        const assignments = setting(s, 'Environment').flatMap(words).map(specifiers);
        expect(assignments).toEqual([`VALUE=${want}`]);
      }
    });
  }

  it('quotes per directive: no quotes in WorkingDirectory=, $ as is in Environment=, % doubled', () => {
    const [def] = defsOf({ app: { command: 'echo $HOME 100%', cwd: '/path/my app', env: { P: 'pa$word 100%' } } });
    const text = exportSystemd([def!], systemdOpts()).files[0]!.text;
    expect(text).toContain('\nWorkingDirectory=/path/my app\n');
    expect(text).toContain('\nEnvironment="P=pa$word 100%%"\n');
    expect(text).toContain('\nExecStart=/bin/sh -c "echo $$HOME 100%%"\n');
  });
});

/** Kubernetes expands $(VAR) in command, args, env values and exec probes, and reduces $$ to $. */
const k8sUnescape = (s: string) => s.replace(/\$(.?)/g, (_, c: string) => { if (c === '$') return '$'; if (c === '(') throw new Error('a $(VAR) reference'); return `$${c}`; });
/** Compose interpolates $VAR and ${VAR} in every string of the file; $$ is a $. */
const composeUnescape = (s: string) => s.replace(/\$(.?)/g, (_, c: string) => { if (c === '$') return '$'; throw new Error(`an interpolation $${c}`); });

describe('k8s and compose: every field x every hostile character reads back as it was, or is refused (NUL)', () => {
  for (const field of FIELDS) {
    it.each(HOSTILE)(`${field}: %s`, (_what, value) => {
      const def = defWith(field, value);
      const want = expected(field, value);
      const k8s = refusal(() => exportK8s([def], { image: 'debian:12', namespace: undefined, redactEnv: false }));
      const compose = refusal(() => exportCompose([def], { image: 'debian:12', redactEnv: false }));
      if (/\0/.test(want)) {
        // env_file reaches no manifest (a Secret the user creates from it).
        if (field === 'env_file') expect(k8s).toBeNull();
        else expect(k8s).toMatch(/^app\.\S+: .*NUL/);
        expect(compose).toMatch(/^app\.\S+: .*NUL/);
        return;
      }
      expect(k8s).toBeNull();
      expect(compose).toBeNull();
      // Through YAML, as the files are written, and back.
      const yamlOf = (doc: unknown) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
      const dep = parse(yamlOf(exportK8s([def], { image: 'debian:12', namespace: undefined, redactEnv: false }).docs[0])) as any;
      const c = dep.spec.template.spec.containers[0];
      const svc = (parse(yamlOf(exportCompose([def], { image: 'debian:12', redactEnv: false }).doc)) as any).services.app;
      if (field === 'command') {
        expect(k8sUnescape(c.command[2])).toBe(want);
        expect(composeUnescape(svc.command[2])).toBe(want);
      }
      if (field === 'cwd') {
        expect(c.workingDir).toBe(want); // workingDir is not expanded
        expect(composeUnescape(svc.working_dir)).toBe(want);
      }
      if (field === 'env') {
        expect(k8sUnescape(c.env[0].value)).toBe(want);
        expect(composeUnescape(svc.environment.VALUE)).toBe(want);
      }
      if (field === 'env_file') expect(composeUnescape(svc.env_file[0])).toBe(want);
    });
  }

  it('compose: every $ doubled in every string (command, env values, working_dir, env_file, healthcheck, image); ${KEY} references only for --redact-env', () => {
    const [def] = defsOf({ app: { command: 'echo $HOME ${AWS_SECRET_ACCESS_KEY}', cwd: '/srv/$x', env: { P: 'pa$word' }, env_file: '/etc/$f', health: [{ type: 'http', url: 'http://127.0.0.1:80/$(id)' }] } });
    const { doc } = exportCompose([def!], { image: 'img:$tag', redactEnv: false });
    const svc = (doc as any).services.app;
    expect(svc.command).toEqual(['/bin/sh', '-c', 'echo $$HOME $${AWS_SECRET_ACCESS_KEY}']);
    expect(svc.working_dir).toBe('/srv/$$x');
    expect(svc.environment).toEqual({ P: 'pa$$word' });
    expect(svc.env_file).toEqual(['/etc/$$f']);
    expect(svc.image).toBe('img:$$tag');
    expect(svc.healthcheck.test[1]).toBe("curl -fsS 'http://127.0.0.1:80/$$(id)' >/dev/null || wget -q -O /dev/null 'http://127.0.0.1:80/$$(id)'");
    const redacted = (exportCompose([def!], { image: undefined, redactEnv: true }).doc as any).services.app;
    expect(redacted.environment).toEqual({ P: '${P}' });
  });

  it('compose and k8s: a heartbeat probe\'s shell arithmetic is escaped, not interpolated', () => {
    const [def] = defsOf({ app: { command: 'x', health: [{ type: 'heartbeat', max_age: 30 }] } });
    const test = ((exportCompose([def!], { image: 'i', redactEnv: false }).doc as any).services.app.healthcheck.test[1]) as string;
    expect(composeUnescape(test)).toBe('test $(( $(date +%s) - $(stat -c %Y /tmp/pguard-heartbeat) )) -lt 30');
    const probe = (exportK8s([def!], { image: 'i', namespace: undefined, redactEnv: false }).docs[0] as any).spec.template.spec.containers[0].livenessProbe.exec.command[2] as string;
    expect(probe.replace(/\$\$/g, '$')).toBe('test -f /tmp/pguard-heartbeat && test $(( $(date +%s) - $(stat -c %Y /tmp/pguard-heartbeat) )) -lt 30');
    expect(probe).not.toMatch(/(^|[^$])\$\(/);
  });
});
