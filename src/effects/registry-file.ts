// The registry file: find it, parse it with line:column errors, and rewrite it atomically under a
// lock while keeping its indentation, key order and unknown fields. An unreadable registry is
// reported, never overwritten.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { shellQuote } from '../core/crontab-plan.js';
import { editTopLevel } from '../core/json-edit.js';
import { describeWriteError, RegistryInvalidError, RegistryParseError, UserError } from '../errors.js';
import type { ProcessDef, Settings } from '../core/schema.js';
import { validateRegistry } from '../core/validate.js';
import type { Issue } from '../errors.js';
import { acquireLock } from './lock.js';
import { writeFileAtomic } from './atomic-write.js';
import { CONTROL_BITS, currentUserSid, isTrustedOwner, othersAllowed, readAccess, WRITE_BITS } from './win/acl.js';

export const REGISTRY_FILE = '.process-registry.json';

export interface RegistryLocation {
  readonly path: string;
  readonly exists: boolean;
}

/** --registry PATH, else $PGUARD_REGISTRY, else the nearest .process-registry.json upwards from cwd. */
export function locateRegistry(opts: { flag?: string | undefined; env?: string | undefined; cwd: string }): RegistryLocation | null {
  const given = opts.flag || opts.env;
  if (given) {
    const path = resolve(opts.cwd, given);
    return { path, exists: existsSync(path) };
  }
  let dir = resolve(opts.cwd);
  for (;;) {
    const candidate = join(dir, REGISTRY_FILE);
    if (existsSync(candidate)) return { path: candidate, exists: true };
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export interface LoadedRegistry {
  readonly path: string;
  readonly text: string;
  readonly data: Record<string, unknown>;
  readonly defs: ReadonlyMap<string, ProcessDef>;
  readonly settings: Settings;
  readonly issues: readonly Issue[];
}

/**
 * pguard runs what a registry says, often as root: like git's safe.directory, it refuses a registry
 * another user could have planted or changed. The file must be owned by you (or root) and not
 * writable by group or others; its folder must not be writable by others unless it is yours or
 * sticky. PGUARD_TRUST_REGISTRY=<that path> overrides it for one file. The env_file a registry
 * names (effects/spawn.ts) feeds what it runs, so it gets these same rules: `subject` prefixes its
 * messages (`"bot".env_file: `) and `use` says what the file is for.
 */
export function checkTrusted(path: string, st: { uid: number; mode: number }, opts: { subject?: string; use?: string } = {}): void {
  if (process.env.PGUARD_TRUST_REGISTRY === path) return;
  if (process.platform === 'win32') return checkTrustedWindows(path, opts);
  if (typeof process.getuid !== 'function') return;
  const me = process.getuid();
  const at = `${opts.subject ?? ''}${path}`;
  const how = `If it is yours to ${opts.use ?? 'run'}, fix its owner or mode (chown, chmod go-w), or set PGUARD_TRUST_REGISTRY=${path}.`;
  if (st.uid !== me && st.uid !== 0) {
    throw new UserError(`${at}: not trusted: it belongs to uid ${st.uid}, not to you (uid ${me}) or root; another user may have planted it. ${how}`, 2, 'registry-untrusted');
  }
  if ((st.mode & 0o022) !== 0) {
    throw new UserError(`${at}: not trusted: it is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)}), so others could change what it runs. ${how}`, 2, 'registry-untrusted');
  }
  const dir = statSync(dirname(path));
  if ((dir.mode & 0o002) !== 0 && (dir.mode & 0o1000) === 0 && dir.uid !== me) {
    throw new UserError(`${at}: not trusted: its folder is writable by everyone without the sticky bit, and not yours: anyone could replace it. ${how}`, 2, 'registry-untrusted');
  }
}

/**
 * checkTrusted on Windows, where the owner and DACL decide (effects/win/acl.ts): owned by you,
 * SYSTEM or Administrators; no one else may change it; and no one else may delete or rename
 * what is in its folder (replace it), unless the folder is yours.
 */
function checkTrustedWindows(path: string, opts: { subject?: string; use?: string }): void {
  const at = `${opts.subject ?? ''}${path}`;
  const how = `If it is yours to ${opts.use ?? 'run'}, take it over or remove the others' access (icacls "${path}"), or set PGUARD_TRUST_REGISTRY=${path}.`;
  const file = readAccess(path);
  if (!file) throw new UserError(`${at}: not trusted: its owner and permissions cannot be read. ${how}`, 2, 'registry-untrusted');
  if (!isTrustedOwner(file.owner)) throw new UserError(`${at}: not trusted: it belongs to ${file.owner}, not to you, SYSTEM or Administrators; another user may have planted it. ${how}`, 2, 'registry-untrusted');
  const writers = othersAllowed(file, WRITE_BITS, { onItself: true });
  if (writers.length > 0) throw new UserError(`${at}: not trusted: ${writers.join(', ')} may change it, so others could change what it runs. ${how}`, 2, 'registry-untrusted');
  const folder = readAccess(dirname(path));
  if (folder && folder.owner !== currentUserSid()) {
    const replacers = othersAllowed(folder, CONTROL_BITS, { onItself: true });
    if (replacers.length > 0) throw new UserError(`${at}: not trusted: ${replacers.join(', ')} may delete or rename what is in its folder, which is not yours: anyone could replace it. ${how}`, 2, 'registry-untrusted');
  }
}

/** The registry's text: a regular file of at most 10 MB (a FIFO or a device would hang the read), that you can trust. */
function readRegistryText(path: string): string {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`${path}: not a regular file (a registry is a JSON file). Pass the path of one with --registry.`, 2);
    checkTrusted(path, st);
    if (st.size > MAX_REGISTRY_BYTES) throw new UserError(`${path}: ${Math.round(st.size / 1024 / 1024)} MB is too large for a registry (at most 10 MB).`, 2);
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: no such registry. Create one with \`pguard register <name> <command>\`, or pass --registry PATH.`, 2, 'no-registry');
    throw new UserError(`${path}: cannot read the registry (${code ?? String(err)}).`);
  }
}

