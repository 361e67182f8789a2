// $settings.notify: the notification channels, as one table of kinds (what each needs, which of
// its values are secrets), their validation, and the routing of an alert to a channel: its
// filters, quiet hours, one message per alert, and a recovery only where the failure went.
// Pure: the environment, the clock and the state file come in.
import { ALERT_KINDS, DOWN_KINDS, type Alert, type AlertKind } from './alerts.js';
import { SEVERITIES, type Severity } from './notify-message.js';
import { ENV_NAME, NAME_PATTERN, type ChannelDef, type QuietHours } from './schema.js';

export type { ChannelDef, QuietHours };

export const CHANNEL_TYPES = ['telegram', 'slack', 'discord', 'pagerduty', 'ntfy', 'email', 'webhook', 'command', 'desktop'] as const satisfies readonly ChannelDef['type'][];
export type ChannelType = ChannelDef['type'];

interface OptionSpec {
  readonly key: string;
  readonly required?: boolean;
  /** Never shown, logged or exported: written as $NAME (from the environment or notify_env_file) or kept out of every output. */
  readonly secret?: boolean;
  /** A list of strings (a single string is taken as a list of one). */
  readonly list?: boolean;
  /** Numbers are taken as their digits (Telegram's chat_id). */
  readonly numeric?: boolean;
  readonly url?: boolean;
  readonly default?: string;
  readonly doc: string;
}

/** Each kind's options. The README's channel list and `pguard info` come from this table. */
export const CHANNEL_OPTIONS: Record<ChannelType, readonly OptionSpec[]> = {
  telegram: [
    { key: 'bot_token', required: true, secret: true, doc: 'The bot\'s token from @BotFather.' },
    { key: 'chat_id', required: true, numeric: true, doc: 'The chat, group or channel id (a number, or @channelname).' },
    { key: 'api_url', url: true, default: 'https://api.telegram.org', doc: 'The Bot API server (a local one, say).' },
  ],
  slack: [{ key: 'url', required: true, secret: true, url: true, doc: 'The incoming-webhook URL (https://hooks.slack.com/services/...).' }],
  discord: [{ key: 'url', required: true, secret: true, url: true, doc: 'The channel webhook URL (https://discord.com/api/webhooks/...).' }],
  pagerduty: [
    { key: 'routing_key', required: true, secret: true, doc: 'The Events API v2 integration (routing) key.' },
    { key: 'api_url', url: true, default: 'https://events.pagerduty.com/v2/enqueue', doc: 'The Events API endpoint (https://events.eu.pagerduty.com/v2/enqueue in the EU).' },
  ],
  ntfy: [
    { key: 'topic', required: true, secret: true, doc: 'The topic (on a public server, whoever knows it can read it: a secret).' },
    { key: 'url', url: true, default: 'https://ntfy.sh', doc: 'The ntfy server.' },
    { key: 'token', secret: true, doc: 'An access token, for a server or topic that needs one.' },
  ],
  email: [
    { key: 'smtp', required: true, doc: 'smtp://[user@]host[:port] (STARTTLS, required) or smtps://[user@]host[:port] (TLS).' },
    { key: 'password', secret: true, doc: 'The SMTP password.' },
    { key: 'from', required: true, doc: 'The sender address.' },
    { key: 'to', required: true, list: true, doc: 'The recipient address, or a list of them.' },
  ],
  webhook: [{ key: 'url', required: true, secret: true, url: true, doc: 'Receives each alert as JSON (POST); redirects are not followed.' }],
  command: [{ key: 'command', required: true, secret: true, doc: 'Run through /bin/sh with each alert as JSON on stdin.' }],
  desktop: [],
};

const FILTER_KEYS = ['type', 'name', 'min_severity', 'kinds', 'processes', 'quiet_hours'] as const;

export interface ChannelIssue {
  readonly field: string;
  readonly message: string;
}

/** `$NAME` or `${NAME}` as a whole value: the name; null for a literal. */
export function envReference(value: string): string | null {
  const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(value.trim());
  return m ? (m[1] ?? m[2]!) : null;
}

function parseQuietHours(v: unknown): QuietHours | string {
  const m = typeof v === 'string' ? /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(v) : null;
  if (!m) return 'expected "HH:MM-HH:MM" in local time, such as "22:00-07:00"';
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59) return 'expected hours 0-23 and minutes 0-59';
  const from = h1 * 60 + m1;
  const to = h2 * 60 + m2;
  if (from === to) return 'the quiet hours start and end at the same time';
  return { from, to, text: `${String(h1).padStart(2, '0')}:${String(m1).padStart(2, '0')}-${String(h2).padStart(2, '0')}:${String(m2).padStart(2, '0')}` };
}

