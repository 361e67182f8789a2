// Commands run where no registry is found (an agent that changed folder): read commands show every
// registry this user has used (the per-user index), and a control command naming a process that
// lives in one of them says which and how to reach it.
import type { Context } from '../app/context.js';
import { readRegistry, REGISTRY_FILE } from '../effects/registry-file.js';
import { knownRegistries, rememberRegistry } from '../effects/user-index.js';
import { UserError } from '../errors.js';
import { contextFor, type GlobalArgs } from './wiring.js';

/** The registry was looked for (no --registry, no PGUARD_REGISTRY) and none was found upwards. */
export function isDiscoveryMiss(err: unknown, args: GlobalArgs, env: NodeJS.ProcessEnv = process.env): boolean {
  return err instanceof UserError && err.code === 'no-registry' && args.registry === undefined && !env.PGUARD_REGISTRY;
}

/** Remember the registry a command used; never in the command's way. */
export async function remember(ctx: Context): Promise<void> {
  try {
    await rememberRegistry(ctx.env, ctx.registry.path, ctx.store.dir);
  } catch { /* an unwritable home: the index is a convenience */ }
}

/** A context for every known registry that still loads; each one that does not is named on stderr. */
export async function knownContexts(tolerant: boolean, env: NodeJS.ProcessEnv = process.env): Promise<Context[]> {
  const out: Context[] = [];
  for (const known of await knownRegistries(env)) {
    try {
      out.push(contextFor(readRegistry(known.path, { allowIssues: tolerant }), env, known.stateDir));
    } catch (err) {
      process.stderr.write(`pguard: skipping ${known.path}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    }
  }
  return out;
}

export function sayShowingKnown(count: number): void {
  process.stderr.write(`pguard: no ${REGISTRY_FILE} in ${process.cwd()} or its parents; showing the ${count} registr${count === 1 ? 'y' : 'ies'} you have used (--registry PATH for one).\n`);
}

const withRegistry = (row: unknown, path: string): unknown => (row && typeof row === 'object' && !Array.isArray(row) ? { ...row, registry: path } : row);

/**
 * One result from a result per registry: rows of arrays (and of an object's array fields) each
 * carry `registry`, the file's path; an object's other fields are the first registry's.
 */
export function mergeAcross(results: readonly { path: string; result: unknown }[]): unknown {
  if (results.length === 0) return [];
  if (results.every((r) => Array.isArray(r.result))) return results.flatMap((r) => (r.result as unknown[]).map((row) => withRegistry(row, r.path)));
  const merged: Record<string, unknown> = { ...(results[0]!.result as Record<string, unknown>) };
  for (const [k, v] of Object.entries(merged)) {
    if (Array.isArray(v)) merged[k] = results.flatMap((r) => ((r.result as Record<string, unknown>)[k] as unknown[] ?? []).map((row) => withRegistry(row, r.path)));
  }
  return merged;
}

const quote = (a: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * For a control command: when every process it names is in one known registry, an error that says
 * which and the command line that reaches it; else null.
 */
export async function pointToKnown(names: readonly string[], argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<UserError | null> {
  if (names.length === 0) return null;
  const holders: string[] = [];
  for (const known of await knownRegistries(env)) {
    try {
      const reg = readRegistry(known.path, { allowIssues: true });
      if (names.every((n) => Object.hasOwn(reg.data, n))) holders.push(known.path);
    } catch { /* not loadable: not a place to send anyone */ }
  }
  if (holders.length !== 1) return null;
  const where = holders[0]!;
  const line = ['pguard', ...argv, '--registry', where].map(quote).join(' ');
  const what = names.length === 1 ? `"${names[0]}" is` : `${names.map((n) => `"${n}"`).join(', ')} are`;
  return new UserError(`no ${REGISTRY_FILE} in ${process.cwd()} or its parents; ${what} in ${where}: \`${line}\``, 2, 'no-registry');
}
