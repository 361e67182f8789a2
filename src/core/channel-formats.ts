// Each HTTP service's request for one message, as its API documents it (pure: the channel's
// resolved values come in). Telegram Bot API sendMessage; Slack and Discord incoming webhooks;
// PagerDuty Events API v2 (trigger, and resolve with the incident's dedup_key); ntfy's JSON publish.
import type { NotifyMessage, Severity } from './notify-message.js';

export interface ServiceRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

type Values = Readonly<Record<string, string | readonly string[]>>;
const str = (v: Values, k: string): string => { const x = v[k]; return typeof x === 'string' ? x : ''; };
const json = (url: string, body: unknown, headers: Record<string, string> = {}): ServiceRequest =>
  ({ url, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** At most `max` characters (UTF-16 units, as these APIs count), with an ellipsis when cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end--; // never half a surrogate pair
  return `${text.slice(0, end)}…`;
}

/** Telegram: POST {api}/bot<token>/sendMessage, plain text (no parse_mode: nothing to escape), at most 4096 characters. */
export function telegramRequest(v: Values, msg: NotifyMessage): ServiceRequest {
  const api = str(v, 'api_url').replace(/\/+$/, '');
  return json(`${api}/bot${str(v, 'bot_token')}/sendMessage`, {
    chat_id: str(v, 'chat_id'), text: cut(`${msg.title}\n\n${msg.text}`, 4096),
    disable_web_page_preview: true, disable_notification: msg.severity === 'info',
  });
}

/** Slack's mrkdwn needs &, < and > escaped (its docs: "Escaping text"). */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack incoming webhook: `text` (the notification's fallback) and a section block. */
export function slackRequest(v: Values, msg: NotifyMessage): ServiceRequest {
  const text = cut(`*${slackEscape(msg.title)}*\n${slackEscape(msg.text)}`, 3000); // a section's text: 3000 at most
  return json(str(v, 'url'), {
    text: cut(slackEscape(msg.title), 3000),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    unfurl_links: false,
  });
}

/** Discord webhook: `content` (2000 at most), mentions off (a log line may hold @everyone). */
export function discordRequest(v: Values, msg: NotifyMessage): ServiceRequest {
  return json(str(v, 'url'), { username: 'pguard', content: cut(`**${msg.title}**\n${msg.text}`, 2000), allowed_mentions: { parse: [] } });
}

const PD_SEVERITY: Record<Severity, string> = { critical: 'critical', warning: 'warning', info: 'info' };

/**
 * PagerDuty Events v2: a recovery resolves the incident its failure opened (the same dedup_key);
 * anything else triggers, with the incident's key when it is a failure, else the alert's own.
 */
export function pagerdutyRequest(v: Values, msg: NotifyMessage, incident: string | null): ServiceRequest {
  const url = str(v, 'api_url');
  const routing_key = str(v, 'routing_key');
  if (msg.event === 'recovered' && incident) return json(url, { routing_key, event_action: 'resolve', dedup_key: incident });
  const e = msg.alert?.evidence ?? {};
  return json(url, {
    routing_key, event_action: 'trigger', dedup_key: incident ?? msg.key, client: 'pguard',
    payload: {
      summary: cut(msg.title, 1024), source: msg.host, severity: PD_SEVERITY[msg.severity], timestamp: msg.at,
      ...(msg.process ? { component: msg.process } : {}), class: msg.kind,
      custom_details: { message: msg.text, ...(msg.alert ? { alert_id: msg.alert.id, action: e.action, code: e.code, signal: e.signal, restarts: e.restarts } : {}) },
    },
  });
}

/** The incident a test opened, resolved at once: a test leaves nothing open. */
export function pagerdutyResolve(v: Values, dedupKey: string): ServiceRequest {
  return json(str(v, 'api_url'), { routing_key: str(v, 'routing_key'), event_action: 'resolve', dedup_key: dedupKey });
}

const NTFY_PRIORITY: Record<Severity, number> = { critical: 5, warning: 4, info: 3 };

/** ntfy: JSON published to the server's root (the topic in the body), priority from the severity. */
export function ntfyRequest(v: Values, msg: NotifyMessage): ServiceRequest {
  const token = str(v, 'token');
  const tag = msg.event === 'recovered' ? 'white_check_mark' : msg.severity === 'critical' ? 'rotating_light' : msg.severity === 'warning' ? 'warning' : 'information_source';
  return json(`${str(v, 'url').replace(/\/+$/, '')}/`, {
    topic: str(v, 'topic'), title: cut(msg.title, 250), message: cut(msg.text, 4000),
    priority: NTFY_PRIORITY[msg.severity], tags: [tag, ...(msg.process && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(msg.process) ? [msg.process] : [])],
  }, token ? { authorization: `Bearer ${token}` } : {});
}
