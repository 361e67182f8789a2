// Definition generations as the policy sees them: is the running generation known-good, has it
// ever passed its probes, and is there a known-good one to go back to. The rules for marking a
// generation known-good and for rolling a failing one back live here, pure; the generations file
// is effects/state-store.ts.
import type { PendingEvent } from './events.js';
import type { ProcessRecord } from './record.js';
import type { ProcessDef } from './schema.js';

/** What observe() read of the current generation (null where none is recorded). */
export interface Lineage {
  readonly generation: number;
  readonly knownGood: boolean;
  /** Its probes have all passed at least once. */
  readonly healthy: boolean;
  /** The last known-good generation other than this one, to roll back to. */
  readonly fallback: number | null;
}

export type GenerationMark = 'known_good_at' | 'healthy_at';

/** One definition generation: the entry as written, and when it proved itself. */
export interface Generation {
  readonly gen: number;
  readonly hash: string;
  /** The entry as written in the registry (snake_case, unknown fields kept). */
  readonly entry: Record<string, unknown>;
  readonly at: string;
  readonly known_good_at: string | null;
  /** First time all its probes passed (processes without probes: null). */
  readonly healthy_at: string | null;
}

/** The last known-good generation other than `current`. */
export function lastKnownGood(gens: readonly Generation[], current: number | null): Generation | null {
  const good = gens.filter((g) => g.known_good_at && g.gen !== current);
  return good.sort((a, b) => (a.known_good_at! < b.known_good_at! ? -1 : 1)).at(-1) ?? null;
}

/**
 * The one rule for known-good: a run of this generation has lasted min_uptime, pguard did not end
 * it, it is not unhealthy, and, if the process has probes, their last results all passed. Returns
 * the mark and its ledger event the first time it holds.
 */
export function knownGoodMark(
  def: Pick<ProcessDef, 'name' | 'minUptimeS' | 'health'>,
  lineage: Lineage | null,
  record: ProcessRecord,
  ranMs: number,
): { mark: { generation: number; what: GenerationMark }; event: PendingEvent } | null {
  if (!lineage || lineage.knownGood || record.generation !== lineage.generation) return null;
  if (record.killReason || record.status === 'unhealthy') return null;
  if (ranMs < def.minUptimeS * 1000 || (def.health.length > 0 && !allProbesPass(def, record))) return null;
  return {
    mark: { generation: lineage.generation, what: 'known_good_at' },
    event: { event: 'known-good', process: def.name, details: { generation: lineage.generation } },
  };
}

/**
 * A new definition that fails is rolled back to the last known-good one: when it gives up (its
 * budget spent) or is ended for a probe it never passed. Never a known-good generation itself.
 */
export function wantsRollback(lineage: Lineage | null, failure: 'gave-up' | 'probe-never-passed' | null): boolean {
  if (!lineage || !failure || lineage.knownGood || lineage.fallback === null) return false;
  return failure === 'gave-up' || !lineage.healthy;
}

/**
 * A generation never known-good, with a known-good one to go back to: on probation. Its second
 * premature death rolls it back at once (core/on-exit.ts), without spending its budget on
 * cooldowns; a known-good generation keeps its whole budget.
 */
export function onProbation(lineage: Lineage | null): boolean {
  return lineage !== null && !lineage.knownGood && lineage.fallback !== null;
}

/** Every probe of the definition has a result, and the last one of each passed. */
export function allProbesPass(def: Pick<ProcessDef, 'health'>, record: Pick<ProcessRecord, 'probes'>): boolean {
  return def.health.length > 0 && record.probes.length === def.health.length && record.probes.every((p) => p?.lastOk === true);
}
