// Runs as the runner recorded them (runs.log, decoded by effects/runner-protocol.ts), and the pure
// questions asked of them: which run is current, which exits are not handled yet, in what order.
import { decodeWaitStatus } from './exit.js';
import { emptyRecord, type ExitInfo, type Identity, type ProcessRecord, type RunInfo } from './record.js';
import { mustTransition } from './states.js';

export interface RunsView {
  readonly starts: ReadonlyMap<string, RunInfo>;
  /** status null: no wait status was seen (an adopted run: its runner watched it end, not being its parent). */
  /** codeOnly: the status is an exit code and never a signal (a Windows runner's "=N"). */
  readonly exits: ReadonlyMap<string, { readonly status: number | null; readonly endedAt: number; readonly endedUptimeCs?: number; readonly codeOnly?: true }>;
  /** What the runner found left of a run's group after its exit, and had to end before going on. */
  readonly leftovers: ReadonlyMap<string, { readonly waitedMs: number; readonly sigkilled: boolean }>;
  /** The run whose start line came last. */
  readonly latest: RunInfo | null;
}

export const EMPTY_RUNS: RunsView = { starts: new Map(), exits: new Map(), leftovers: new Map(), latest: null };

/** Run ids are "<epoch>.<seq>": epoch counts runners, seq counts runs within one runner. */
export function compareRunIds(a: string, b: string): number {
  const [ae = 0, as = 0] = a.split('.').map(Number);
  const [be = 0, bs = 0] = b.split('.').map(Number);
  return ae - be || as - bs;
}

export function epochOf(runId: string): number {
  return Number(runId.split('.')[0]);
}

/** The exit of one run as the policy sees it. */
export function exitOf(runs: RunsView, runId: string): ExitInfo | null {
  const start = runs.starts.get(runId);
  const exit = runs.exits.get(runId);
  if (!exit) return null;
  // An adopted run's end has no status: it vanished, as far as the policy can tell.
  const how = exit.status === null ? { code: null, signal: null, vanished: true, adopted: true } : decodeWaitStatus(exit.status, exit.codeOnly === true);
  const left = runs.leftovers.get(runId);
  return { runId, startedAt: start?.startedAt ?? exit.endedAt, endedAt: exit.endedAt, ...how, ...(left ? { leftovers: left } : {}) };
}

/**
 * The newest run of the record's runner (runs of older epochs belong to dead runners). A runner
 * that adopted an older epoch's run (record.run) has none until its first restart: null.
 */
export function currentRun(record: ProcessRecord, runs: RunsView): RunInfo | null {
  const latest = runs.latest;
  return latest && epochOf(latest.id) === record.epoch ? latest : null;
}

/** Exit ids of one runner after `handled` up to and including `upTo`, in order. */
export function pendingExits(runs: RunsView, handled: string | null, upTo: string): string[] {
  const epoch = epochOf(upTo);
  return [...runs.exits.keys()]
    .filter((id) => epochOf(id) === epoch && compareRunIds(id, upTo) <= 0 && (handled === null || compareRunIds(id, handled) > 0))
    .sort(compareRunIds);
}

/** The run its runner started after run `id` (the restart of that exit), if any. */
export function nextRunOf(runs: RunsView, id: string): RunInfo | undefined {
  const [epoch, seq] = id.split('.');
  return runs.starts.get(`${epoch}.${Number(seq) + 1}`);
}

/**
 * The runner may have started a newer run than the record knows of (a delayed restart it carried
 * out after the cooldown). Bring the record up to date before deciding anything else.
 */
export function reconcileRun(record: ProcessRecord, latest: RunInfo | null, now: number): ProcessRecord {
  if (!latest || latest.id === record.run?.id) return record;
  if (record.run && compareRunIds(latest.id, record.run.id) <= 0) return record;
  if (record.status === 'crashed') {
    const next = mustTransition('crashed', 'restart'); // crashed -> running (the runner's delayed restart)
    // The restart happened when the run started, which may be later than it was scheduled (the
    // runner heard of it late): the next cooldown counts from then.
    const lastRestartAt = Math.max(record.lastRestartAt ?? 0, latest.startedAt);
    return { ...record, status: next, run: latest, nextRestartAt: null, lastRestartAt, probes: [], cpu: null, updatedAt: now };
  }
  // A new run's probes and CPU start afresh. killReason stays until the exit it explains is handled.
  return { ...record, run: latest, probes: [], cpu: null, updatedAt: now };
}

/**
 * A record lost or unreadable while its runs.log survives: rebuilt from the runs, so that pguard
 * never takes a live process for a never-started one (and starts a second), nor reuses an epoch.
 * Up unless a stop was asked for: observe() then sees what lives, and a gone process is recovered
 * under the usual policy.
 */
export function rebuildRecord(runs: RunsView, runner: Identity | null, stopMarker: boolean, now: number): ProcessRecord | null {
  const latest = runs.latest;
  if (!latest) return null;
  return {
    ...emptyRecord(),
    status: stopMarker ? 'stopped' : 'running',
    epoch: epochOf(latest.id),
    runner,
    run: latest,
    lastExit: null,
    reason: 'its state.json was lost or unreadable: rebuilt from runs.log',
    updatedAt: now,
  };
}
