// What every use case receives: the loaded registry, the state store and the clock. Built once by
// cli/wiring.ts; tests build their own.
import type { Clock } from '../effects/clock.js';
import type { LoadedRegistry } from '../effects/registry-file.js';
import type { StateStore } from '../effects/state-store.js';
import type { ProcessDef } from '../core/schema.js';
import { placeholderDef, validateName } from '../core/validate.js';
import { UserError } from '../errors.js';
import { withLock } from '../effects/lock.js';

export interface Context {
  readonly registry: LoadedRegistry;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly env: NodeJS.ProcessEnv;
  /** Where the alert flag files live. */
  readonly alertFlag: string;
  readonly alertText: string;
  /** Progress lines for long operations (stderr on the CLI; silent with --json). */
  readonly progress: (line: string) => void;
}

export function requireDef(ctx: Context, name: string): ProcessDef {
  const def = ctx.registry.defs.get(name);
  if (!def) {
    const known = [...ctx.registry.defs.keys()];
    const hint = known.length ? `Known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}.` : 'The registry is empty: add one with `pguard register`.';
    throw new UserError(`no process named "${name}" in ${ctx.registry.path}. ${hint}`, 1, 'unknown-process');
  }
  return def;
}

/** The entries pguard supervises: those without a schema issue (one bad entry locks out no other). */
export function supervisedDefs(ctx: Pick<Context, 'registry'>): ProcessDef[] {
  const invalid = new Set(ctx.registry.issues.map((i) => i.process));
  return [...ctx.registry.defs.values()].filter((d) => !invalid.has(d.name));
}

/** Every name in the file, valid entry or not: a broken entry is still a process someone may need to stop. */
export function fileNames(ctx: Pick<Context, 'registry'>): string[] {
  return Object.keys(ctx.registry.data).filter((k) => !k.startsWith('$') && !validateName(k));
}

/** The schema issues of one entry, as lines. */
export function issuesOf(ctx: Pick<Context, 'registry'>, name: string): string[] {
  return ctx.registry.issues.filter((i) => i.process === name).map((i) => (i.field ? `${i.field}: ${i.message}` : i.message));
}

/**
 * The definition to stop, show or read the log of a process by, whether or not its entry passes
 * the schema (its valid fields, defaults for the rest). Unknown names are refused.
 */
export function requireAnyDef(ctx: Context, name: string): ProcessDef {
  const def = ctx.registry.defs.get(name);
  if (def) return def;
  if (fileNames(ctx).includes(name)) return placeholderDef(name);
  return requireDef(ctx, name);
}

/** Like selectNames, for commands that work on any entry of the file (stop): --all is every name in it. */
export function selectAnyNames(ctx: Context, names: readonly string[], all: boolean, verb: string): string[] {
  if (all) return fileNames(ctx);
  if (names.length === 0) throw new UserError(`name the processes to ${verb}, or pass --all.`, 2);
  for (const n of names) requireAnyDef(ctx, n);
  return [...new Set(names)];
}

/** Names from the command line, or every registered name with --all; unknown names refused up front. */
export function selectNames(ctx: Context, names: readonly string[], all: boolean, verb: string): string[] {
  if (all) return [...ctx.registry.defs.keys()];
  if (names.length === 0) throw new UserError(`name the processes to ${verb}, or pass --all.`, 2);
  for (const n of names) requireDef(ctx, n);
  return [...new Set(names)];
}

/** Serialize everything that reads-decides-writes one process's record (CLI, runner callbacks, cron). */
export function withProcessLock<T>(ctx: Context, name: string, fn: () => Promise<T>, waitMs = 30_000): Promise<T> {
  return withLock(ctx.store.path('locks'), `proc-${name}`, `"${name}" process`, waitMs, fn);
}
