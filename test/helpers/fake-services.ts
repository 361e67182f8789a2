// Local stand-ins for the notification services on 127.0.0.1, each checking every request against
// its service's documented API and answering as the service does, with the service's own refusal
// when a request does not fit:
// - Telegram Bot API sendMessage (core.telegram.org/bots/api#sendmessage): POST /bot<token>/sendMessage,
//   chat_id (integer or string) and text (1-4096 characters) required; {"ok":true,"result":Message};
//   a bad token: 401 {"ok":false,"error_code":401,"description":"Unauthorized"}.
// - Slack incoming webhooks (api.slack.com/messaging/webhooks): POST JSON with `text` or `blocks`;
//   200 "ok"; 400 "invalid_payload" / "no_text".
// - Discord webhooks (discord.com/developers/docs/resources/webhook#execute-webhook): POST JSON with
//   content (at most 2000), embeds or files; 204 without ?wait; 400 {"message": ..., "code": 50006}.
// - PagerDuty Events API v2 (developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty):
//   POST /v2/enqueue, routing_key (32 characters), event_action trigger|acknowledge|resolve,
//   dedup_key (at most 255; required for acknowledge and resolve), and for trigger a payload with
//   summary (at most 1024), source and severity (critical, error, warning, info); 202
//   {"status":"success","message":"Event processed","dedup_key":...}; 400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}.
// - ntfy JSON publishing (docs.ntfy.sh/publish/#publish-as-json): POST to the root URL with topic
//   (required), message, title, priority 1-5, tags (array of strings); 200 with the message as JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { localHttpServer, type LocalServer } from './local-server.js';

export interface Received {
  readonly service: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: any;
}

export interface FakeServices {
  readonly url: string;
  readonly received: Received[];
  /** The next `n` requests to this service get 429 with Retry-After `seconds` (as each service sends it). */
  rateLimit(service: string, n: number, seconds: number): void;
  /** Requests to this service are never answered (the socket stays open). */
  hang(service: string): void;
  close(): Promise<void>;
}

export const TELEGRAM_TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
export const PD_ROUTING_KEY = 'R0123456789ABCDEF0123456789ABCDE'; // 32 characters, as PagerDuty's are

const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { text += c; });
    req.on('end', () => resolve(text));
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Each service's check of one request: null when it fits, else the service's refusal. */
type Check = (path: string, body: unknown, headers: IncomingMessage['headers']) => { status: number; body: unknown; text?: boolean } | null;

const checks: Record<string, Check> = {
  telegram: (path, b) => {
    const m = /^\/bot([^/]+)\/sendMessage$/.exec(path);
    if (!m || m[1] !== TELEGRAM_TOKEN) return { status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } };
    if (!isObj(b) || !(typeof b.chat_id === 'string' || Number.isInteger(b.chat_id)) || b.chat_id === '') return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: chat not found' } };
    if (typeof b.text !== 'string' || b.text.trim() === '') return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message text is empty' } };
    if (b.text.length > 4096) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message is too long' } };
    if (b.parse_mode !== undefined && !['MarkdownV2', 'HTML', 'Markdown'].includes(b.parse_mode)) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: unsupported parse_mode' } };
    return null;
  },
  slack: (_p, b) => {
    if (!isObj(b)) return { status: 400, body: 'invalid_payload', text: true };
    if (typeof b.text !== 'string' && !Array.isArray(b.blocks)) return { status: 400, body: 'no_text', text: true };
    if (Array.isArray(b.blocks) && !b.blocks.every((x: any) => isObj(x) && typeof x.type === 'string' && (x.type !== 'section' || (isObj(x.text) && ['mrkdwn', 'plain_text'].includes(x.text.type) && typeof x.text.text === 'string' && x.text.text.length <= 3000)))) {
      return { status: 400, body: 'invalid_blocks', text: true };
    }
    return null;
  },
  discord: (_p, b) => {
    if (!isObj(b) || (typeof b.content !== 'string' && !Array.isArray(b.embeds))) return { status: 400, body: { message: 'Cannot send an empty message', code: 50006 } };
    if (typeof b.content === 'string' && b.content.length > 2000) return { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } } } };
    if (b.allowed_mentions !== undefined && !(isObj(b.allowed_mentions) && Array.isArray(b.allowed_mentions.parse))) return { status: 400, body: { message: 'Invalid Form Body', code: 50035 } };
    return null;
  },
  pagerduty: (path, b) => {
    const errors: string[] = [];
    if (path !== '/v2/enqueue') return { status: 404, body: { status: 'Not Found' } };
    if (!isObj(b)) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] } };
    if (typeof b.routing_key !== 'string' || b.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
    if (!['trigger', 'acknowledge', 'resolve'].includes(b.event_action)) errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
    if (b.dedup_key !== undefined && (typeof b.dedup_key !== 'string' || b.dedup_key.length > 255)) errors.push("'dedup_key' must be a string of at most 255 characters");
    if (b.event_action !== 'trigger' && typeof b.dedup_key !== 'string') errors.push("'dedup_key' is required for acknowledge and resolve");
    if (b.event_action === 'trigger') {
      const p = b.payload;
      if (!isObj(p)) errors.push("'payload' is missing or invalid");
      else {
        if (typeof p.summary !== 'string' || p.summary === '' || p.summary.length > 1024) errors.push("'payload.summary' is missing or invalid");
        if (typeof p.source !== 'string' || p.source === '') errors.push("'payload.source' is missing or blank");
        if (!['critical', 'error', 'warning', 'info'].includes(p.severity)) errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
        if (p.timestamp !== undefined && Number.isNaN(Date.parse(p.timestamp))) errors.push("'payload.timestamp' is invalid");
      }
    }
    return errors.length ? { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } } : null;
  },
  ntfy: (path, b) => {
    if (path !== '/') return { status: 404, body: { code: 40401, http: 404, error: 'page not found' } };
    if (!isObj(b) || typeof b.topic !== 'string' || !/^[-_A-Za-z0-9]{1,64}$/.test(b.topic)) return { status: 400, body: { code: 40009, http: 400, error: 'invalid request: topic invalid' } };
    if (b.priority !== undefined && !(Number.isInteger(b.priority) && b.priority >= 1 && b.priority <= 5)) return { status: 400, body: { code: 40007, http: 400, error: 'invalid priority' } };
    if (b.tags !== undefined && !(Array.isArray(b.tags) && b.tags.every((t: unknown) => typeof t === 'string'))) return { status: 400, body: { code: 40000, http: 400, error: 'invalid request: tags' } };
    if (b.message !== undefined && typeof b.message !== 'string') return { status: 400, body: { code: 40000, http: 400, error: 'invalid request: message' } };
    return null;
  },
};

