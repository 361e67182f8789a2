// register / deregister: the only use cases that write the registry.
import { RegistryInvalidError } from '../errors.js';
import { validateEntry, validateName, validateRegistry } from '../core/validate.js';
import { updateRegistry } from '../effects/registry-file.js';
import { UserError } from '../errors.js';
import { dependentsOf } from '../core/deps.js';
import { requireAnyDef, type Context } from './context.js';
import { recordGeneration } from './generations.js';
import { recordEvent } from './ledger.js';
import { closeAlertsOf } from './alerts.js';
import { stopOne } from './stop.js';

export interface RegisterResult {
  readonly name: string;
  readonly created: boolean;
  readonly changes: readonly string[];
  readonly registry: string;
  /** The registry holds env values that others can read: how to make it private. */
  readonly warning?: string;
}

/**
 * Add or update one entry; unknown fields of an existing entry are kept. `patch` is snake_case.
 * `lockDir`: the registry's state directory's lock folder.
 */
export async function registerProcess(registryPath: string, lockDir: string, name: string, patch: Record<string, unknown>): Promise<RegisterResult> {
  const bad = validateName(name);
  if (bad) throw new UserError(`${bad}.`, 2);
  let warning: string | undefined;
  const res = await updateRegistry(registryPath, (data) => {
    // A registry that already breaks the schema is not written to: its issues are named, the file left as it is.
    const before = validateRegistry(data).issues;
    if (before.length > 0) throw new RegistryInvalidError(registryPath, before, 'fix these first (register would otherwise write into a broken registry)');
    // Its own entry only: not a name every object inherits (constructor, toString).
    const existing = Object.hasOwn(data, name) ? data[name] : undefined;
    const existed = existing !== undefined;
    const previous = existing && typeof existing === 'object' && !Array.isArray(existing) ? (existing as Record<string, unknown>) : undefined;
    const after: Record<string, unknown> = { ...(previous ?? {}), ...patch };
    const issues = validateEntry(name, after);
    if (issues.length > 0) throw new RegistryInvalidError(registryPath, issues);
    const changes: string[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const old = previous?.[k];
      if (JSON.stringify(old) !== JSON.stringify(v)) {
        changes.push(previous && old !== undefined ? `${k}: ${show(k, old)} -> ${show(k, v)}` : `${k}: ${show(k, v)}`);
      }
    }
    data[name] = after;
    // What the entry names across the registry (depends_on: known names, no cycle), before any write.
    const across = validateRegistry(data).issues;
    if (across.length > 0) throw new RegistryInvalidError(registryPath, across, 'nothing was written');
    return { name, created: !existed, changes, registry: registryPath };
  }, { lockDir, warn: (line) => { warning = line; } });
  return warning === undefined ? res : { ...res, warning };
}

/** env values may be secrets: name the keys, never the values. */
function show(key: string, value: unknown): string {
  if (key === 'env' && value && typeof value === 'object') return `{${Object.keys(value).join(', ')}}`;
  return JSON.stringify(value);
}

export async function removeFromRegistry(registryPath: string, lockDir: string, name: string): Promise<boolean> {
  return updateRegistry(registryPath, (data) => {
    if (!Object.hasOwn(data, name)) return false;
    const before = new Set(validateRegistry(data).issues.map((i) => `${i.process}\0${i.field}\0${i.message}`));
    delete data[name];
    // Removing a broken entry is always allowed; removing one that others depend on is not.
    const created = validateRegistry(data).issues.filter((i) => !before.has(`${i.process}\0${i.field}\0${i.message}`));
    if (created.length > 0) throw new RegistryInvalidError(registryPath, created, `"${name}" was not removed (deregister or edit those first)`);
    return true;
  }, { lockDir });
}

/** After a register that changed something: a new definition generation, and the ledger event. */
export async function recordRegistration(ctx: Context, res: RegisterResult): Promise<void> {
  if (!res.created && res.changes.length === 0) return;
  const gen = recordGeneration(ctx, res.name);
  await recordEvent(ctx, res.created ? 'register' : 'update', res.name, { changes: res.changes, generation: gen?.gen ?? null });
}

export interface DeregisterResult {
  readonly name: string;
  readonly stopped: boolean;
  readonly removed: boolean;
  readonly message: string;
}

/** Stop it if it runs, take it out of the registry, forget its state and logs. Refused while others depend on it. */
export async function deregisterProcess(ctx: Context, name: string): Promise<DeregisterResult> {
  requireAnyDef(ctx, name);
  const dependents = dependentsOf(ctx.registry.defs, name);
  if (dependents.length > 0) {
    const one = dependents.length === 1;
    throw new UserError(`${dependents.join(', ')} depend${one ? 's' : ''} on "${name}": deregister ${one ? 'it' : 'them'} first, or take "${name}" out of ${one ? 'its' : 'their'} depends_on.`, 2);
  }
  const stop = await stopOne(ctx, name);
  await removeFromRegistry(ctx.registry.path, ctx.store.path('locks'), name);
  ctx.store.removeProcess(name);
  await recordEvent(ctx, 'deregister', name, { was_running: stop.outcome === 'stopped' });
  // Its open alerts are closed, marked acknowledged_by "deregister": nothing is left to act on (the
  // registry's flag goes when nothing else is open, and the per-user flag follows).
  await closeAlertsOf(ctx, name, 'deregister');
  return { name, stopped: stop.outcome === 'stopped', removed: true, message: stop.message };
}
