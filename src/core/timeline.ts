// One process's uptime timeline: contiguous segments over a window, each in one state, from its
// runs (runs.log: when each run really started and ended, in ms on the runner's clock) and its
// ledger events (what pguard decided about each exit, the user's stops, a job's arming). The app
// reads both; this decides what each moment was. Used by the dashboard's timeline and by
// history's uptime %, so the two always agree.
import type { LedgerEntry } from './ledger-chain.js';
import { compareRunIds, type RunsView } from './runs.js';

/**
 * running: a run was alive. down: after a failure exit, until the next run started (a crash's few
 * ms, a restart cooldown, auto_restart off). waiting: held for a dependency. failed: pguard gave up
 * (or a job's run failed: its status until its next run), until started again. stopped: stopped by the user (or pguard's stop for a dependency: waiting),
 * until started again. completed: after a run that completed, and a job between its runs. none:
 * nothing known (before its first start in the data, after a deregister).
 */
export const TIMELINE_STATES = ['running', 'down', 'waiting', 'failed', 'stopped', 'completed', 'none'] as const;
export type TimelineState = (typeof TIMELINE_STATES)[number];

export interface Segment {
  /** ms since epoch; a segment covers [from, to]. */
  readonly from: number;
  readonly to: number;
  readonly state: TimelineState;
  /** running: the run's id. */
  readonly run?: string;
  /** down and failed: the id of the run whose failure it follows (history's failure row with that run). */
  readonly failure?: string;
}

export interface TimelineRun {
  readonly id: string;
  readonly startedAt: number;
  /** null: runs.log has no exit for it (alive, or it ended unseen). */
  readonly endedAt: number | null;
}

export type TimelineEvent = Pick<LedgerEntry, 'at' | 'event' | 'details'>;

export interface TimelineInput {
  /** The process's ledger events, in ledger order (all of them: those before the window say its state at its start). */
  readonly events: readonly TimelineEvent[];
  readonly runs: readonly TimelineRun[];
  readonly from: number;
  readonly to: number;
}

type Mark = Omit<Segment, 'from' | 'to'>;

/** runs.log's view as the timeline's runs. */
export function timelineRunsOf(view: RunsView): TimelineRun[] {
  return [...view.starts.values()].map((r) => ({ id: r.id, startedAt: r.startedAt, endedAt: view.exits.get(r.id)?.endedAt ?? null }));
}

/** What follows an exit, from what pguard decided about it (the exit event's outcome: the status it left). */
function markAfterExit(outcome: unknown, run: string): Mark {
  switch (outcome) {
    case 'completed': case 'scheduled': return { state: 'completed' };
    case 'stopped': case 'stopping': return { state: 'stopped' };
    case 'waiting': return { state: 'waiting' };
    case 'failed': return { state: 'failed', failure: run };
    // crashed (a restart pending, or auto_restart off), or running/unhealthy: restarted at once.
    default: return { state: 'down', failure: run };
  }
}

/** A stop: the user's, or pguard's for a dependency (held_for), after which it waits. */
function markAfterStop(details: Record<string, unknown>): Mark {
  return Array.isArray(details.held_for) && details.held_for.length > 0 ? { state: 'waiting' } : { state: 'stopped' };
}

const isoMs = (value: unknown): number => (typeof value === 'string' ? Date.parse(value) : NaN);

/** The ledger events that say what a process was between its runs. */
const STATE_EVENTS = new Set(['exit', 'stop', 'schedule', 'deregister']);

interface Point {
  readonly at: number;
  readonly kind: 'start' | 'end' | 'mark';
  readonly mark: Mark;
}

/**
 * The segments covering [from, to] exactly, in order, contiguous (each starts where the last
 * ended), merged where neighbours say the same. A failure whose restart came within the runner's
 * clock step (10 ms) keeps a zero-length down segment, so that no failure vanishes from the bar.
 */