/** Read and validate; throws RegistryParseError (line:col) or RegistryInvalidError (every issue). */
export function readRegistry(path: string, opts: { allowIssues?: boolean } = {}): LoadedRegistry {
  const text = readRegistryText(path);
  const data = parseRegistryText(path, text);
  const { defs, settings, issues } = validateRegistry(data);
  // Not an object at all (null, an array, a string): there is no entry to tolerate the others by.
  const whole = data === null || typeof data !== 'object' || Array.isArray(data);
  if (issues.length > 0 && (!opts.allowIssues || whole)) throw new RegistryInvalidError(path, issues);
  return { path, text, data: data as Record<string, unknown>, defs, settings, issues };
}

/** JSON.parse, with its "position N" turned into a line and column a person can go to. */
/** Registries deeper than this are refused: nothing in the format nests past a handful of levels. */
const MAX_DEPTH = 64;
/** Registries larger than this are refused (10 MB): a registry is a short list of processes. */
export const MAX_REGISTRY_BYTES = 10 * 1024 * 1024;

/** How deep a parsed value nests, counted without recursion (a value nested 100,000 levels deep must not overflow the stack). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > MAX_DEPTH) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

export function parseRegistryText(path: string, text: string): unknown {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const { line, column } = locatePosition(text, message);
    // V8 quotes up to ~10 characters of the file around the error ('..."webhook": http://u:s"... is not
    // valid JSON'): a secret's first characters, maybe. The line and column say where; the text is left out.
    const detail = message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)/, '').replace(/,\s*(?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
    throw new RegistryParseError(path, line, column, detail);
  }
  if (depthOf(parsed) > MAX_DEPTH) throw new UserError(`${path}: nested more than ${MAX_DEPTH} levels deep; a registry is a list of processes, not this. Fix the file by hand.`, 2);
  return parsed;
}

function locatePosition(text: string, message: string): { line: number; column: number } {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : tokenOffset(text, message) ?? text.length; // "Unexpected end of JSON input": the end
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/**
 * V8 gives no position for an unexpected token, but quotes the text around it: up to 10 characters
 * before it and 9 after ('Unexpected token 'h', ..."webhook": http://u:s"... is not valid JSON'),
 * with "..." where it cut. Found in the text, that quote places the token.
 */
function tokenOffset(text: string, message: string): number | null {
  const m = /^Unexpected token '(.)', (\.\.\.)?"(.*)"(\.\.\.)? is not valid JSON$/s.exec(message);
  if (!m) return null;
  const [, token, lead, quote, tail] = m as unknown as [string, string, string | undefined, string, string | undefined];
  const at = text.indexOf(quote);
  if (at < 0) return null;
  const rel = tail ? quote.length - 10 : lead ? 10 : quote.lastIndexOf(token);
  return quote[rel] === token ? at + rel : null;
}

