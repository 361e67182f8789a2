// `pguard history`: what died, why, what was done, and how long recovery took, from the ledger
// (events) and runs.log (when each run really started and ended).
import type { ChainlessEntry as LedgerEntry } from '../effects/ledger-file.js';
import type { RunsView } from '../core/runs.js';
import { describeSegments, describeUptime, timelineRunsOf, type Segment } from '../core/timeline.js';
import type { Context } from './context.js';
import { readEvents } from './ledger.js';

export interface FailureView {
  readonly at: string;
  readonly process: string;
  readonly run: string;
  readonly cause: string;
  readonly action: string;
  /**
   * For a run pguard ended (a hang, a limit): from its first failed probe (or the breach) to the
   * decision to end it. For a death: from the exit to pguard acting on it (its restart, or the
   * decision recorded); null where the moment of death is unknown (it vanished with its runner).
   */
  readonly detection_ms: number | null;
  /** From the death (or the run pguard ended) to the instance that restart brought up; null when it was not restarted. */
  readonly recovery_ms: number | null;
  /** To that same instance passing its probes (processes with probes); null when that run never passed them. */
  readonly healthy_ms: number | null;
}

export interface SummaryView {
  readonly process: string;
  readonly runs: number;
  readonly failures: number;
  readonly restarts: number;
  readonly median_recovery_ms: number | null;
  readonly worst_recovery_ms: number | null;
  readonly uptime_percent: number | null;
}

const ms = (iso: string) => Date.parse(iso);

function causeOf(e: LedgerEntry): string {
  const d = e.details as { code?: number | null; signal?: string | null; vanished?: boolean; adopted?: boolean; ended_by_pguard?: string };
  if (d.ended_by_pguard) return d.ended_by_pguard;
  if (d.adopted) return 'ended while adopted (its runner had died; an adopted process\'s exit status cannot be seen)';
  if (d.vanished) return 'vanished with its runner (SIGKILL of the group, OOM killer or reboot)';
  if (d.signal) return `killed by ${d.signal}`;
  return `exit code ${d.code ?? '?'}`;
}

export interface HistoryView {
  readonly since: string | null;
  readonly failures: FailureView[];
  readonly summary: SummaryView[];
}

export function describeHistory(ctx: Context, opts: { name?: string | undefined; sinceMs?: number | undefined }): HistoryView {
  const now = ctx.clock.now();
  const since = opts.sinceMs !== undefined ? now - opts.sinceMs : null;
  // With --since, only the window's segments and each process's state before it.
  const byProcess = groupByProcess(readEvents(ctx, since));
  const names = opts.name ? [opts.name] : [...ctx.registry.defs.keys()];
  const failures: FailureView[] = [];
  const summary: SummaryView[] = [];
  for (const name of names) {
    const h = describeProcessHistory(name, byProcess.get(name) ?? [], ctx.store.readRuns(name), since, now);
    failures.push(...h.failures);
    summary.push(h.summary);
  }
  return { since: since === null ? null : new Date(since).toISOString(), failures, summary };
}

/** The ledger's entries by process, each list in ledger order. */
export function groupByProcess(entries: readonly LedgerEntry[]): Map<string, LedgerEntry[]> {
  const out = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    const list = out.get(e.process);
    if (list) list.push(e);
    else out.set(e.process, [e]);
  }
  return out;
}

export interface ProcessHistory {
  readonly failures: FailureView[];
  readonly summary: SummaryView;
  /** Its timeline over [since, now] (since null: from the first thing known of it). */
  readonly segments: Segment[];
}

/**
 * One process's failures, summary and timeline over [since, now] (since null: all that is kept),
 * from all its ledger events (in order: those before `since` say its state when the period began)
 * and its runs. history and the dashboard's timeline both come from here.
 */
