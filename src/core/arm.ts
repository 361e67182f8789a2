// What the runner may do on its own at the next exit, precomputed by the same rules as the exit
// policy (core/on-exit.ts), so that a premature death is restarted without starting Node. The
// runner's half of the rule is four comparisons (bin/pguard-runner.sh); the conformance test
// (test/effects/runner-conformance.test.ts) runs the real runner against decide() over a table.
import { nextRestartNotBefore } from './backoff.js';
import { completionThresholdMs, finalExitCodes } from './exit.js';
import { onProbation, type Lineage } from './lineage.js';
import type { ProcessRecord } from './record.js';
import type { ProcessDef } from './schema.js';
import { isUp } from './states.js';

export interface Arm {
  /** Exit 0 after at least this long is a normal completion; 0 = never (duration_min 0). */
  readonly normalAfterMs: number;
  /** A run this long is stable: restart at once. -1 = never (max_restarts 0). */
  readonly stableAfterMs: number;
  /** An unstable run may be restarted... */
  readonly unstableOk: boolean;
  /** ...but not before this time (ms since epoch). */
  readonly notBefore: number;
  /** Exit statuses the runner does not restart itself (126, 127, no_restart_exit_codes, success_exit_codes): it asks pguard. */
  readonly finalStatuses: readonly number[];
}

type ArmPolicy = Pick<ProcessDef, 'durationMin' | 'autoRestart' | 'maxRestarts' | 'restartCooldownS' | 'minUptimeS' | 'backoff' | 'noRestartExitCodes' | 'successExitCodes'> & Partial<Pick<ProcessDef, 'schedule'>>;

/**
 * The arm for a record: a run that is up, or a restart the runner is about to carry out after a
 * cooldown (its next run's exit is judged by the same budget). None where nothing may restart.
 * A generation on probation that has died once already is not restarted alone: its next
 * premature death is reported, and rolled back.
 */
export function armFor(def: ArmPolicy, record: ProcessRecord, lineage: Lineage | null = null): Arm | null {
  // A job (`schedule`) is never restarted by its runner: each exit is reported (core/on-exit.ts).
  if (!def.autoRestart || def.maxRestarts === 0 || def.schedule !== undefined) return null;
  const pendingRestart = record.status === 'crashed' && record.nextRestartAt !== null;
  if (!isUp(record.status) && !pendingRestart) return null;
  return {
    normalAfterMs: def.durationMin > 0 ? completionThresholdMs(def) : 0,
    stableAfterMs: def.minUptimeS * 1000,
    unstableOk: record.restarts < def.maxRestarts && !(onProbation(lineage) && record.restarts >= 1),
    notBefore: nextRestartNotBefore(def, record.restarts, record.lastRestartAt),
    finalStatuses: [...new Set([...finalExitCodes(def), ...def.successExitCodes])].sort((a, b) => a - b),
  };
}