export function inQuietHours(q: QuietHours | null, minuteOfDay: number): boolean {
  if (!q) return false;
  return q.from < q.to ? minuteOfDay >= q.from && minuteOfDay < q.to : minuteOfDay >= q.from || minuteOfDay < q.to;
}

/**
 * $settings.notify as written -> the channels, and each problem with its field (`notify[1].chat_id`).
 * A secret's literal value is never quoted in an issue; a bad channel is left out, the others kept.
 */
export function validateChannels(raw: unknown): { channels: ChannelDef[]; issues: ChannelIssue[] } {
  const issues: ChannelIssue[] = [];
  const channels: ChannelDef[] = [];
  if (!Array.isArray(raw)) return { channels, issues: [{ field: 'notify', message: 'expected a list of channels, such as [{"type": "slack", "url": "$SLACK_WEBHOOK_URL"}]' }] };
  raw.forEach((entry, i) => {
    const at = `notify[${i}]`;
    const bad = (field: string, message: string) => issues.push({ field: field ? `${at}.${field}` : at, message });
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return bad('', 'expected an object with a "type"');
    const o = entry as Record<string, unknown>;
    const type = o.type;
    if (typeof type !== 'string' || !(CHANNEL_TYPES as readonly string[]).includes(type)) {
      return bad('type', `expected one of ${CHANNEL_TYPES.join(', ')}${typeof type === 'string' ? `, got ${JSON.stringify(type.slice(0, 40))}` : ''}`);
    }
    const specs = CHANNEL_OPTIONS[type as ChannelType];
    const before = issues.length;
    for (const k of Object.keys(o)) {
      if (!(FILTER_KEYS as readonly string[]).includes(k) && !specs.some((s) => s.key === k)) {
        bad(k, `not an option of a ${type} channel (its options: ${[...specs.map((s) => s.key), ...FILTER_KEYS.slice(1)].join(', ')})`);
      }
    }
    const name = o.name === undefined ? null : o.name;
    if (name !== null && (typeof name !== 'string' || !NAME_PATTERN.test(name))) bad('name', 'expected a name of letters, digits, ".", "_" or "-"');
    const minSeverity = o.min_severity ?? (type === 'pagerduty' ? 'critical' : 'info');
    if (!(SEVERITIES as readonly unknown[]).includes(minSeverity)) bad('min_severity', `expected ${SEVERITIES.join(', ')}`);
    const kinds = o.kinds ?? null;
    if (kinds !== null && !(Array.isArray(kinds) && kinds.length > 0 && kinds.every((k) => (ALERT_KINDS as readonly unknown[]).includes(k)))) {
      bad('kinds', `expected a list of alert kinds (${ALERT_KINDS.join(', ')})`);
    }
    const processes = o.processes ?? null;
    if (processes !== null && !(Array.isArray(processes) && processes.length > 0 && processes.every((p) => typeof p === 'string' && NAME_PATTERN.test(p)))) {
      bad('processes', 'expected a list of process names');
    }
    const quiet = o.quiet_hours === undefined ? null : parseQuietHours(o.quiet_hours);
    if (typeof quiet === 'string') bad('quiet_hours', quiet);
    const options: Record<string, string | readonly string[]> = {};
    for (const spec of specs) {
      let v = o[spec.key];
      if (v === undefined) {
        if (spec.required) bad(spec.key, 'is required');
        else if (spec.default !== undefined) options[spec.key] = spec.default;
        continue;
      }
      if (spec.numeric && typeof v === 'number' && Number.isInteger(v)) v = String(v);
      const values = spec.list && Array.isArray(v) ? v : [v];
      if (values.length === 0 || !values.every((x) => typeof x === 'string' && x.trim() !== '')) {
        bad(spec.key, `expected ${spec.list ? 'a non-empty string or a list of them' : spec.numeric ? 'a number or a non-empty string' : 'a non-empty string'}${spec.secret ? ' (a secret: write "$NAME" to read it from the environment or notify_env_file)' : ''}`);
        continue;
      }
      const strings = values as string[];
      for (const s of strings) {
        const ref = s.trim().startsWith('$') ? envReference(s) : null;
        if (s.trim().startsWith('$') && ref === null) bad(spec.key, 'a reference is "$NAME" or "${NAME}" (letters, digits and _), as the whole value');
        else if (ref === null && spec.url && !(/^https?:\/\/[^\s/]+/i.test(s) && URL.canParse(s))) {
          bad(spec.key, `expected an http:// or https:// URL${spec.secret ? ' (not shown, as it may hold a secret)' : ''}`);
        }
      }
      options[spec.key] = spec.list ? strings : strings[0]!;
    }
    if (issues.length > before) return;
    channels.push({
      name: (name as string | null) ?? type, type: type as ChannelType, minSeverity: minSeverity as Severity,
      kinds: kinds as AlertKind[] | null, processes: processes as string[] | null, quietHours: quiet as QuietHours | null, options,
    });
  });
  // Names must tell channels apart (--channel, notify.log, the state of what each has sent).
  const seen = new Map<string, number>();
  for (const c of channels) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
  const dup = [...seen].filter(([, n]) => n > 1).map(([n]) => n);
  if (dup.length > 0) {
    issues.push({ field: 'notify', message: `two channels are named ${dup.map((d) => `"${d}"`).join(', ')}: give each a "name"` });
    return { channels: channels.filter((c) => !dup.includes(c.name)), issues };
  }
  return { channels, issues };
}