export function describeProcessHistory(name: string, all: readonly LedgerEntry[], runsView: RunsView, since: number | null, now: number): ProcessHistory {
  const events = since === null ? [...all] : all.filter((e) => ms(e.at) >= since);
  const runs = [...runsView.starts.values()];
  const exits = runsView.exits;
  // Looked up once per failure: runs by start (a stable sort keeps runs.log's order at equal
  // times), and each run's first `healthy` event.
  const byStart = [...runs].sort((a, b) => a.startedAt - b.startedAt);
  const healthyOf = new Map<string, LedgerEntry>();
  for (const x of events) {
    const run = (x.details as { run?: string }).run;
    if (x.event === 'healthy' && run !== undefined && !healthyOf.has(run)) healthyOf.set(run, x);
  }
  const mine: FailureView[] = [];
  for (const [i, e] of events.entries()) {
    if (e.event !== 'exit') continue;
    const outcome = (e.details as { outcome?: string }).outcome;
    if (outcome === 'completed' || outcome === 'stopped' || outcome === 'stopping') continue;
    const details = e.details as { ended_at?: string; run?: string; ended_by_pguard?: string };
    // The exit's own time (older ledgers: the entry's).
    const death = ms(details.ended_at ?? e.at);
    // A hang or a breach: detected at its first failed probe, decided on at the event that ended it.
    const decided = details.ended_by_pguard
      ? events.slice(0, i).reverse().find((x) => (x.event === 'probe-failure' || x.event === 'resource-breach') && (x.details as { run?: string; action?: string }).run === details.run && (x.details as { action?: string }).action === 'graceful restart')
      : undefined;
    // The episode that led to it: each episode of failing probes writes one event as it begins,
    // so its first failure is the last such event of this run before the decision (an earlier
    // episode that recovered is not this one's); a breach at its first failure is its own.
    const firstFailure = decided
      ? events.slice(0, events.indexOf(decided)).reverse().find((x) => (x.event === 'probe-failure' || x.event === 'resource-breach') && (x.details as { run?: string }).run === details.run && (x.details as { action?: string }).action === undefined) ?? decided
      : undefined;
    const next = findAfter(events, i, (x) => x.event === 'restart' || x.event === 'give-up' || x.event === 'rollback' || x.event === 'exit');
    // Restarted: its restart entry, or (the runner restarts before its report, whose restart entry
    // may not be written yet) the exit's own outcome, up again, with nothing after it yet.
    const restarted = next?.event === 'restart' || (next === undefined && outcome === 'running');
    // The restart's reason tells its cause again: the action says only what was done.
    const action = restarted ? 'restarted'
      : next?.event === 'give-up' ? 'gave up' : next?.event === 'rollback' ? 'rolled back' : outcome === 'crashed' ? 'not restarted' : String(outcome);
    // The instance its restart brought up: the first run after the death, unless the process was
    // stopped before it (a later start by hand is not this failure's recovery).
    const first = restarted ? byStart[firstAtOrAfter(byStart, death)] : undefined;
    const stoppedFirst = first !== undefined && findAfter(events, i, (x) => x.event === 'stop' && ms(x.at) <= first.startedAt) !== undefined;
    const up = stoppedFirst ? undefined : first;
    // On the kernel's clock where the runner recorded it (the exit's uptime, the new run's start
    // time, both in 1/100 s since boot): a restart by the runner is measured, not stamped.
    const endedCs = details.run ? exits.get(details.run)?.endedUptimeCs : undefined;
    const startTicks = up ? Number(up.identity.startTime) : NaN;
    const recovery = !up ? null
      : endedCs !== undefined && Number.isFinite(startTicks) ? Math.max(0, (startTicks - endedCs) * 10) : up.startedAt - death;
    // Healthy: that run's own `healthy` event, never a later run's.
    const healthy = up ? healthyOf.get(up.id) : undefined;
    // A death is acted on at its restart (the runner's, often before its report) or at the
    // recorded decision, whichever came first.
    const actedAt = Math.min(ms(e.at), next?.event === 'restart' ? ms(String((next.details as { at?: string }).at ?? next.at)) : restarted && up ? up.startedAt : Infinity);
    const vanished = (e.details as { vanished?: boolean }).vanished === true;
    mine.push({
      at: e.at, process: name, run: String((e.details as { run?: string }).run ?? ''), cause: causeOf(e), action,
      detection_ms: decided && firstFailure ? ms(decided.at) - ms(firstFailure.at) : decided || vanished ? null : Math.max(0, actedAt - death),
      recovery_ms: recovery, healthy_ms: healthy ? ms(healthy.at) - death : null,
    });
  }
  // Uptime over the period, from the same timeline the dashboard draws (core/timeline.ts).
  const from = since ?? earliestOf(all, runs, now);
  const segments = describeSegments({ events: all, runs: timelineRunsOf(runsView), from, to: now });
  const recoveries = mine.map((f) => f.recovery_ms).filter((x): x is number => x !== null).sort((a, b) => a - b);
  return {
    failures: mine,
    segments,
    summary: {
      process: name,
      runs: runs.filter((r) => since === null || r.startedAt >= since).length,
      failures: mine.length,
      restarts: events.filter((e) => e.event === 'restart').length,
      median_recovery_ms: recoveries.length ? recoveries[Math.floor((recoveries.length - 1) / 2)]! : null,
      worst_recovery_ms: recoveries.length ? recoveries.at(-1)! : null,
      uptime_percent: describeUptime(segments),
    },
  };
}

/** The first event after index i that passes the test (no copy of the rest: this runs once per failure). */
function findAfter(events: readonly LedgerEntry[], i: number, test: (e: LedgerEntry) => boolean): LedgerEntry | undefined {
  for (let j = i + 1; j < events.length; j++) if (test(events[j]!)) return events[j];
  return undefined;
}

/** The index of the first run (sorted by start) that started at or after `t`; runs.length when none did. */
function firstAtOrAfter(runs: readonly { startedAt: number }[], t: number): number {
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]!.startedAt >= t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The first moment anything is known of a process: its first event or run, whichever is earlier (now without either). */
function earliestOf(events: readonly LedgerEntry[], runs: readonly { startedAt: number }[], now: number): number {
  let first = events.length > 0 ? ms(events[0]!.at) : now;
  for (const r of runs) if (r.startedAt < first) first = r.startedAt;
  return Number.isFinite(first) ? Math.min(first, now) : now;
}

/** The furthest back a period can reach and still start at a date: 100 000 days (Dates end at 1e8 days either side of 1970). */
const MAX_DURATION_MS = 100_000 * 86_400_000;

/** "90s", "15m", "2h", "7d" -> ms; null when not a duration (or one longer than any date could be before now). */
/** What `since` takes, said the same way by the CLI, the dashboard and MCP. */
export const DURATION_EXAMPLES = '90s, 15m, 2h, 7d or 2w';

export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number.isFinite(ms) && ms <= MAX_DURATION_MS ? ms : null;
}
