// Restart spacing. Backoff is stored data (lastRestartAt, restarts) re-decided from on every
// observation; nothing in pguard sleeps on it except the runner, which is told when.
import type { ProcessDef } from './schema.js';

/** Exponential backoff never waits longer than 16 x restart_cooldown, nor longer than an hour. */
export const BACKOFF_FACTOR_CAP = 16;
export const BACKOFF_ABSOLUTE_CAP_MS = 3_600_000;

/**
 * Wait required between the previous automatic restart and the next one, given how many automatic
 * restarts the current window already holds (k >= 1). The first restart of a window is immediate.
 */
export function cooldownMs(def: Pick<ProcessDef, 'restartCooldownS' | 'backoff'>, k: number): number {
  if (k <= 0) return 0;
  const base = def.restartCooldownS * 1000;
  if (def.backoff === 'fixed') return base;
  const factor = Math.min(2 ** (k - 1), BACKOFF_FACTOR_CAP);
  return Math.min(base * factor, Math.max(base, BACKOFF_ABSOLUTE_CAP_MS));
}

/** When the next automatic restart may happen (ms since epoch); 0 = at once. */
export function nextRestartNotBefore(
  def: Pick<ProcessDef, 'restartCooldownS' | 'backoff'>,
  restarts: number,
  lastRestartAt: number | null,
): number {
  if (restarts === 0 || lastRestartAt === null) return 0;
  return lastRestartAt + cooldownMs(def, restarts);
}

/** A run that lasted min_uptime was stable: it resets the budget. */
export function isStable(def: Pick<ProcessDef, 'minUptimeS'>, ranMs: number): boolean {
  return ranMs >= def.minUptimeS * 1000;
}
