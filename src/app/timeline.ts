// The dashboard's uptime timeline (GET /api/timeline): per process, its segments over the window
// (core/timeline.ts), its failures in it and their recovery figures, its uptime %: all from
// history's one computation (describeProcessHistory), so the bar and the history never disagree.
// The ledger is read once, each runs.log once.
import type { TimelineState } from '../core/timeline.js';
import type { Context } from './context.js';
import { describeProcessHistory, groupByProcess, type FailureView } from './history.js';
import { readEvents } from './ledger.js';

/** The windows the timeline is drawn over, in ms. */
export const TIMELINE_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type TimelineWindow = keyof typeof TIMELINE_WINDOWS;

export function isTimelineWindow(text: string): text is TimelineWindow {
  return Object.hasOwn(TIMELINE_WINDOWS, text);
}

export interface SegmentView {
  readonly from: string;
  readonly to: string;
  readonly state: TimelineState;
  /** running: the run's id. */
  readonly run?: string;
  /** down and failed: the run whose failure it follows (that failure's `run`). */
  readonly failure?: string;
}

export interface ProcessTimelineView {
  readonly name: string;
  readonly segments: SegmentView[];
  /** history's failure rows of this process within the window (without `process`: it is the row's). */
  readonly failures: Omit<FailureView, 'process'>[];
  readonly median_recovery_ms: number | null;
  readonly worst_recovery_ms: number | null;
  readonly uptime_percent: number | null;
}

export interface TimelineView {
  readonly from: string;
  readonly to: string;
  readonly window: string;
  readonly processes: ProcessTimelineView[];
}

/** "1h", "24h", "7d" for the windows the dashboard asks for; any other length in seconds. */
function describeWindow(windowMs: number): string {
  const named = Object.entries(TIMELINE_WINDOWS).find(([, v]) => v === windowMs);
  return named ? named[0] : `${Math.round(windowMs / 1000)}s`;
}

export function describeTimeline(ctx: Context, opts: { windowMs: number }): TimelineView {
  const to = ctx.clock.now();
  const from = to - opts.windowMs;
  const byProcess = groupByProcess(readEvents(ctx, from));
  const iso = (t: number) => new Date(t).toISOString();
  const processes = [...ctx.registry.defs.keys()].map((name): ProcessTimelineView => {
    const h = describeProcessHistory(name, byProcess.get(name) ?? [], ctx.store.readRuns(name), from, to);
    return {
      name,
      segments: h.segments.map((s) => ({
        from: iso(s.from), to: iso(s.to), state: s.state, ...(s.run !== undefined ? { run: s.run } : {}), ...(s.failure !== undefined ? { failure: s.failure } : {}),
      })),
      failures: h.failures.map(({ process: _p, ...f }) => f),
      median_recovery_ms: h.summary.median_recovery_ms,
      worst_recovery_ms: h.summary.worst_recovery_ms,
      uptime_percent: h.summary.uptime_percent,
    };
  });
  return { from: iso(from), to: iso(to), window: describeWindow(opts.windowMs), processes };
}
