// What pguard has recorded about one process (persisted by effects/state-store.ts as state.json).
// Distinct from what is observed now (core/policy.ts Observation) and from what the user wrote (schema.ts).
import type { AlertKind } from './alerts.js';
import type { RunExit } from './exit.js';
import type { ProbeState } from './probes.js';
import type { Status } from './states.js';

/** "Is this ours?": a PID alone is reused by the OS; with its start time and the boot ID it is not. */
export interface Identity {
  readonly pid: number;
  /** OS start time of the process (Linux: clock ticks since boot from /proc/PID/stat; elsewhere `ps -o lstart`). */
  readonly startTime: string;
  /** Linux boot ID (/proc/sys/kernel/random/boot_id); '' where the OS has none. */
  readonly bootId: string;
}

export interface RunInfo {
  /** "<epoch>.<seq>": epoch counts runners, seq counts runs within one runner. */
  readonly id: string;
  readonly identity: Identity;
  /** ms since epoch */
  readonly startedAt: number;
}

export interface ExitInfo extends RunExit {
  readonly runId: string;
  /** Members of its group that outlived it and were ended before any restart. */
  readonly leftovers?: { readonly waitedMs: number; readonly sigkilled: boolean };
}

export interface ProcessRecord {
  readonly status: Status;
  /** Automatic restarts in the current budget window (reset by a run lasting min_uptime, or a manual start). */
  readonly restarts: number;
  /** Automatic restarts over the process's life, as `status` shows them. */
  readonly totalRestarts: number;
  readonly lastRestartAt: number | null;
  /** When a pending automatic restart is due (status crashed). */
  readonly nextRestartAt: number | null;
  readonly failedAt: number | null;
  readonly lastRetryAt: number | null;
  /** Retries since it last gave up from a good state: each waits twice as long (core/backoff.ts). */
  readonly failedRetries: number;
  /** Brought back from failed by failed_retry: its restart budget is reset once it has run min_uptime. */
  readonly recovering: boolean;
  /** Runner generation: a new runner gets epoch+1. */
  readonly epoch: number;
  readonly runner: Identity | null;
  readonly run: RunInfo | null;
  readonly lastExit: ExitInfo | null;
  /** Run id whose probes were recorded as all passing (one `healthy` event per run). */
  readonly healthyRun: string | null;
  /** Run id for which an overrun alert was already raised. */
  readonly overrunAlerted: string | null;
  /** Per probe of the definition's `health`, by index. */
  readonly probes: readonly (ProbeState | null)[];
  /** The dependencies pguard holds it back for (status waiting; or up, its restarts held): null when none. */
  readonly heldFor: readonly string[] | null;
  /** Why pguard itself is ending a run (failed probe, memory, CPU); the exit reports it. */
  readonly killReason: string | null;
  /** The run being ended for killReason, since when, and for what: probes and limits stay on for any other run. */
  readonly ending: { readonly run: string; readonly at: number; readonly kind: 'unhealthy' | 'resource' } | null;
  /** Last CPU sample of the tree, and since when it has been over max_cpu_percent. */
  readonly cpu: { readonly ticks: number; readonly at: number; readonly overSince: number | null; readonly percent: number | null } | null;
  /** The definition generation the current runner was started with. */
  readonly generation: number | null;
  /** Why the last decision was made, in words. */
  readonly reason: string;
  /** Its `schedule` or `restart_schedule`: armed by start, disarmed by a stop; null before the first start. */
  readonly schedule: ScheduleState | null;
  /**
   * Down since a failure alert (crashed, failed, unhealthy, resource) and not back yet: a run other
   * than the one that failed, ready (probes pass, or ran ready_after), closes it with `recovered`.
   */
  readonly outage: Outage | null;
  readonly updatedAt: number;
}

/** What a `recovered` alert closes: since when, which run failed, and the kinds raised meanwhile. */
export interface Outage {
  readonly since: number;
  readonly run: string | null;
  readonly kinds: readonly AlertKind[];
}

/** A schedule's bookkeeping: which due times are handled, and what became of them. */
export interface ScheduleState {
  /** Armed by start; a stop disarms it (what it ran last is kept, for status). */
  readonly armed: boolean;
  /** When start armed it (ms): an interval's fire times are armedAt + k x interval. */
  readonly armedAt: number;
  /** Every due time up to this one (ms) is handled: run, skipped, or missed. */
  readonly handledUpTo: number;
  /** The due time of the last scheduled run (or restart), and when it was started. */
  readonly lastDueAt: number | null;
  readonly lastFiredAt: number | null;
  /** Due times skipped (the previous run still ran) and missed (nothing looked in time), since armed. */
  readonly skipped: number;
  readonly missed: number;
}

/** No run is being ended by pguard: what a start, a stop or a handled exit leaves. */
export const NOT_ENDING = { killReason: null, ending: null } as const;

export function emptyRecord(): ProcessRecord {
  return {
    status: 'never-started',
    restarts: 0,
    totalRestarts: 0,
    lastRestartAt: null,
    nextRestartAt: null,
    failedAt: null,
    lastRetryAt: null,
    failedRetries: 0,
    recovering: false,
    epoch: 0,
    runner: null,
    run: null,
    lastExit: null,
    overrunAlerted: null,
    healthyRun: null,
    probes: [],
    heldFor: null,
    killReason: null,
    ending: null,
    cpu: null,
    generation: null,
    reason: '',
    schedule: null,
    outage: null,
    updatedAt: 0,
  };
}
