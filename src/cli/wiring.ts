// Composition root: resolve the registry and the state directory, build the real ports once.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Context } from '../app/context.js';
import { systemClock } from '../effects/clock.js';
import { locateRegistry, readRegistry, REGISTRY_FILE, type LoadedRegistry } from '../effects/registry-file.js';
import { resolveStateDir, StateStore } from '../effects/state-store.js';
import { validateRegistry } from '../core/validate.js';
import { RegistryInvalidError, UserError } from '../errors.js';

export interface GlobalArgs {
  readonly registry?: string | undefined;
  readonly json?: boolean | undefined;
}

/** The registry path the command would use (for `register`, which may create it). */
export function resolveRegistryPath(args: GlobalArgs, opts: { create?: boolean } = {}): string {
  if (args.registry === '') throw new UserError('--registry needs a path: --registry PATH (the file, e.g. ./.process-registry.json).', 2, 'usage');
  const loc = locateRegistry({ flag: args.registry, env: process.env.PGUARD_REGISTRY, cwd: process.cwd() });
  if (loc) {
    if (!loc.exists && opts.create && !existsSync(dirname(loc.path))) {
      throw new UserError(`${dirname(loc.path)}: no such folder for the registry. Create it first (mkdir -p), or pass another --registry.`, 2, 'no-registry');
    }
    if (!loc.exists && !opts.create) {
      throw new UserError(`${loc.path}: no such registry. Create it with \`pguard register <name> <command>\`, or check --registry / PGUARD_REGISTRY.`, 2, 'no-registry');
    }
    return loc.path;
  }
  if (opts.create) return resolve(process.cwd(), REGISTRY_FILE);
  throw new UserError(`no ${REGISTRY_FILE} in ${process.cwd()} or its parents. Create one with \`pguard register <name> <command>\`, or pass --registry PATH.`, 2, 'no-registry');
}

/**
 * Load the registry and build the context. `tolerant`: go on when some entries break the schema
 * (the runner's on-exit must still record the exits of the valid ones).
 */
export function buildContext(args: GlobalArgs, opts: { tolerant?: boolean } = {}): Context {
  const path = resolveRegistryPath(args);
  const registry: LoadedRegistry = readRegistry(path, { allowIssues: opts.tolerant ?? false });
  return contextFor(registry);
}

/**
 * The context of a command that may create the registry (`import`): the registry found, or one
 * that is not there yet, as an empty one. Nothing is created here, not even the state directory:
 * the command creates both when it writes (a dry run, or a failure, leaves nothing behind).
 */
export function lazyContext(args: GlobalArgs): Context {
  const path = resolveRegistryPath(args, { create: true });
  if (existsSync(path)) return buildContext({ ...args, registry: path }, { tolerant: true });
  const { defs, settings, issues } = validateRegistry({});
  return contextFor({ path, text: '{}', data: {}, defs, settings, issues }, process.env, undefined, { init: false });
}

export function contextFor(registry: LoadedRegistry, env: NodeJS.ProcessEnv = process.env, knownStateDir?: string, opts: { init?: boolean } = {}): Context {
  // A registry reached through the per-user index keeps the state directory it was used with.
  const stateDir = registry.settings.stateDir || !knownStateDir ? resolveStateDir(registry.path, registry.settings.stateDir, env) : knownStateDir;
  const store = new StateStore(stateDir);
  if (opts.init !== false) store.init();
  return {
    registry,
    store,
    clock: systemClock,
    env,
    alertFlag: registry.settings.alertFlag ?? store.path('alertFlag'),
    alertText: registry.settings.alertText ?? store.path('alertText'),
    progress: (line) => process.stderr.write(`${line}\n`),
  };
}

/**
 * A context read afresh at each call, for the long-lived servers (dashboard, MCP): edits of the
 * registry are seen, a broken entry is shown as such, and the state directory stays the one found
 * at start.
 */
export function reloader(path: string, stateDir: string, env: NodeJS.ProcessEnv = process.env): () => Context {
  return () => contextFor(readRegistry(path, { allowIssues: true }), env, stateDir);
}

/**
 * The lock folder of a registry's state directory, for `register` (which may create the registry):
 * the registry's writers, from whatever command, meet there.
 */
export function registryLockDir(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = existsSync(path) ? readRegistry(path, { allowIssues: true }).settings.stateDir : undefined;
  const store = new StateStore(resolveStateDir(path, configured, env));
  store.init();
  return store.path('locks');
}

/** For a tolerant load: refuse when the named process's own entry is the broken one. */
export function requireValidEntry(registry: LoadedRegistry, name: string): void {
  const own = registry.issues.filter((i) => i.process === name || i.process === '$settings' || i.process === '');
  if (own.length > 0) throw new RegistryInvalidError(registry.path, own);
}