/** The older single-channel settings (webhook, notify_command, desktop) as channels of their own. */
export function legacyChannels(s: { webhook: string | undefined; notifyCommand: string | undefined; desktop: boolean }, taken: readonly ChannelDef[]): ChannelDef[] {
  const base = { minSeverity: 'info' as const, kinds: null, processes: null, quietHours: null };
  const out: ChannelDef[] = [];
  if (s.webhook) out.push({ ...base, name: 'webhook', type: 'webhook', options: { url: s.webhook } });
  if (s.notifyCommand) out.push({ ...base, name: 'command', type: 'command', options: { command: s.notifyCommand } });
  if (s.desktop) out.push({ ...base, name: 'desktop', type: 'desktop', options: {} });
  // A notify entry of the same name wins.
  return out.filter((c) => !taken.some((t) => t.name === c.name));
}

/** Every channel of these settings: $settings.notify, then the older single-channel settings. */
export function channelsOf(s: { notify: readonly ChannelDef[]; webhook: string | undefined; notifyCommand: string | undefined; desktop: boolean }): ChannelDef[] {
  return [...s.notify, ...legacyChannels(s, s.notify)];
}

/** An issue of a notification channel (or setting): that channel is left out; nothing else waits for it. */
export function isChannelIssue(i: { readonly process: string; readonly field: string }): boolean {
  return i.process === '$settings' && /^notify/.test(i.field);
}

/** Each channel's own values: references read from `env` (the environment over notify_env_file). */
export function resolveOptions(
  ch: ChannelDef, env: Readonly<Record<string, string | undefined>>,
): { values: Record<string, string | readonly string[]>; secrets: string[]; missing: string[] } {
  const values: Record<string, string | readonly string[]> = {};
  const secrets: string[] = [];
  const missing: string[] = [];
  const read = (s: string, secret: boolean): string => {
    const ref = envReference(s);
    const v = ref === null ? s : env[ref];
    if (ref !== null && (v === undefined || v === '')) { missing.push(ref); return ''; }
    if (secret && v) secrets.push(v!);
    return v!;
  };
  for (const spec of CHANNEL_OPTIONS[ch.type]) {
    const v = ch.options[spec.key];
    if (v === undefined) continue;
    values[spec.key] = typeof v === 'string' ? read(v, spec.secret === true) : v.map((x) => read(x, spec.secret === true));
  }
  return { values, secrets, missing };
}

/** A channel as `pguard info` shows it: its kind, filters, and where each secret comes from, never its value. */
export function describeChannel(ch: ChannelDef, env: Readonly<Record<string, string | undefined>>): string {
  const parts: string[] = [];
  for (const spec of CHANNEL_OPTIONS[ch.type]) {
    const v = ch.options[spec.key];
    if (v === undefined) continue;
    const show = (s: string) => {
      const ref = envReference(s);
      if (ref !== null) return `$${ref} (${env[ref] ? 'set' : 'not set'})`;
      if (spec.secret) return '*** (written in the registry)';
      if (spec.key === 'smtp') return s.replace(/\/\/[^@/]*@/, '//…@');
      return s;
    };
    parts.push(`${spec.key} ${typeof v === 'string' ? show(v) : v.map(show).join(', ')}`);
  }
  const filters = [
    ch.minSeverity !== 'info' ? `min_severity ${ch.minSeverity}` : '',
    ch.kinds ? `kinds ${ch.kinds.join(', ')}` : '',
    ch.processes ? `processes ${ch.processes.join(', ')}` : '',
    ch.quietHours ? `quiet_hours ${ch.quietHours.text}` : '',
  ].filter(Boolean);
  return `${ch.name} (${ch.type})${parts.length ? `: ${parts.join('; ')}` : ''}${filters.length ? ` [${filters.join('; ')}]` : ''}`;
}

