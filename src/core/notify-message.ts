// What a notification says, once, for every channel: the process, the category (kind), what was
// seen, the action pguard took, the recovery time where known, and the host. Each channel renders
// this message in its service's format (effects/channels/). Pure: the host and times come in.
import type { Alert, AlertKind } from './alerts.js';
import { describeDowntime } from './exit.js';

export type Severity = Alert['severity'];
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export interface NotifyMessage {
  /** `alert` (a failure or anything else), `recovered` (closes what a failure opened), `digest`, `test`. */
  readonly event: 'alert' | 'recovered' | 'digest' | 'test';
  /** One line: `api crashed on web-1`, `api back on web-1 after 4 ms`. */
  readonly title: string;
  /** Plain text, a few lines: what was seen, the action, the recovery time, the host, the alert id. */
  readonly text: string;
  readonly severity: Severity;
  readonly kind: AlertKind | 'digest' | 'test';
  readonly process: string | null;
  readonly host: string;
  /** ISO time of what it reports. */
  readonly at: string;
  /** Stable for one alert (its id and count) on one channel: a receiver may drop a repeat by it. */
  readonly key: string;
  /** The alert itself (webhook and command channels send it whole); null for a digest or a test. */
  readonly alert: (Alert & { readonly ledger_head?: string }) | null;
}

/** What a channel's service answered: ok, how many requests it took, and why not, without secrets. */
export interface ChannelAnswer {
  readonly ok: boolean;
  readonly attempts: number;
  readonly detail: string;
  /** Not tried, by design (desktop without a display): not a failure. */
  readonly skipped?: boolean;
}

const KIND_WORDS: Record<AlertKind, string> = {
  crashed: 'crashed', failed: 'failed', overrun: 'overran its duration', recovered: 'is back', unhealthy: 'is unhealthy',
  resource: 'is over its limit', 'watch-died': 'watch died', rollback: 'was rolled back', 'registry-invalid': 'has an invalid definition',
  waiting: 'is waiting for its dependencies', skipped: 'skipped a scheduled run', missed: 'missed scheduled runs',
};

const ACTION_WORDS: Record<string, string> = {
  restarted: 'restarted at once', 'restart-scheduled': 'restart scheduled after its cooldown', restart: 'being ended and restarted',
  waiting: 'waiting for its dependencies', 'gave-up': 'gave up: not restarted again until it is started (or failed_retry)',
  'not-restarted': 'not restarted', none: 'none', 'not-supervised': 'not supervised until the registry is fixed',
  rollback: 'rolled back to the last known-good definition', 'next-run': 'runs again at its next scheduled time', 'catch-up': 'runs once now',
};

/** The message for one alert as a channel sends it; `registry` tells two projects' processes of one name apart. */
export function alertMessage(alert: Alert & { readonly ledger_head?: string }, host: string, channel: string, registry = ''): NotifyMessage {
  const e = alert.evidence;
  const recovered = alert.kind === 'recovered';
  const down = typeof e.down_ms === 'number' ? describeDowntime(e.down_ms) : null;
  const who = alert.process === '$settings' || alert.process === '' ? 'the registry' : alert.process;
  const title = recovered
    ? `${who} back on ${host}${down ? ` ${down}` : ''}`
    : `${who} ${KIND_WORDS[alert.kind] ?? alert.kind} on ${host}`;
  // The alert's message says what was seen (the exit, the signal, the probe, the memory) and
  // mostly what was done; the action in words of its own where it does not, then where and which alert.
  const lines = [alert.message];
  const action = typeof e.action === 'string' ? ACTION_WORDS[e.action] ?? e.action : null;
  if (action && e.action !== 'none' && !alert.message.includes(action)) lines.push(`action: ${action}`);
  lines.push(`host: ${host}${registry ? ` · ${registry}` : ''}`);
  // A recovery needs nothing done: no acknowledgement asked for.
  lines.push(recovered ? `alert: ${alert.id}` : `alert: ${alert.id}${alert.count > 1 ? ` (x${alert.count})` : ''} · pguard alerts ack ${alert.id}`);
  return {
    event: recovered ? 'recovered' : 'alert', title, text: lines.join('\n'), severity: alert.severity, kind: alert.kind,
    process: alert.process, host, at: alert.last_at, key: `pguard-${alert.id}-${alert.count}-${channel}`, alert,
  };
}

/** Alerts held during quiet hours, sent as one message once they end. */
export function digestMessage(held: readonly Alert[], host: string, channel: string, at: string): NotifyMessage {
  const worst = held.some((a) => a.severity === 'critical') ? 'critical' : held.some((a) => a.severity === 'warning') ? 'warning' : 'info';
  const lines = held.map((a) => `${a.last_at.slice(11, 19)} ${a.process} ${a.kind}: ${a.message}`);
  return {
    event: 'digest', title: `${held.length} pguard alert${held.length === 1 ? '' : 's'} held during quiet hours on ${host}`,
    text: [...lines, `host: ${host}`].join('\n'), severity: worst, kind: 'digest', process: null, host, at,
    key: `pguard-digest-${held.map((a) => `${a.id}.${a.count}`).join('_').slice(0, 120)}-${channel}`, alert: null,
  };
}

/** `pguard notify test`: says which channel it came through. */
export function testMessage(host: string, channel: string, at: string, nonce: string, registry = ''): NotifyMessage {
  return {
    event: 'test', title: `pguard test notification on ${host}`,
    text: `This is a test of the channel "${channel}" from pguard notify test.\nhost: ${host}${registry ? ` · ${registry}` : ''}`,
    severity: 'info', kind: 'test', process: null, host, at, key: `pguard-test-${nonce}-${channel}`, alert: null,
  };
}
