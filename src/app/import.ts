// `pguard import`: read another manager's file, map it (core/import-formats.ts), and add the
// entries to the registry in one locked write (format kept), or say why nothing was written.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { describeNote, type Note } from '../core/export-common.js';
import type { Imported, SourceContext } from '../core/import/common.js';
import { literalDepth, MAX_IMPORT_DEPTH, yamlDepth } from '../core/import/depth.js';
import { importPm2 } from '../core/import/pm2.js';
import { importProcessCompose } from '../core/import/process-compose.js';
import { importSupervisord, includePatterns, type SupervisordFile } from '../core/import/supervisord.js';
import { readExportedLiteral, readLiteralExpression } from '../core/js-literal.js';
import { canonicalize } from '../core/ledger-chain.js';
import { validateRegistry } from '../core/validate.js';
import { updateRegistry } from '../effects/registry-file.js';
import { RegistryInvalidError, UserError } from '../errors.js';
import type { Context } from './context.js';
import { recordRegistration } from './register.js';

export type ImportFormat = 'pm2' | 'process-compose' | 'supervisord';

export interface ImportResult {
  readonly registry: string;
  readonly dry_run: boolean;
  readonly written: boolean;
  /**
   * Each entry as it goes into the registry; env as its keys only (values may be secrets).
   * status: added, replaced (--replace), unchanged (the same entry already there), or
   * conflict (a different entry of that name, in a dry run without --replace).
   */
  readonly processes: { name: string; created: boolean; status: 'added' | 'replaced' | 'unchanged' | 'conflict'; entry: Record<string, unknown> }[];
  readonly notes: Note[];
  /** How the file was read: `parsed`, or `evaluated` (a PM2 .js file run with Node, --allow-eval). */
  readonly read: 'parsed' | 'evaluated';
  /** What the registry write had to say (it was made private as it got its first env values, or others can read them). */
  readonly warnings?: string[];
}

/**
 * How large a file import reads: another manager's file is a few kB, and the YAML library takes
 * about 1.5 s and 120 MB per MB (16 s and 1.2 GB for 10 MB, the registry's own limit).
 */
export const MAX_IMPORT_BYTES = 1024 * 1024;

/** The file's text, read up to MAX_IMPORT_BYTES (a pipe or a device too): more is refused before any parsing. */
/** An error of reading a file, in words. */
function cannotRead(file: string, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? String(err);
  return new UserError(`${file}: cannot read it (${why}).`, 2);
}

function readBounded(file: string): string {
  const max = MAX_IMPORT_BYTES;
  const chunks: Buffer[] = [];
  let total = 0;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw cannotRead(file, err);
  }
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      let n: number;
      try { n = readSync(fd, buf, 0, buf.length, null); } catch (err) {
        throw cannotRead(file, err);
      }
      if (n === 0) break;
      total += n;
      if (total > max) throw new UserError(`${file}: more than ${max / 1024 / 1024} MB, too large to import (a process manager's file is a few kB).`, 2);
      chunks.push(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * YAML as data, in linear time: the library's own duplicate-key check compares each key with
 * every key before it (minutes for a large mapping), so keys are checked here, by a set per mapping.
 */
function parseYamlLinear(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) throw doc.errors[0]!;
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value)) {
            const at = (pair.key as YamlNode).range?.[0] ?? 0;
            const line = text.slice(0, at).split('\n').length;
            throw new Error(`Map keys must be unique: ${JSON.stringify(String(pair.key.value))} again at line ${line}`);
          }
          seen.add(pair.key.value);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) stack.push(...node.items);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

const tooDeep = (file: string) => new UserError(`${file}: nested more than ${MAX_IMPORT_DEPTH} levels deep: not a file pguard imports.`, 2);

/** A YAML file's document, its depth bounded before it is parsed; one line when it is not YAML. */
function readYaml(file: string, text: string): unknown {
  if (yamlDepth(text) > MAX_IMPORT_DEPTH) throw tooDeep(file);
  try { return parseYamlLinear(text); } catch (err) { throw new UserError(`${file}: not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)}).`, 2); }
}