// ---- Routing: what one channel does with one alert ----

/** An alert held during quiet hours, as the digest lists it. */
export type HeldAlert = Pick<Alert, 'id' | 'count' | 'process' | 'kind' | 'severity' | 'message' | 'last_at' | 'at' | 'evidence' | 'acknowledged' | 'notified_at'>;

/** What one channel has sent: the failures still open (per process), the alerts sent, those held. */
export interface ChannelState {
  /** Per process: the failure kinds sent and not yet followed by a recovery, and the incident's key (PagerDuty's dedup_key). */
  readonly open: Readonly<Record<string, { readonly kinds: readonly AlertKind[]; readonly key: string; readonly since: string }>>;
  /** `id:count` of the alerts this channel took (sent or held): never two messages for one alert. */
  readonly sent: readonly string[];
  readonly held: readonly HeldAlert[];
}

export const emptyChannelState = (): ChannelState => ({ open: {}, sent: [], held: [] });
const SENT_KEPT = 500;
const HELD_KEPT = 100;

export type Route =
  | { readonly send: true; readonly incident: string | null; readonly closes: readonly AlertKind[] }
  | { readonly send: false; readonly why: 'sent-already' | 'filtered' | 'nothing-open' | 'held' };

const rank = (s: Severity) => SEVERITIES.indexOf(s);

/**
 * One channel, one alert: send it, hold it (quiet hours, below critical), or not (a filter, sent
 * already, a recovery of a failure this channel never got). A failure kind opens an incident on
 * the channel (its key stays until the recovery), the recovery closes it.
 */
export function routeAlert(ch: ChannelDef, state: ChannelState, alert: HeldAlert, minuteOfDay: number): { route: Route; state: ChannelState } {
  const key = `${alert.id}:${alert.count}`;
  if (state.sent.includes(key)) return { route: { send: false, why: 'sent-already' }, state };
  const taken = (s: ChannelState): ChannelState => ({ ...s, sent: [...s.sent, key].slice(-SENT_KEPT) });
  const open = state.open[alert.process];
  if (alert.kind === 'recovered') {
    if (!open) return { route: { send: false, why: 'nothing-open' }, state };
    const { [alert.process]: _closed, ...rest } = state.open;
    const next = taken({ ...state, open: rest });
    // Held with its failure while quiet: the digest tells both.
    if (inQuietHours(ch.quietHours, minuteOfDay) && state.held.some((h) => h.process === alert.process)) {
      return { route: { send: false, why: 'held' }, state: { ...next, held: [...next.held, alert].slice(-HELD_KEPT) } };
    }
    return { route: { send: true, incident: open.key, closes: open.kinds }, state: next };
  }
  if (rank(alert.severity) < rank(ch.minSeverity) || (ch.kinds && !ch.kinds.includes(alert.kind)) || (ch.processes && !ch.processes.includes(alert.process))) {
    return { route: { send: false, why: 'filtered' }, state };
  }
  let next = taken(state);
  let incident: string | null = null;
  if (DOWN_KINDS.includes(alert.kind)) {
    incident = open?.key ?? `pguard-${alert.process}-${alert.id}`;
    next = { ...next, open: { ...next.open, [alert.process]: { kinds: [...new Set([...(open?.kinds ?? []), alert.kind])], key: incident, since: open?.since ?? alert.at } } };
  }
  if (alert.severity !== 'critical' && inQuietHours(ch.quietHours, minuteOfDay)) {
    return { route: { send: false, why: 'held' }, state: { ...next, held: [...next.held, alert].slice(-HELD_KEPT) } };
  }
  return { route: { send: true, incident, closes: [] }, state: next };
}

/** Quiet hours over with alerts held: the digest to send, and the state without them. */
export function dueDigest(ch: ChannelDef, state: ChannelState, minuteOfDay: number): { held: readonly HeldAlert[]; state: ChannelState } | null {
  if (state.held.length === 0 || inQuietHours(ch.quietHours, minuteOfDay)) return null;
  return { held: state.held, state: { ...state, held: [] } };
}

/** The env names a channel's values refer to (for `info` and to explain a missing one). */
export function referencesOf(ch: ChannelDef): string[] {
  return Object.values(ch.options).flatMap((v) => (typeof v === 'string' ? [v] : [...v])).map(envReference).filter((r): r is string => r !== null && ENV_NAME.test(r));
}