export function describeSegments(input: TimelineInput): Segment[] {
  const { from, to } = input;
  if (!(to > from)) return [];
  const runs = input.runs.filter((r) => Number.isFinite(r.startedAt)).sort((a, b) => a.startedAt - b.startedAt || compareRunIds(a.id, b.id));
  const known = new Set(runs.map((r) => r.id));
  // What the ledger says of each run's exit, the stops, and the marks that change a state between runs.
  const exits = new Map<string, { endedAt: number; outcome: unknown }>();
  const stops: { at: number; mark: Mark }[] = [];
  const marks: Point[] = [];
  // runs.log is the current registration's (deregister removes it, and run ids start again at
  // 1.1): an exit or a stop recorded before the last deregister belongs to an earlier one.
  let registered = 0;
  for (const [i, e] of input.events.entries()) if (e.event === 'deregister') registered = i + 1;
  for (const [i, e] of input.events.entries()) {
    // Most entries (alerts, restarts, notifications) change no state: their time is not even read.
    if (!STATE_EVENTS.has(e.event)) continue;
    const at = Date.parse(e.at);
    if (!Number.isFinite(at)) continue;
    const d = e.details;
    if (e.event === 'exit') {
      const run = typeof d.run === 'string' ? d.run : '';
      // The exit's own time (older ledgers: the entry's, written when it was reported).
      const endedAt = Number.isFinite(isoMs(d.ended_at)) ? isoMs(d.ended_at) : at;
      if (known.has(run) && i >= registered) {
        if (!exits.has(run)) exits.set(run, { endedAt, outcome: d.outcome });
      } else {
        // A run runs.log no longer holds (rotated away, or vanished before its start line): its decision alone.
        marks.push({ at: endedAt, kind: 'mark', mark: markAfterExit(d.outcome, run) });
      }
    } else if (e.event === 'stop') {
      const mark = markAfterStop(d);
      if (i >= registered) stops.push({ at, mark });
      marks.push({ at, kind: 'mark', mark });
    } else if (e.event === 'schedule' && d.action === 'armed') {
      marks.push({ at, kind: 'mark', mark: { state: 'completed' } });
    } else if (e.event === 'deregister') {
      marks.push({ at, kind: 'mark', mark: { state: 'none' } });
    }
  }
  stops.sort((a, b) => a.at - b.at);
  // Each run's start and end, in time order already (runs do not overlap).
  const bounds: Point[] = [];
  let s = 0;
  for (const [i, r] of runs.entries()) {
    const next = runs[i + 1]?.startedAt ?? Infinity;
    const exit = exits.get(r.id);
    // A run the runner left quietly (a stop: no exit event) is followed by the first stop
    // recorded after it began and before the next run.
    while (s < stops.length && stops[s]!.at < r.startedAt) s++;
    const stop = !exit && s < stops.length && stops[s]!.at < next ? stops[s] : undefined;
    // Its end: runs.log's, else the exit event's (it vanished with its runner), else that stop,
    // else the next run's start; never past the next run's start (runs do not overlap).
    const end = Math.max(r.startedAt, Math.min(r.endedAt ?? exit?.endedAt ?? stop?.at ?? next, next));
    bounds.push({ at: r.startedAt, kind: 'start', mark: { state: 'running', run: r.id } });
    // Not reported yet (the report is on its way): down, belonging to no failure yet.
    if (end < Infinity) bounds.push({ at: end, kind: 'end', mark: exit ? markAfterExit(exit.outcome, r.id) : stop ? stop.mark : { state: 'down' } });
  }
  // Ledger marks between them (a stable sort keeps the ledger's order at equal times); at the
  // same ms, a mark comes after a run's end and before a run's start.
  marks.sort((a, b) => a.at - b.at);
  const points: Point[] = [];
  for (let b = 0, m = 0; b < bounds.length || m < marks.length;) {
    const p = bounds[b];
    const k = marks[m];
    if (k && (!p || k.at < p.at || (k.at === p.at && p.kind === 'start'))) { points.push(k); m++; } else { points.push(p!); b++; }
  }

  // The sweep: a ledger mark changes nothing while a run is alive (its stop is its run's end).
  const changes: { at: number; mark: Mark }[] = [];
  let alive = false;
  for (const p of points) {
    if (p.kind === 'start') alive = true;
    else if (p.kind === 'end') alive = false;
    else if (alive) continue;
    changes.push({ at: p.at, mark: p.mark });
  }

  const segments: Segment[] = [];
  const push = (a: number, b: number, m: Mark) => {
    const last = segments.at(-1);
    if (last && last.state === m.state && last.run === m.run && last.failure === m.failure) {
      segments[segments.length - 1] = { ...last, to: b };
      return;
    }
    segments.push({ from: a, to: b, state: m.state, ...(m.run !== undefined ? { run: m.run } : {}), ...(m.failure !== undefined ? { failure: m.failure } : {}) });
  };
  let current: Mark = { state: 'none' };
  let i = 0;
  for (; i < changes.length && changes[i]!.at <= from; i++) current = changes[i]!.mark;
  let start = from;
  for (; i < changes.length && changes[i]!.at < to; i++) {
    const c = changes[i]!;
    // A zero-length segment is kept only for a failure (its restart within the clock's step).
    if (c.at > start || (current.failure !== undefined && current.state === 'down')) push(start, c.at, current);
    start = c.at;
    current = c.mark;
  }
  push(start, to, current);
  return segments;
}

/**
 * Uptime % over the segments: time running over the time from its first run in the window (time
 * before it was first started is not downtime) to the window's end, leaving out the time after a
 * run completed (nothing is down until its next start). null without a run in the window.
 */
export function describeUptime(segments: readonly Segment[]): number | null {
  const first = segments.findIndex((seg) => seg.state === 'running' && seg.to > seg.from);
  if (first < 0) return null;
  let up = 0;
  let counted = 0;
  for (const seg of segments.slice(first)) {
    const d = seg.to - seg.from;
    if (seg.state === 'running') up += d;
    if (seg.state !== 'completed' && seg.state !== 'none') counted += d;
  }
  return counted > 0 ? Math.round((up / counted) * 1000) / 10 : null;
}
