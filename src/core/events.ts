// Ledger events as core plans them: what happened, to which process, with which details. The
// ledger's hash chain is core/ledger-chain.ts; appending is effects/ledger-file.ts. Secrets never
// go in: env values and webhook URLs are not part of any event's details.
import { ranSeconds } from './exit.js';
import type { ExitInfo, ProcessRecord } from './record.js';
import type { Status } from './states.js';

export type LedgerEvent =
  | 'register' | 'update' | 'deregister' | 'start' | 'stop' | 'exit' | 'restart' | 'give-up'
  | 'probe-failure' | 'resource-breach' | 'healthy' | 'alert' | 'rollback' | 'known-good'
  // How an alert's sending went (app/alerts.ts): notified or not, channel by channel, with why.
  | 'notify'
  // A live run whose runner alone died, taken over by a new runner (app/apply.ts).
  | 'adopt'
  // A dependent left running after its dependency restarted (restart_dependents): it had recovered.
  | 'left-running'
  // A schedule at work (core/on-schedule.ts): armed, a run fired, skipped or missed, a scheduled restart.
  | 'schedule'
  // Written by the ledger itself (effects/ledger-file.ts): a torn last line moved to ledger.torn.
  | 'ledger-repaired';

export interface PendingEvent {
  readonly event: LedgerEvent;
  readonly process: string;
  readonly details: Record<string, unknown>;
  /** ms since epoch; defaults to the time of writing. */
  readonly at?: number;
}

/** The ledger's account of one exit and what was decided about it. */
export function exitEvents(name: string, exit: ExitInfo, before: ProcessRecord, next: Status, after: ProcessRecord): PendingEvent[] {
  // The ledger's `at` is when it was written (monotonic in seq); the exit's own time is a detail.
  const events: PendingEvent[] = [{
    event: 'exit', process: name,
    details: {
      run: exit.runId, ended_at: new Date(exit.endedAt).toISOString(), code: exit.code, signal: exit.signal, ran_s: ranSeconds(exit), outcome: next,
      ...(exit.vanished ? { vanished: true } : {}), ...(exit.adopted ? { adopted: true } : {}), ...(before.killReason ? { ended_by_pguard: before.killReason } : {}),
      ...(exit.leftovers ? { leftovers: { waited_ms: exit.leftovers.waitedMs, sigkill: exit.leftovers.sigkilled } } : {}),
    },
  }];
  if (after.totalRestarts > before.totalRestarts) {
    events.push({
      event: 'restart', process: name,
      details: { reason: after.reason, at: after.lastRestartAt ? new Date(after.lastRestartAt).toISOString() : null, restarts: after.restarts },
    });
  }
  if (next === 'failed') events.push({ event: 'give-up', process: name, details: { reason: after.reason, restarts: after.restarts } });
  return events;
}
