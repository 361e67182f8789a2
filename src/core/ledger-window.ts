// Reading a window of a large ledger without parsing all of it, and what retention may remove.
// Segments are named by seq, not time: the app knows each closed segment's first entry's time (its
// first line) and, per closed segment, a "carry": the last few state events of every process as of
// that segment's end (what the timeline needs to know a process's state when a window begins).
// Pure: the effects read the files, this decides which of them to read.
import type { LedgerEntry } from './ledger-chain.js';

/** An entry without its chain (prev, hash, mac): what history and the timeline read. */
export type ChainlessEntry = Pick<LedgerEntry, 'seq' | 'at' | 'event' | 'process' | 'details'>;

/** A closed segment as the window lookup sees it: its first and last seq and its first entry's time (ms; NaN unknown). */
export interface SegmentSpan {
  readonly name: string;
  readonly first: number;
  readonly last: number;
  readonly firstAt: number;
}

/**
 * Entries are appended in time order, but an entry's `at` can be a little earlier than the one
 * before it (an event recorded with the time it happened, a clock step back): a segment is read
 * when it begins less than this before the window (1 hour).
 */
export const WINDOW_SLACK_MS = 3_600_000;

/**
 * The index of the first segment to read for entries at or after `since` (ms): scanning back from
 * the newest, the first whose first entry is at or before since - WINDOW_SLACK_MS (everything
 * before it is older), 0 when none is. `firstAtOf(i)`: segment i's first entry's time (ms; NaN
 * unknown), asked only of the segments scanned (a 24 h window of a year's ledger: one or two). A
 * segment whose time is unknown is read from: nothing is skipped on a guess.
 */
export function selectWindowStart(count: number, firstAtOf: (i: number) => number, since: number): number {
  const edge = since - WINDOW_SLACK_MS;
  for (let i = count - 1; i > 0; i--) {
    const t = firstAtOf(i);
    if (!Number.isFinite(t) || t <= edge) return i;
  }
  return 0;
}

/** The events that say what a process was between its runs (core/timeline.ts's marks). */
export function isStateEvent(e: Pick<LedgerEntry, 'event' | 'details'>): boolean {
  return e.event === 'exit' || e.event === 'stop' || e.event === 'deregister' || (e.event === 'schedule' && e.details.action === 'armed');
}

/**
 * State events kept per process in a carry: the last run's exit or stop (and the stop before a
 * quiet exit), a deregister after it, an arming. Four cover every case the timeline reads before
 * its window (its last change, and the deregister that decides which run ids are current).
 */
export const CARRY_PER_PROCESS = 4;

/** Per process, its last few state events, in ledger order. */
export type Carry = Readonly<Record<string, readonly ChainlessEntry[]>>;

/** The carry after a segment: the one before it, then this segment's state events (its entries, in order). */
export function carryForward(before: Carry, entries: readonly ChainlessEntry[]): Record<string, ChainlessEntry[]> {
  const out: Record<string, ChainlessEntry[]> = {};
  for (const [name, list] of Object.entries(before)) out[name] = [...list];
  for (const e of entries) {
    if (!isStateEvent(e)) continue;
    const list = (out[e.process] ??= []);
    list.push(e);
    if (list.length > CARRY_PER_PROCESS) list.shift();
  }
  return out;
}

/** The carry's entries as one list in ledger order (they go before the window's entries). */
export function flattenCarry(carry: Carry): ChainlessEntry[] {
  return Object.values(carry).flat().sort((a, b) => a.seq - b.seq);
}

/**
 * The closed segments retention may remove: the oldest ones, in order, whose last entry is older
 * than `before` (ms), stopping at the first that is not (the live chain stays one piece). Spans
 * carry their last entry's time here as `lastAt`.
 */
export function selectExpired(spans: readonly (SegmentSpan & { readonly lastAt: number })[], before: number): number {
  let n = 0;
  for (const s of spans) {
    if (!(Number.isFinite(s.lastAt) && s.lastAt < before)) break;
    n++;
  }
  return n;
}
