// What decide() answers: a plan. The next record, the headline decision, the alerts to raise, and
// the effects that carry it out, in the order app/apply.ts performs them. Nothing here does
// anything; every caller (the runner's report, healthcheck, watch, start, stop) hands the plan to
// the one apply.
import type { AlertIntent } from './alerts.js';
import type { Arm } from './arm.js';
import type { PendingEvent } from './events.js';
import type { GenerationMark, Lineage } from './lineage.js';
import type { ProbeResult } from './probes.js';
import type { ExitInfo, ProcessRecord, RunInfo } from './record.js';
import type { Status } from './states.js';

/** Who asked for a start (the ledger and the record's reason say it). */
export type StartedBy = 'user' | 'boot' | 'dependency' | 'rollback' | 'restart_schedule';

export type Observation =
  /** The runner saw its process end. restartedAt: the runner already restarted it (armed fast path). */
  | { readonly kind: 'exited'; readonly exit: ExitInfo; readonly restartedAt: number | null; readonly lineage?: Lineage | null; readonly blockedBy?: readonly string[] }
  /** A look at the recorded run: is its process alive, and its runner? */
  /** lateAfterMs: a schedule's due time older than this was missed (nothing looked in time); default 60 s. */
  | { readonly kind: 'checked'; readonly processAlive: boolean; readonly runnerAlive: boolean; readonly lineage?: Lineage | null; readonly blockedBy?: readonly string[]; readonly lateAfterMs?: number }
  /** `start` of a job (`schedule`) without --now: arm its schedule, run nothing (the caller checked nothing is alive). */
  | { readonly kind: 'arm-requested' }
  /** Probe results (by index of `health`; null: not run this time) and the tree's resource use. */
  | {
      readonly kind: 'probed';
      readonly results: readonly (ProbeResult | null)[];
      readonly usage: { readonly rssMb: number; readonly cpuTicks: number; readonly ticksPerSecond: number } | null;
      readonly lineage?: Lineage | null;
      readonly blockedBy?: readonly string[];
    }
  /** A start asked for while neither the process nor its runner is alive (the caller checked). */
  /** after: restarted because that dependency restarted (restart_dependents). */
  | { readonly kind: 'start-requested'; readonly by: StartedBy; readonly after?: string }
  /** Its dependency `after` restarted and is ready, and this dependent recovered by itself: it is left running (restart_dependents). */
  | { readonly kind: 'left-running'; readonly after: string; readonly detail: string }
  /** heldFor: pguard stops it for these dependencies (restart_dependents): it waits, it is not stopped by the user. */
  | { readonly kind: 'stop-requested'; readonly heldFor?: readonly string[] }
  /** The stop's signals are done: the run it ended and its exit (if the runner recorded one), and what it took. */
  | {
      readonly kind: 'stop-finished'; readonly run: RunInfo | null; readonly exit: ExitInfo | null; readonly wasRunning: boolean;
      readonly signal: string; readonly sigkill: boolean; readonly lineage?: Lineage | null;
    };

export type Decision =
  | { readonly action: 'none' }
  /** Spawn a new runner now (start, failed-retry, or recovery when the runner is gone). */
  | { readonly action: 'spawn'; readonly delayMs: number }
  /** The run lives but its runner died: a new runner adopts it (watches it, and acts at its exit). */
  | { readonly action: 'adopt' }
  /** The live runner restarts the process after delayMs (0 = at once). */
  | { readonly action: 'restart'; readonly delayMs: number }
  /** Signal the process tree: the user asked for a stop. */
  | { readonly action: 'stop' }
  /** End the run gracefully (stop_signal, SIGKILL after kill_timeout) so the runner restarts it. */
  | { readonly action: 'kill'; readonly reason: string };

export type Effect =
  /** A stop asked for (on) or over (off): the runner reads it before every run and after every exit. */
  | { readonly kind: 'stop-marker'; readonly on: boolean }
  /**
   * A new runner, after delayMs; apply records its identity in the record and a `start` event. With
   * `adopt`: it does not start the command, it watches that live run (of a dead runner) until it
   * ends, then acts as after any exit; apply records an `adopt` event instead.
   */
  | { readonly kind: 'spawn-runner'; readonly delayMs: number; readonly adopt?: RunInfo }
  /** What the runner may do alone at the next exit (null: nothing, ask pguard). */
  | { readonly kind: 'arm'; readonly arm: Arm | null }
  /** stop_signal to the current run's group and tree, SIGKILL after kill_timeout. */
  | { readonly kind: 'end-run' }
  | { readonly kind: 'ledger'; readonly entry: PendingEvent }
  | { readonly kind: 'mark-generation'; readonly generation: number; readonly what: GenerationMark }
  /** Put the last known-good definition back (a background job; it waits for this runner). */
  | { readonly kind: 'rollback'; readonly reason: string }
  /** Restart the running processes that depend on this one once it is ready (a background job). */
  | { readonly kind: 'restart-dependents' }
  /** Its restart_schedule came: restart it as `pguard restart` does (a background job). */
  | { readonly kind: 'scheduled-restart' };

export interface Plan {
  readonly next: Status;
  readonly record: ProcessRecord;
  readonly decision: Decision;
  readonly alerts: readonly AlertIntent[];
  readonly effects: readonly Effect[];
}

/** A decider's answer before decide() adds the rules every plan shares (arm, known-good, rollback, dependents). */
export interface Step {
  readonly next: Status;
  readonly record: ProcessRecord;
  readonly decision: Decision;
  readonly alerts: readonly AlertIntent[];
  /** Effects particular to this observation, in order (ledger events before a spawn, say). */
  readonly effects?: readonly Effect[];
  /** A run of the current generation that may make it known-good: its record (with its last probe results) and how long it ran. */
  readonly goodRun?: { readonly record: ProcessRecord; readonly ranMs: number };
  /** Why this step may call for a rollback. */
  readonly failure?: 'gave-up' | 'probe-never-passed';
}

export const ledger = (entry: PendingEvent): Effect => ({ kind: 'ledger', entry });

/** "db", "db and cache", "db, cache and queue". */
export function describeNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** A list said on one line however long it is: "a, b, c" up to `max` names, then "a, b, ... and 4,992 more". */
export function describeList(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max - 1).join(', ')} ... and ${(names.length - max + 1).toLocaleString('en-US')} more`;
}

/** The one alert of a dependency episode: what happened, and what it waits for. */
export function waitingAlert(what: string, blockedBy: readonly string[], restarts: number): AlertIntent {
  const names = describeNames(blockedBy);
  return {
    kind: 'waiting', severity: 'warning',
    message: `${what}; waiting for ${names}, which ${blockedBy.length === 1 ? 'is' : 'are'} not ready: not restarted until then (its restart budget is untouched)`,
    evidence: { restarts, action: 'waiting' },
  };
}