/** Which service a path is: /telegram/..., /slack/..., /discord/..., /pagerduty/..., /ntfy/... */
export async function fakeServices(): Promise<FakeServices> {
  const received: Received[] = [];
  const limited = new Map<string, { n: number; seconds: number }>();
  const hanging = new Set<string>();
  let server: LocalServer | null = null;
  server = await localHttpServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, service = '', ...rest] = url.pathname.split('/');
    const path = `/${rest.join('/')}`;
    const text = await readBody(req);
    if (hanging.has(service)) return; // never answered
    const limit = limited.get(service);
    if (limit && limit.n > 0) {
      limit.n--;
      // Telegram and Discord say it in the body too; every one sends Retry-After.
      const body = service === 'telegram' ? { ok: false, error_code: 429, description: `Too Many Requests: retry after ${limit.seconds}`, parameters: { retry_after: limit.seconds } }
        : service === 'discord' ? { message: 'You are being rate limited.', retry_after: limit.seconds, global: false } : { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' };
      return json(res, 429, body, { 'retry-after': String(limit.seconds) });
    }
    if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
    if (!/^application\/json\b/.test(String(req.headers['content-type'] ?? ''))) return json(res, 400, { error: 'expected application/json' });
    let body: unknown;
    try { body = JSON.parse(text); } catch { return json(res, 400, { error: 'malformed JSON' }); }
    const check = checks[service];
    if (!check) return json(res, 404, { error: `no service ${service}` });
    const refusal = check(path, body, req.headers);
    if (refusal) {
      if (refusal.text) { res.writeHead(refusal.status, { 'content-type': 'text/plain' }); return res.end(String(refusal.body)); }
      return json(res, refusal.status, refusal.body);
    }
    received.push({ service, path, headers: req.headers, body });
    switch (service) {
      case 'telegram': return json(res, 200, { ok: true, result: { message_id: received.length, date: Math.floor(Date.now() / 1000), chat: { id: Number((body as any).chat_id) || 0, type: 'private' }, text: (body as any).text } });
      case 'slack': res.writeHead(200, { 'content-type': 'text/html' }); return res.end('ok');
      case 'discord': res.writeHead(204); return res.end();
      case 'pagerduty': return json(res, 202, { status: 'success', message: 'Event processed', dedup_key: (body as any).dedup_key ?? `gen-${received.length}` });
      case 'ntfy': return json(res, 200, { id: `m${received.length}`, time: Math.floor(Date.now() / 1000), event: 'message', topic: (body as any).topic, message: (body as any).message ?? 'triggered' });
    }
  });
  const s = server;
  return {
    url: `http://127.0.0.1:${s.port}`,
    received,
    rateLimit: (service, n, seconds) => { limited.set(service, { n, seconds }); },
    hang: (service) => { hanging.add(service); },
    close: () => s.close(),
  };
}
