import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRegistryText, readRegistry, updateRegistry } from '../../src/effects/registry-file.js';
import { RegistryParseError } from '../../src/errors.js';

const dirs: string[] = [];
function tmpFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-reg-'));
  dirs.push(dir);
  const file = join(dir, '.process-registry.json');
  writeFileSync(file, content);
  return file;
}
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

describe('registry file', () => {
  it.each([
    ['{\n  "a": {\n    "command": "x",\n  }\n}\n', 4, 3],
    ['{\n  "a": { "command": "x" }\n', 3, 1],
    ['{"a": {"command": "x"} "b": 1}', 1, 24],
  ])('reports a parse error with line and column (%#)', (text, line, column) => {
    const file = tmpFile(text);
    try {
      parseRegistryText(file, text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryParseError);
      expect(err).toMatchObject({ line, column });
      expect((err as Error).message).toContain(`${file}:${line}:${column}: not valid JSON`);
    }
  });

  it('refuses to update a registry it cannot parse, leaving it byte for byte', async () => {
    const text = '{\n  "a": {"command": "x",,}\n}\n';
    const file = tmpFile(text);
    await expect(updateRegistry(file, (d) => { d.b = { command: 'y' }; }, { lockDir: join(dirname(file), 'locks') })).rejects.toBeInstanceOf(RegistryParseError);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('keeps tab indentation, key order, unknown fields, $schema, the file mode and the missing final newline', async () => {
    const text = '{\n\t"$schema": "./schema.json",\n\t"zeta": {\n\t\t"command": "z",\n\t\t"owner": "ops"\n\t},\n\t"alpha": {\n\t\t"command": "a"\n\t}\n}';
    const file = tmpFile(text);
    chmodSync(file, 0o640);
    await updateRegistry(file, (d) => { (d.zeta as Record<string, unknown>).max_restarts = 2; }, { lockDir: join(dirname(file), 'locks') });
    const out = readFileSync(file, 'utf8');
    expect(out).toBe('{\n\t"$schema": "./schema.json",\n\t"zeta": {\n\t\t"command": "z",\n\t\t"owner": "ops",\n\t\t"max_restarts": 2\n\t},\n\t"alpha": {\n\t\t"command": "a"\n\t}\n}');
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('keeps 4-space indentation', async () => {
    const file = tmpFile('{\n    "a": {\n        "command": "x"\n    }\n}\n');
    await updateRegistry(file, (d) => { d.b = { command: 'y' }; }, { lockDir: join(dirname(file), 'locks') });
    expect(readFileSync(file, 'utf8')).toBe('{\n    "a": {\n        "command": "x"\n    },\n    "b": {\n        "command": "y"\n    }\n}\n');
  });

  it('creates a registry 0600 when it holds env values (they may be secrets), 0644 when it holds none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-reg-'));
    dirs.push(dir);
    const secret = join(dir, 'secret.json');
    const plain = join(dir, 'plain.json');
    const warnings: string[] = [];
    const warn = (line: string) => warnings.push(line);
    await updateRegistry(secret, (d) => { d.api = { command: 'x', env: { API_KEY: 'k' } }; }, { lockDir: join(dir, 'locks'), warn });
    await updateRegistry(plain, (d) => { d.web = { command: 'x', env: {} }; }, { lockDir: join(dir, 'locks'), warn });
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(statSync(plain).mode & 0o777).toBe(0o644);
    // Rewritten, a 0600 registry stays 0600.
    await updateRegistry(secret, (d) => { d.web = { command: 'y' }; }, { lockDir: join(dir, 'locks'), warn });
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual([]);
  });

  it('keeps the mode of an existing registry that others can read, and warns with the fix when it holds env values', async () => {
    const file = tmpFile('{"api": {"command": "x", "env": {"API_KEY": "k"}}}\n');
    chmodSync(file, 0o640);
    const warnings: string[] = [];
    await updateRegistry(file, (d) => { d.web = { command: 'y' }; }, { lockDir: join(dirname(file), 'locks'), warn: (l) => warnings.push(l) });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(warnings).toEqual([`${file} holds env values and others can read it (mode 640). Make it private: chmod go-r ${file}`]);
  });

  it('reads and validates, naming the file, process and field', () => {
    const file = tmpFile('{"bot": {"command": "x", "max_restarts": "5x"}}');
    expect(() => readRegistry(file)).toThrow(`${file}: "bot".max_restarts: expected a non-negative integer, got "5x" (string)`);
  });
});

describe('registries that are not what they claim', () => {
  const dirs: string[] = [];
  afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });
  const dir = () => { const d = mkdtempSync(join(tmpdir(), 'pguard-odd-')); dirs.push(d); return d; };

  it('refuses a value nested 100,000 levels deep with one message, not a stack overflow (deep-nesting regression)', () => {
    const file = join(dir(), '.process-registry.json');
    writeFileSync(file, `{"bot": {"command": "true", "env": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    expect(() => readRegistry(file)).toThrow(`${file}: nested more than 64 levels deep; a registry is a list of processes, not this. Fix the file by hand.`);
  });

  it('refuses a FIFO at once instead of hanging on it (fifo regression)', () => {
    const file = join(dir(), 'fifo.json');
    execFileSync('mkfifo', [file]);
    expect(() => readRegistry(file)).toThrow(`${file}: not a regular file (a registry is a JSON file). Pass the path of one with --registry.`);
  });

  it('refuses a registry over 10 MB', () => {
    const file = join(dir(), '.process-registry.json');
    writeFileSync(file, `{"bot": {"command": "true"}, "$pad": "${'x'.repeat(11 * 1024 * 1024)}"}`);
    expect(() => readRegistry(file)).toThrow(/too large for a registry \(at most 10 MB\)/);
  });
});

describe('a parse error names where, never what the file says there', () => {
  it.each([
    ['an unquoted webhook', '{"$settings": {"webhook": http://u:s3cr3t@hooks.example/x}}', 1, 27],
    ['a token after a value', '{"a": {"command": "x", "env": {"KEY": "s3cr3t"} tru}}', 1, 49],
    ['an unquoted value, its token within 9 characters of the end', '{"a": {"command": "x", "env": {"KEY": s3cr3t}}}', 1, 39],
  ])('%s: line and column, and no text of the file (V8 quotes ~10 characters of it)', (_what, text, line, column) => {
    try {
      parseRegistryText('/r.json', text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryParseError);
      expect(err).toMatchObject({ line, column });
      const message = (err as Error).message;
      expect(message).not.toMatch(/s3cr3t|u:s|hooks|is not valid JSON/);
    }
  });
});
