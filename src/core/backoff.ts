// Restart spacing. Backoff is stored data (lastRestartAt, restarts) re-decided from on every
// observation; nothing in pguard sleeps on it except the runner, which is told when.
import type { ProcessRecord } from './record.js';
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

/** The first retry of a failed process comes this long after it gave up; each next one waits twice as long. */
export const FAILED_RETRY_FIRST_MS = 60_000;

/**
 * How long after giving up (or after its last retry) a failed process is tried again: 1 min, 2, 4,
 * ... doubling with each retry that failed too, capped at failed_retry. null: never (failed_retry 0).
 */
export function failedRetryDelayMs(failedRetryS: number, retries: number): number | null {
  if (failedRetryS <= 0) return null;
  const cap = failedRetryS * 1000;
  return Math.min(FAILED_RETRY_FIRST_MS * 2 ** Math.min(retries, 30), cap);
}

/** When a failed process is next retried (ms since epoch), or null. */
export function nextFailedRetryAt(failedRetryS: number, record: Pick<ProcessRecord, 'failedAt' | 'lastRetryAt' | 'failedRetries'>): number | null {
  const delay = failedRetryDelayMs(failedRetryS, record.failedRetries);
  if (delay === null) return null;
  return Math.max(record.failedAt ?? 0, record.lastRetryAt ?? 0) + delay;
}

/** A run that lasted min_uptime was stable: it resets the budget. */
export function isStable(def: Pick<ProcessDef, 'minUptimeS'>, ranMs: number): boolean {
  return ranMs >= def.minUptimeS * 1000;
}
