// Writing lifecycle events to the audit ledger, and reading them back. Secrets never go in: env
// values and webhook URLs are not part of any event's details.
import { appendLedger, readLedgerEvents, readLedgerHead, verifyLedger as verifyLedgerFiles, verifyLedgerAsync, type ChainlessEntry } from '../effects/ledger-file.js';
import { formatAnchor, type VerifyResult } from '../core/ledger-chain.js';
import type { LedgerEvent, PendingEvent } from '../core/events.js';
import type { Context } from './context.js';

/** Append events in order. A ledger failure is reported but never stops what pguard is doing. */
export async function recordEvents(ctx: Context, events: readonly PendingEvent[]): Promise<void> {
  // Queued together, in order (effects/ledger-file.ts writes what is queued in one go).
  const { ledgerKeepDays, ledgerArchive } = ctx.registry.settings;
  const appends = events.map((e) => appendLedger(ctx.store.dir, {
    at: new Date(e.at ?? ctx.clock.now()).toISOString(), event: e.event, process: e.process, details: e.details,
  }, ctx.env, { keepDays: ledgerKeepDays, archive: ledgerArchive }));
  const failed = (await Promise.allSettled(appends)).find((r) => r.status === 'rejected');
  if (failed) ctx.progress(`pguard: could not write the ledger (${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)})`);
}

export function recordEvent(ctx: Context, event: LedgerEvent, process: string, details: Record<string, unknown>, at?: number): Promise<void> {
  return recordEvents(ctx, [{ event, process, details, ...(at !== undefined ? { at } : {}) }]);
}

/**
 * The entries' events, oldest first, without their chain: from `since` (ms) the window's segments
 * and each process's state before it; null, every live entry (effects/ledger-file.ts readLedgerEvents).
 */
export function readEvents(ctx: Context, since: number | null = null): ChainlessEntry[] {
  return readLedgerEvents(ctx.store.dir, since);
}

export function verifyLedger(ctx: Context, expect?: { seq: number; hash: string }, opts: { archive?: boolean } = {}): VerifyResult {
  return verifyLedgerFiles(ctx.store.dir, { env: ctx.env, ...(expect ? { expect } : {}), ...(opts.archive ? { archive: true } : {}) });
}

/** The whole chain verified, the event loop given its turn after each segment (a long-lived server's). */
export function verifyLedgerInTurns(ctx: Context): Promise<VerifyResult> {
  return verifyLedgerAsync(ctx.store.dir, { env: ctx.env });
}

/** The head as SEQ:HASH (what `audit head` prints), sent with every alert so it is kept elsewhere too. */
export function ledgerAnchor(ctx: Context): string | null {
  const head = readLedgerHead(ctx.store.dir);
  return head ? formatAnchor(head) : null;
}
