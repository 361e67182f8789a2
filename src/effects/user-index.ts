// pguard's per-user files, beside (not inside) the per-registry state directories: the index of
// every registry this user has used, so that commands run from another folder can find them, and
// the one alert flag that exists while any of them has an unacknowledged alert.
//   $XDG_STATE_HOME/pguard/ (default ~/.local/state/pguard/), private (0700):
//     registries.json   { "<registry path>": { "state_dir": "..." } }
//     alert.flag        exists while any registry has an unacknowledged alert; one line per such registry
//     alerting/<id>     one marker per registry with unacknowledged alerts (its path and how many)
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { sha256 } from './hash.js';
import { withLock } from './lock.js';
import { ensurePrivateDir, stateBase } from './state-store.js';

export interface KnownRegistry {
  readonly path: string;
  readonly stateDir: string;
}

/** The per-user folder: $XDG_STATE_HOME/pguard, else ~/.local/state/pguard (where state dirs live by default). */
export function userDir(env: NodeJS.ProcessEnv): string {
  return join(stateBase(env), 'pguard'); // beside the state directories (%LOCALAPPDATA%\pguard on Windows)
}

export function userAlertFlag(env: NodeJS.ProcessEnv): string {
  return join(userDir(env), 'alert.flag');
}

export function userIndexFile(env: NodeJS.ProcessEnv): string {
  return join(userDir(env), 'registries.json');
}

function readIndex(env: NodeJS.ProcessEnv): Record<string, { state_dir: string }> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(userIndexFile(env), 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, { state_dir: string }>) : {};
  } catch {
    return {};
  }
}

async function updateIndex(env: NodeJS.ProcessEnv, change: (index: Record<string, { state_dir: string }>) => boolean): Promise<void> {
  const dir = userDir(env);
  ensurePrivateDir(dir);
  await withLock(join(dir, 'locks'), 'index', 'registry index', 5000, async () => {
    const index = readIndex(env);
    if (change(index)) writeFileAtomic(userIndexFile(env), `${JSON.stringify(index, null, 1)}\n`, 0o600, { durable: false });
  });
}

/**
 * Remember a registry (and its state directory). A read on every call, a write only when it is new
 * or its state directory moved: this is on every command's path.
 */
export async function rememberRegistry(env: NodeJS.ProcessEnv, path: string, stateDir: string): Promise<void> {
  if (readIndex(env)[path]?.state_dir === stateDir) return;
  await updateIndex(env, (index) => {
    if (index[path]?.state_dir === stateDir) return false;
    index[path] = { state_dir: stateDir };
    return true;
  });
}

/** Every registry remembered whose file is still there; those that are gone are forgotten. */
export async function knownRegistries(env: NodeJS.ProcessEnv): Promise<KnownRegistry[]> {
  const index = readIndex(env);
  const gone = Object.keys(index).filter((p) => !existsSync(p));
  if (gone.length > 0) {
    await updateIndex(env, (i) => {
      for (const p of gone) delete i[p];
      return true;
    }).catch(() => undefined); // pruning is housekeeping: a busy lock leaves it for next time
    for (const p of gone) forgetAlerting(env, p);
  }
  return Object.entries(index).filter(([p]) => !gone.includes(p)).map(([path, v]) => ({ path, stateDir: v.state_dir }));
}

function alertingDir(env: NodeJS.ProcessEnv): string {
  return join(userDir(env), 'alerting');
}

function markerOf(env: NodeJS.ProcessEnv, registry: string): string {
  return join(alertingDir(env), sha256(registry).slice(0, 12));
}

/** The flag's text from the markers: one line per registry, `<count> <registry path>`. */
function rewriteFlag(env: NodeJS.ProcessEnv): void {
  const dir = alertingDir(env);
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { /* none yet */ }
  const lines = names.flatMap((n) => { try { return [readFileSync(join(dir, n), 'utf8').trim()]; } catch { return []; } }).filter(Boolean);
  if (lines.length === 0) rmSync(userAlertFlag(env), { force: true });
  else writeFileAtomic(userAlertFlag(env), `${lines.sort().join('\n')}\n`, 0o600, { durable: false });
}

/**
 * Say how many unacknowledged alerts a registry has. Order makes it safe without a lock: a raise
 * writes its marker before the flag; a clear removes its marker, then the flag only if no marker is
 * left, and looks again after (a raise in between has its marker by then, and the flag comes back).
 */
export function syncUserAlertFlag(env: NodeJS.ProcessEnv, registry: string, open: number): void {
  const marker = markerOf(env, registry);
  if (open > 0) {
    ensurePrivateDir(alertingDir(env));
    writeFileAtomic(marker, `${open} ${registry}\n`, 0o600, { durable: false });
    rewriteFlag(env);
    return;
  }
  if (!existsSync(marker) && !existsSync(userAlertFlag(env))) return;
  rmSync(marker, { force: true });
  rewriteFlag(env);
  rewriteFlag(env);
}

function forgetAlerting(env: NodeJS.ProcessEnv, registry: string): void {
  try { syncUserAlertFlag(env, registry, 0); } catch { /* housekeeping */ }
}
