// Alert bookkeeping as pure functions over the alert history: raise, fold repeats, acknowledge,
// and decide whether a raise notifies the channels or falls within alert_cooldown.
import type { Issue } from '../errors.js';

export const ALERT_KINDS = ['crashed', 'failed', 'overrun', 'recovered', 'unhealthy', 'resource', 'watch-died', 'rollback', 'registry-invalid', 'waiting', 'skipped', 'missed'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The alerts that say it is down (or being brought down and back): each opens or widens an outage that `recovered` closes. */
export const DOWN_KINDS: readonly AlertKind[] = ['crashed', 'failed', 'unhealthy', 'resource'];

/**
 * What pguard did about it, in `evidence.action` (the README and SKILL.md list these):
 * restarted (at once), restart-scheduled (after the cooldown), restart (a probe or limit breach:
 * the run is being ended gracefully and restarted), waiting (held until its dependencies are
 * ready), gave-up (the budget is spent: failed), not-restarted (a definition error or a
 * no_restart_exit_codes exit), none (nothing to do: auto_restart off, an overrun, recovered),
 * not-supervised (an invalid registry entry), rollback (the last known-good definition was put back),
 * next-run (a job's failed run: not restarted, it runs again at its next scheduled time), catch-up
 * (a job's missed runs: it runs once now).
 */
export const EVIDENCE_ACTIONS = ['restarted', 'restart-scheduled', 'restart', 'waiting', 'gave-up', 'not-restarted', 'none', 'not-supervised', 'rollback', 'next-run', 'catch-up'] as const;
export type EvidenceAction = (typeof EVIDENCE_ACTIONS)[number];

/** An alert as a decision asks for it; raiseAlert() turns it into a stored Alert. */
export interface AlertIntent {
  readonly kind: AlertKind;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly message: string;
  readonly evidence: {
    readonly from?: number | null;
    readonly to?: number;
    readonly code?: number | null;
    readonly signal?: string | null;
    readonly ran_s?: number;
    /** A schedule's due time (ISO), and for `missed`: how many, since when. */
    readonly due_at?: string;
    readonly missed?: number;
    readonly since?: string;
    /** `recovered`: how long it was down (ms), and the failure kinds it closes. */
    readonly down_ms?: number;
    readonly closes?: readonly AlertKind[];
    readonly restarts: number;
    readonly action: EvidenceAction;
  };
}

export interface Alert {
  readonly id: string;
  /** ISO time of the first occurrence. */
  readonly at: string;
  /** ISO time of the latest repeat. */
  readonly last_at: string;
  readonly process: string;
  readonly kind: AlertKind;
  readonly severity: AlertIntent['severity'];
  readonly message: string;
  readonly evidence: Record<string, unknown>;
  readonly count: number;
  readonly acknowledged: boolean;
  /**
   * Why it was acknowledged when nobody did it by hand: `deregister` (its process was deregistered
   * while it was open). Absent for an ack by `alerts ack`, the dashboard or MCP.
   */
  readonly acknowledged_by?: AckedBy;
  /**
   * ISO time of the last time this process+kind was sent to the channels (older files: ms since
   * epoch); null again when no channel took it (`delivery` says why), so a repeat is sent at once.
   */
  readonly notified_at: string | number | null;
  /** How the last sending went, channel by channel (absent until one was tried). */
  readonly delivery?: Delivery;
}

/** One channel's answer to one alert. `detail` never holds a secret (a token, a webhook URL, the command's text). */
export interface ChannelResult {
  /** The channel's name ($settings.notify name; webhook, command, desktop for the older settings). */
  readonly channel: string;
  /** Its kind (telegram, slack, ...); absent in alerts recorded before channels had kinds. */
  readonly type?: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Requests made. */
  readonly attempts?: number;
  /** Not tried, by design (desktop without a display; held for a quiet-hours digest): not a failure. */
  readonly skipped?: boolean;
  /** Held for the digest sent when the channel's quiet hours end. */
  readonly held?: boolean;
}

/** The last sending of an alert: notified when at least one channel took it. */
export interface Delivery {
  readonly at: string;
  readonly notified: boolean;
  readonly channels: readonly ChannelResult[];
}

/** An alert as the channels send it: with the ledger's head (SEQ:HASH), so a copy lives elsewhere. */
export interface OutgoingAlert extends Alert {
  readonly ledger_head?: string;
}

export interface RaiseResult {
  readonly alerts: readonly Alert[];
  readonly alert: Alert;
  /** false when a notification for this process and kind went out within alert_cooldown. */
  readonly notify: boolean;
}

/** When an alert last reached the channels, in ms (-Infinity: never); files written before ISO times held ms. */
function notifiedMs(at: string | number | null): number {
  if (at === null) return -Infinity;
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(ms) ? ms : -Infinity;
}

/** The entry's issues, grouped by process ('' and $settings: the file's own). */
export function groupIssues(issues: readonly Issue[]): Map<string, Issue[]> {
  const out = new Map<string, Issue[]>();
  for (const i of issues) out.set(i.process, [...(out.get(i.process) ?? []), i]);
  return out;
}

/** An entry pguard cannot supervise until it is fixed: one critical alert naming the file and every issue. */
export function invalidEntryAlert(file: string, process: string, issues: readonly Issue[]): AlertIntent {
  const what = process === '' ? file : process === '$settings' ? `${file}: $settings` : `${file}: "${process}"`;
  const consequence = process === '' || process === '$settings' ? 'its defaults are used where it is wrong' : 'pguard does not start, check or restart it until it is fixed';
  return {
    kind: 'registry-invalid', severity: 'critical',
    message: `${what} is not valid, so ${consequence}: ${issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ')}`,
    // $settings that are wrong fall back to their defaults (a bad channel is left out): nothing goes unsupervised for it.
    evidence: { restarts: 0, action: process === '$settings' ? 'none' : 'not-supervised' },
  };
}

/** Keep at most this many alerts; the oldest acknowledged go first. */
export const ALERT_HISTORY_LIMIT = 500;

export function raiseAlert(
  history: readonly Alert[],
  process: string,
  intent: Pick<AlertIntent, 'kind' | 'severity' | 'message' | 'evidence'>,
  now: number,
  cooldownS: number,
  makeId: () => string,
): RaiseResult {
  const same = history.filter((a) => a.process === process && a.kind === intent.kind);
  const lastNotified = Math.max(-Infinity, ...same.map((a) => notifiedMs(a.notified_at)));
  // A recovery is always offered to the channels: each sends it only where it sent the failure.
  // The cooldown folds repeats within one episode: once the process was back (a recovery since
  // this kind was last sent), a new failure is news again.
  const recoveredAt = Math.max(-Infinity, ...history.filter((a) => a.process === process && a.kind === 'recovered').map((a) => Date.parse(a.last_at)));
  const notify = intent.kind === 'recovered' || !(now - lastNotified < cooldownS * 1000) || recoveredAt > lastNotified;
  const iso = new Date(now).toISOString();
  // Each rollback is its own event (from which generation to which, and why): never folded.
  const open = intent.kind === 'rollback' ? undefined : same.find((a) => !a.acknowledged);
  let alert: Alert;
  let alerts: Alert[];
  if (open) {
    // A repeat while the first is still unacknowledged: fold it in, counted.
    alert = {
      ...open, last_at: iso, message: intent.message, evidence: { ...intent.evidence }, count: open.count + 1,
      severity: intent.severity, notified_at: notify ? new Date(now).toISOString() : open.notified_at,
    };
    alerts = history.map((a) => (a === open ? alert : a));
  } else {
    alert = {
      id: makeId(), at: iso, last_at: iso, process, kind: intent.kind, severity: intent.severity,
      message: intent.message, evidence: { ...intent.evidence }, count: 1, acknowledged: false,
      notified_at: notify ? new Date(now).toISOString() : null,
    };
    alerts = [...history, alert];
  }
  return { alerts: trimHistory(alerts), alert, notify };
}

/** The last ALERT_HISTORY_LIMIT: the oldest acknowledged go first, then (still too many) the oldest. */
function trimHistory(alerts: Alert[]): Alert[] {
  if (alerts.length <= ALERT_HISTORY_LIMIT) return alerts;
  let excess = alerts.length - ALERT_HISTORY_LIMIT;
  const kept = alerts.filter((a) => !(a.acknowledged && excess-- > 0));
  return kept.length > ALERT_HISTORY_LIMIT ? kept.slice(kept.length - ALERT_HISTORY_LIMIT) : kept;
}

/** Who acknowledged an alert other than a person: deregister closes its process's open alerts. */
export type AckedBy = 'deregister';

/** Acknowledge by id (or all); returns the new history and the ids that matched nothing. `by`: recorded on each (see Alert). */
export function acknowledgeAlerts(
  history: readonly Alert[],
  ids: readonly string[] | 'all',
  by?: AckedBy,
): { alerts: Alert[]; unknown: string[]; acknowledged: number } {
  const wanted = ids === 'all' ? null : new Set(ids);
  let acknowledged = 0;
  const alerts = history.map((a) => {
    if (a.acknowledged || (wanted && !wanted.has(a.id))) return a;
    acknowledged++;
    return { ...a, acknowledged: true, ...(by ? { acknowledged_by: by } : {}) };
  });
  const known = new Set(history.map((a) => a.id));
  const unknown = ids === 'all' ? [] : ids.filter((id) => !known.has(id));
  return { alerts, unknown, acknowledged };
}

/** The text of alert.txt: one paragraph per unacknowledged alert, newest last. */
export function describeAlerts(alerts: readonly Alert[]): string {
  const open = alerts.filter((a) => !a.acknowledged);
  if (open.length === 0) return '';
  const lines = [`pguard: ${open.length} unacknowledged alert${open.length === 1 ? '' : 's'} (pguard alerts; pguard alerts ack --all)`, ''];
  for (const a of open) {
    const repeat = a.count > 1 ? ` (x${a.count}, last ${a.last_at})` : '';
    lines.push(`[${a.severity.toUpperCase()}] ${a.at} ${a.process} ${a.kind}${repeat} (id ${a.id})`);
    lines.push(`  ${a.message}`);
    const tail = a.evidence.log_tail;
    if (Array.isArray(tail) && tail.length > 0) {
      lines.push('  last log lines:');
      for (const l of tail) lines.push(`    ${String(l)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
