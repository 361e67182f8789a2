// register / deregister: the only use cases that write the registry.
import { RegistryInvalidError } from '../errors.js';
import { validateEntry, validateName } from '../core/validate.js';
import { updateRegistry } from '../effects/registry-file.js';
import { UserError } from '../errors.js';

export interface RegisterResult {
  readonly name: string;
  readonly created: boolean;
  readonly changes: readonly string[];
  readonly registry: string;
}

/**
 * Add or update one entry; unknown fields of an existing entry are kept. `patch` is snake_case.
 * `lockDir`: the registry's state directory's lock folder.
 */
export async function registerProcess(registryPath: string, lockDir: string, name: string, patch: Record<string, unknown>): Promise<RegisterResult> {
  const bad = validateName(name);
  if (bad) throw new UserError(`${bad}.`);
  return updateRegistry(registryPath, (data) => {
    const existing = data[name];
    const before = existing && typeof existing === 'object' && !Array.isArray(existing) ? (existing as Record<string, unknown>) : undefined;
    const after: Record<string, unknown> = { ...(before ?? {}), ...patch };
    const issues = validateEntry(name, after);
    if (issues.length > 0) throw new RegistryInvalidError(registryPath, issues);
    const changes: string[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const old = before?.[k];
      if (JSON.stringify(old) !== JSON.stringify(v)) {
        changes.push(before && old !== undefined ? `${k}: ${show(k, old)} -> ${show(k, v)}` : `${k}: ${show(k, v)}`);
      }
    }
    data[name] = after;
    return { name, created: !before, changes, registry: registryPath };
  }, { lockDir });
}

/** env values may be secrets: name the keys, never the values. */
function show(key: string, value: unknown): string {
  if (key === 'env' && value && typeof value === 'object') return `{${Object.keys(value).join(', ')}}`;
  return JSON.stringify(value);
}

export async function removeFromRegistry(registryPath: string, lockDir: string, name: string): Promise<boolean> {
  return updateRegistry(registryPath, (data) => {
    if (!(name in data)) return false;
    delete data[name];
    return true;
  }, { lockDir });
}
