// Why a process is as it is, in words: every `reason` a record (and `status`) shows is worded here,
// by one function over a typed reason, so that no caller glues phrases together.
import { describeDuration } from './exit.js';
import { describeNames, type StartedBy } from './plan.js';

export type Reason =
  | { readonly kind: 'started'; readonly by: StartedBy; readonly after?: string }
  | { readonly kind: 'stopped' }
  /** pguard stopped it for its dependencies' restart (restart_dependents). */
  | { readonly kind: 'held'; readonly deps: readonly string[] }
  /** `what` is describeExit()'s words for the run. */
  | { readonly kind: 'completed'; readonly what: string }
  /** why: how it ended ("killed by SIGKILL after 11 s", "ended by pguard (...)"). */
  | { readonly kind: 'restarted'; readonly why: string }
  | { readonly kind: 'restart-pending'; readonly why: string; readonly delayMs: number }
  | { readonly kind: 'auto-restart-off'; readonly why: string }
  | { readonly kind: 'gave-up'; readonly why: string; readonly restarts: number; readonly max: number }
  /** A definition error, or an exit code that says "do not restart me". */
  | { readonly kind: 'not-restarted'; readonly why: string }
  | { readonly kind: 'waiting'; readonly deps: readonly string[]; readonly why?: string }
  /** Restarted by its runner before the report saw its dependency down: no more until it is ready. */
  | { readonly kind: 'restarted-then-held'; readonly why: string; readonly deps: readonly string[] }
  | { readonly kind: 'deps-ready'; readonly deps: readonly string[]; readonly started: boolean }
  | { readonly kind: 'pending-restart-resumed' }
  /** Its runner alone died (pid, when recorded); a new runner adopted the live run. */
  | { readonly kind: 'adopted'; readonly runnerPid: number | null }
  | { readonly kind: 'healthy-again' }
  | { readonly kind: 'failed-retry'; readonly n: number; readonly waitedMs: number }
  | { readonly kind: 'probe-failing'; readonly probe: string; readonly detail: string; readonly failures: number; readonly threshold: number }
  /** pguard ends the run: `what` is the breach in words (a probe's threshold, memory, CPU). */
  | { readonly kind: 'ending'; readonly what: string }
  | { readonly kind: 'probe-held'; readonly what: string; readonly deps: readonly string[] }
  | { readonly kind: 'left-running'; readonly after: string; readonly detail: string }
  /** A job: armed by start; a scheduled run started (missed: due times missed before it); a run that failed. */
  | { readonly kind: 'armed'; readonly next: number | null }
  | { readonly kind: 'scheduled-run'; readonly dueAt: number; readonly missed: number }
  | { readonly kind: 'run-failed'; readonly what: string; readonly next: number | null }
  | { readonly kind: 'unproven'; readonly why: string; readonly deaths: number; readonly generation: number; readonly fallback: number };

const describeTime = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());
const isAre = (deps: readonly string[]) => (deps.length === 1 ? 'is' : 'are');

export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'started':
      if (r.after) return `restarted after ${r.after} restarted (restart_dependents)`;
      return r.by === 'dependency' ? 'started as a dependency' : `started by ${r.by}`;
    case 'stopped': return 'stopped by the user';
    case 'held': return `stopped by pguard until ${describeNames(r.deps)} ${isAre(r.deps)} ready again (restart_dependents)`;
    case 'completed': return `completed normally (${r.what})`;
    case 'restarted': return `${r.why}; restarted at once`;
    case 'restart-pending':
      return r.delayMs === 0 ? `${r.why}; restarting at once` : `${r.why}; restarting in ${describeDuration(r.delayMs)} (restart_cooldown)`;
    case 'auto-restart-off': return `${r.why}; auto_restart is off`;
    case 'gave-up': return `${r.why}; gave up after ${r.restarts} restart${r.restarts === 1 ? '' : 's'} (max_restarts ${r.max})`;
    case 'not-restarted': return `${r.why}; not restarted`;
    case 'waiting': return `${r.why ? `${r.why}; ` : ''}waiting for ${describeNames(r.deps)} to be ready`;
    case 'restarted-then-held': return `${r.why}; restarted at once, then ${describeNames(r.deps)} found not ready: no more restarts until ${r.deps.length === 1 ? 'it is' : 'they are'}`;
    case 'deps-ready': return `${describeNames(r.deps)} ${isAre(r.deps)} ready again${r.started ? ': started' : ''}`;
    case 'pending-restart-resumed': return 'its runner died while a restart was pending: started again by healthcheck';
    case 'adopted': return `its runner${r.runnerPid !== null ? ` (pid ${r.runnerPid})` : ''} died while it ran: adopted by a new runner, which recovers its next exit as usual`;
    case 'healthy-again': return 'its probes pass again';
    case 'failed-retry': return `retry ${r.n} after it had failed (waited ${describeDuration(r.waitedMs)})`;
    case 'probe-failing': return `probe ${r.probe} failing (${r.detail}): ${r.failures} of failure_threshold ${r.threshold}`;
    case 'ending': return r.what;
    case 'unproven': return `${r.why}; died ${r.deaths} times before generation ${r.generation} was ever known-good: not restarted, rolling back to known-good generation ${r.fallback}`;
    case 'left-running': return `left running after ${r.after} restarted: ${r.detail} (restart_dependents)`;
    case 'armed': return `scheduled: next run at ${describeTime(r.next)}`;
    case 'scheduled-run': return `scheduled run (due ${new Date(r.dueAt).toISOString()})${r.missed > 0 ? `, after ${r.missed} missed` : ''}`;
    case 'run-failed': return `scheduled run failed (${r.what}); not restarted: next run at ${describeTime(r.next)}`;
    case 'probe-held': return `${r.what}; ${describeNames(r.deps)} not ready: not restarted until ${r.deps.length === 1 ? 'it is' : 'they are'}`;
  }
}