/** Some entry has an `env` with a value in it: API keys and passwords are written there. */
export function holdsEnvValues(data: Record<string, unknown>): boolean {
  return Object.values(data).some((entry) => {
    const env = entry && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>).env : undefined;
    return !!env && typeof env === 'object' && Object.keys(env).length > 0;
  });
}

/** The warning for a registry that holds env values and that group or others can read; null when it is private. */
export function describeExposedRegistry(path: string, mode: number, data: Record<string, unknown>): string | null {
  if ((mode & 0o044) === 0 || !holdsEnvValues(data)) return null;
  return `${path} holds env values and others can read it (mode ${(mode & 0o777).toString(8)}). Make it private: chmod go-r ${shellQuote(path)}`;
}

/**
 * Change the registry under an exclusive lock: re-read it (another writer may have changed it),
 * let `mutate` edit the parsed object, and write it back atomically in the file's own format.
 * Creates the file when it does not exist yet: 0600 when it holds env values (they may be
 * secrets), else 0644. An existing file keeps its mode, unless this change gives it its first env
 * values: then without group and other access (`warn` is told). `warn` is told too when it holds
 * env values that others can read (pguard never chmods a file of the user's in place).
 */
export async function updateRegistry<T>(
  path: string,
  mutate: (data: Record<string, unknown>) => T,
  opts: { lockDir: string; waitMs?: number; warn?: (line: string) => void },
): Promise<T> {
  const target = existsSync(path) ? realpathSync(path) : resolve(path);
  const lock = await acquireLock(opts.lockDir, `registry-${target}`, 'registry', opts.waitMs ?? 15_000);
  try {
    let raw = '';
    let mode: number | null = null;
    if (existsSync(target)) {
      raw = readRegistryText(target);
      mode = statSync(target).mode & 0o7777;
      // A registry made read-only was made so on purpose: a rename would replace it all the same.
      if ((mode & 0o200) === 0) throw new UserError(`${target}: the registry is read-only (mode ${mode.toString(8)}): pguard will not replace it. Make it writable (chmod u+w) to change it.`, 1, 'write-failed');
    }
    parseRegistryText(target, raw); // refuse before anything is written
    // json-file-plus only where the registry is written (the hot commands read it and never load it).
    const { JSONData } = await import('json-file-plus');
    const doc = new JSONData(raw.trim() === '' ? '{}' : raw);
    if (raw.trim() === '') doc.format.indent = 2;
    const data = doc.data as Record<string, unknown>;
    const before = structuredClone(data);
    const result = mutate(data);
    // Only the entries that changed are rewritten, each in its own style (a one-line entry stays
    // one line); a file whose shape the editor does not know is written whole in its own format.
    const edited = raw.trim() === '' ? null : editTopLevel(raw, before, data, doc.format.indent);
    let out = edited ?? doc.stringify();
    if (edited === null && raw !== '' && !raw.endsWith('\n')) out = out.replace(/\n+$/, '');
    if (raw.includes('\r\n')) out = out.replace(/\r?\n/g, '\r\n');
    // writeFileAtomic makes its temp file with this mode from the start: a 0600 registry is never
    // readable by others, not even while it is being written.
    // A registry that gets its first env values (made by `import` or `register` without any, say)
    // becomes private with them: the new file is written without group and other access.
    const gainsSecrets = mode !== null && (mode & 0o077) !== 0 && !holdsEnvValues(before) && holdsEnvValues(data);
    const writeMode = mode === null ? (holdsEnvValues(data) ? 0o600 : 0o644) : gainsSecrets ? mode & ~0o077 : mode;
    try {
      writeFileAtomic(target, out, writeMode);
    } catch (err) {
      throw new UserError(`${target}: cannot write the registry (${describeWriteError(err)}); it is unchanged.`, 1, 'write-failed');
    }
    const exposed = describeExposedRegistry(target, writeMode, data);
    if (exposed !== null) opts.warn?.(exposed);
    if (gainsSecrets) opts.warn?.(`${target} now holds env values: written private (mode ${writeMode.toString(8)}, was ${mode!.toString(8)}).`);
    return result;
  } finally {
    await lock.release();
  }
}