async function readInput(format: ImportFormat, file: string, allowEval: boolean): Promise<{ imported: Imported; read: 'parsed' | 'evaluated' }> {
  // Bounded before any parsing: its size (the registry's limit), and its depth (parsers recurse).
  const text = readBounded(file);
  if (format === 'supervisord') return { imported: readSupervisord(file, text), read: 'parsed' };
  if (format === 'process-compose') return { imported: importProcessCompose(readYaml(file, text)), read: 'parsed' };
  const ext = extname(file).toLowerCase();
  // PM2 takes YAML process files too (process.yml): read with the same YAML reader.
  if (ext === '.yml' || ext === '.yaml') return { imported: importPm2(readYaml(file, text)), read: 'parsed' };
  if (literalDepth(text) > MAX_IMPORT_DEPTH) throw tooDeep(file);
  if (ext === '.json' || /^\s*[[{]/.test(text) && !/module\.exports|export\s+default/.test(text)) {
    // PM2 evaluates a .json process file as a JavaScript expression: comments and trailing commas
    // are fine there. Read as that expression, without running it.
    const literal = readLiteralExpression(text);
    if (literal.ok) return { imported: importPm2(literal.value), read: 'parsed' };
    throw new UserError(`${file}: ${literal.syntax ? `not JSON, nor the JavaScript expression PM2 would take (${literal.why})` : `cannot be read without running it (${literal.why}); pass --allow-eval to run it with Node`}. Fix the file, or save \`pm2 jlist\` output and import that.`, 2);
  }
  // An ecosystem.config.js: read as data where it is only a literal; run only when allowed.
  const literal = readExportedLiteral(text);
  if (literal.ok) return { imported: importPm2(literal.value), read: 'parsed' };
  // Not JavaScript at all: running it would fail the same way.
  if (literal.syntax) throw new UserError(`${file}: ${literal.why}. Fix the file, or save \`pm2 jlist\` output and import that.`, 2);
  if (!allowEval) {
    throw new UserError(`${file}: cannot be read without running it (${literal.why}). Pass --allow-eval to run it with Node (it can do anything the file's code does), or save \`pm2 jlist\` output and import that.`, 2);
  }
  let exported: unknown;
  try {
    exported = await evaluateEcosystem(resolve(file), text);
  } catch (err) {
    // Its own error (a syntax error, a missing module, a file Node cannot load): the user's to fix.
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UserError(`${file}: running it with Node failed (${why}). Fix the file, or save \`pm2 jlist\` output and import that.`, 2);
  }
  return { imported: importPm2(exported), read: 'evaluated' };
}

/** Files a supervisord [include] names: `*`, `?` and `[...]` in the last part of each path, as Python's glob. */
function globFiles(pattern: string): { files: string[]; why?: string } {
  const dir = dirname(pattern);
  if (/[*?[]/.test(dir)) return { files: [], why: 'a wildcard in a folder name is not followed' };
  const base = basename(pattern);
  if (!/[*?[]/.test(base)) return { files: [pattern] };
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.').replace(/\[!/g, '[^')}$`);
  let names: string[];
  try { names = readdirSync(dir); } catch { return { files: [] }; }
  return { files: names.filter((n) => !n.startsWith('.') && re.test(n)).sort().map((n) => join(dir, n)) };
}

/** supervisord.conf and the files its [include] names (one level, as supervisord reads them). */
function readSupervisord(file: string, text: string): Imported {
  const ctx: SourceContext = { here: dirname(resolve(file)), env: process.env, hostname: hostname() };
  const files: SupervisordFile[] = [{ path: file, text, here: ctx.here }];
  const { patterns, notes } = includePatterns(text, ctx);
  for (const p of patterns) {
    const pattern = isAbsolute(p) ? p : join(ctx.here, p);
    const { files: found, why } = globFiles(pattern);
    if (why) notes.push({ process: '[include]', field: 'files', message: `${p}: ${why}; import those files too` });
    else if (found.length === 0) notes.push({ process: '[include]', field: 'files', message: `${p}: no such file here, so the programs it would add are not imported` });
    for (const f of found) {
      let inc: string;
      try { inc = readBounded(f); } catch (err) { notes.push({ process: '[include]', field: 'files', message: `${f}: ${err instanceof Error ? err.message : String(err)}` }); continue; }
      files.push({ path: f, text: inc, here: dirname(resolve(f)) });
      notes.push({ process: '[include]', field: 'files', message: `read ${f}` });
    }
  }
  const imported = importSupervisord(files, ctx);
  return { ...imported, notes: [...notes, ...imported.notes] };
}

/**
 * Run an ecosystem file (--allow-eval) and take what it exports. A CommonJS one (`module.exports`)
 * runs as CommonJS whatever its folder's package.json says (an ESM package would refuse
 * `module`); an ES module one is imported.
 */
async function evaluateEcosystem(file: string, text: string): Promise<unknown> {
  if (/\bmodule\.exports\b|\bexports\.\w+\s*=/.test(text) && !/^\s*export\s/m.test(text)) {
    const module = { exports: {} as unknown };
    const run = new Function('module', 'exports', 'require', '__filename', '__dirname', text) as (...a: unknown[]) => void;
    run(module, module.exports, createRequire(file), file, dirname(file));
    return module.exports;
  }
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  return mod.default ?? mod;
}

/**
 * PM2 and process-compose run a process from the folder they are started in: the file's, as a
 * rule. pguard runs one from the registry's folder (or its cwd, taken from there). Where the two
 * folders differ, each entry's cwd is made to name the file's folder, and a note says so.
 */
function fromFileFolder(imported: Imported, file: string, registry: string): Imported {
  const fileDir = dirname(resolve(file));
  const regDir = dirname(resolve(registry));
  if (fileDir === regDir) return imported;
  const rel = (p: string) => relative(regDir, p) || '.';
  const entries = imported.entries.map((e) => {
    const cwd = e.entry.cwd;
    if (typeof cwd === 'string' && isAbsolute(cwd)) return e;
    return { ...e, entry: { ...e.entry, cwd: rel(resolve(fileDir, typeof cwd === 'string' ? cwd : '.')) } };
  });
  const changed = entries.filter((e, i) => e !== imported.entries[i]).map((e) => e.name);
  const notes = changed.length === 0 ? imported.notes : [...imported.notes, {
    process: '(file)', field: 'cwd',
    message: `${changed.join(', ')}: run from the folder of ${file} (${rel(fileDir)} from the registry's), as PM2 and process-compose are run from the file's folder as a rule and pguard takes a relative cwd from the registry's`,
  }];
  return { ...imported, entries, notes };
}

/** Two entries that say the same (key order aside). */
const sameEntry = (a: unknown, b: unknown): boolean => canonicalize(a) === canonicalize(b);

export async function importDefinitions(ctx: Context, format: ImportFormat, file: string, opts: { dryRun: boolean; replace: boolean; allowEval: boolean }): Promise<ImportResult> {
  const { imported: raw, read } = await readInput(format, file, opts.allowEval);
  if (raw.refused) throw new UserError(raw.refused, 2);
  const imported = format === 'supervisord' ? raw : fromFileFolder(raw, file, ctx.registry.path);
  if (imported.entries.length === 0) {
    const why = imported.notes.filter((n) => /not imported/.test(n.message)).map(describeNote);
    throw new UserError(`${file}: no processes to import from it (as ${format})${why.length > 0 ? `: ${why.join('; ')}` : ''}.`, 2);
  }
  const seen = new Set<string>();
  for (const { name } of imported.entries) {
    if (seen.has(name)) throw new UserError(`${file}: two processes would be named "${name}"; rename one.`, 2);
    seen.add(name);
  }
  // The whole change, checked as the registry would hold it, before anything is written.
  type Status = ImportResult['processes'][number]['status'];
  const apply = (data: Record<string, unknown>): { name: string; created: boolean; status: Status }[] => {
    // The same entry imported again is unchanged, not a clash: an import can be run twice.
    const statusOf = (e: { name: string; entry: Record<string, unknown> }): Status =>
      !Object.hasOwn(data, e.name) ? 'added' : sameEntry(data[e.name], e.entry) ? 'unchanged' : opts.replace ? 'replaced' : 'conflict';
    const out = imported.entries.map((e) => ({ name: e.name, created: !Object.hasOwn(data, e.name), status: statusOf(e) }));
    const clash = out.filter((o) => o.status === 'conflict').map((o) => o.name);
    // A dry run shows the whole plan, clashes marked; the import itself refuses them.
    if (clash.length > 0 && !opts.dryRun) throw new UserError(`already in the registry, different: ${clash.join(', ')}. Pass --replace to overwrite them, or rename them in ${file} (--dry-run shows the plan).`, 1);
    for (const e of imported.entries) if (!clash.includes(e.name)) data[e.name] = e.entry;
    const issues = validateRegistry(data).issues.filter((i) => seen.has(i.process) || i.process === '');
    if (issues.length > 0) throw new RegistryInvalidError(ctx.registry.path, issues, 'nothing was imported');
    return out;
  };
  const warnings: string[] = [];
  // The state directory (locks, the ledger) is made when something is written, as the registry is.
  if (!opts.dryRun) ctx.store.init();
  const created = opts.dryRun
    ? apply(structuredClone(ctx.registry.data))
    : await updateRegistry(ctx.registry.path, apply, { lockDir: ctx.store.path('locks'), warn: (line) => warnings.push(line) });
  const createdOf = new Map(created.map((c) => [c.name, c.created]));
  const statusOf = new Map(created.map((c) => [c.name, c.status]));
  if (!opts.dryRun) {
    for (const e of imported.entries) {
      if (statusOf.get(e.name) === 'unchanged') continue;
      await recordRegistration(ctx, { name: e.name, created: createdOf.get(e.name)!, changes: Object.keys(e.entry), registry: ctx.registry.path });
    }
  }
  return {
    registry: ctx.registry.path, dry_run: opts.dryRun, written: !opts.dryRun, read,
    processes: imported.entries.map((e) => ({
      name: e.name, created: createdOf.get(e.name)!, status: statusOf.get(e.name)!,
      entry: e.entry.env ? { ...e.entry, env: Object.keys(e.entry.env as object) } : e.entry,
    })),
    notes: imported.notes,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
