// POST each alert as JSON. Short timeout, bounded retries: a dead endpoint costs at most
// 3 x 3 s plus 1.25 s of pauses (a 429 or 503's Retry-After is honoured up to 10 s a pause), and
// runs after any restart, never before it. Each request carries the alert's own key
// (Idempotency-Key: id and count), so a receiver that saw a retried request once can drop it.
// The URL is a secret (a token in its path, a password in it): what this returns never holds it.
import type { OutgoingAlert } from '../../core/alerts.js';

export interface WebhookResult {
  readonly ok: boolean;
  /** Requests made: 0 when the URL could not be used at all. */
  readonly attempts: number;
  /** Why, without the URL's path, query or credentials. */
  readonly detail: string;
}

/**
 * The URL to send to and its Authorization header. fetch (undici) refuses a URL that holds
 * credentials, so `user:pass@` goes into `Authorization: Basic`, percent-decoded, as curl sends it.
 * null when it does not parse.
 */
export function splitCredentials(url: string): { url: string; authorization: string | null } | null {
  let u: URL;
  try { u = new URL(url); } catch { return null; }
  if (!u.username && !u.password) return { url: u.href, authorization: null };
  const decode = (s: string) => { try { return decodeURIComponent(s); } catch { return s; } };
  const authorization = `Basic ${Buffer.from(`${decode(u.username)}:${decode(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  return { url: u.href, authorization };
}

/** The parts of a webhook URL that may be secret, longest first: the URL, its credentials, its path and query. */
function secretsOf(url: string): string[] {
  const out = new Set<string>([url]);
  try {
    const u = new URL(url);
    out.add(u.href);
    const decode = (s: string) => { try { return decodeURIComponent(s); } catch { return s; } };
    for (const user of [u.username, decode(u.username)]) {
      for (const pass of [u.password, decode(u.password)]) if (user || pass) out.add(`${user}:${pass}@`);
    }
    // A one- to three-character password or path would blank out ordinary words: those stay.
    for (const s of [u.password, decode(u.password), `${u.pathname}${u.search}`]) if (s.length >= 4) out.add(s);
  } catch { /* not a URL: the whole text is what there is to hide */ }
  return [...out].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with every secret part of the webhook URL replaced, and any other `scheme://user:pass@` cut to `scheme://…@`. */
export function redactWebhook(text: string, url: string | undefined): string {
  // secretsOf has kept out what is too short to hide already.
  return redactSecrets(text, url ? secretsOf(url) : [], 1).replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*:[^\s/@]*@/gi, '$1…@');
}

/** Where a URL points, without its path, query or credentials: `https://host:port/…`. */
function originOf(location: string, base: string): string {
  try {
    const u = new URL(location, base);
    return `${u.origin}${u.pathname === '/' && !u.search ? '/' : '/…'}`;
  } catch {
    return 'an address that does not parse';
  }
}

/** Why a request failed, in a few words, from fetch's error and its cause (undici puts the reason there). */
function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const code = e?.cause?.code;
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'ENOTFOUND': return 'host not found';
    case 'EAI_AGAIN': return 'host name lookup failed (try again later)';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT': return `no connection within ${timeoutMs / 1000} s`;
    case 'UND_ERR_SOCKET': return 'the connection closed before an answer';
    default: break;
  }
  if (code) return code;
  return e?.cause?.message ?? e?.message ?? String(err);
}

/** The longest pause a Retry-After may ask for: delivery stays bounded. */
export const MAX_RETRY_AFTER_MS = 10_000;

/**
 * How long a Retry-After header asks to wait (seconds, or an HTTP date), in ms, at most
 * MAX_RETRY_AFTER_MS; null when there is none or it does not parse.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : null;
}

/** What one POST carries: the URL (it may hold a secret), headers, body, and the secrets to keep out of what is said. */
export interface HttpPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Values never to appear in a detail (tokens, keys): the URL's own parts are added. */
  readonly secrets?: readonly string[];
}

/** The service's own words for a refusal, from its answer: JSON description, message or error, or its text. */
export function serviceError(text: string): string {
  let said = text.trim();
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const errors = Array.isArray(j.errors) ? j.errors.filter((e) => typeof e === 'string').join('; ') : '';
    said = [j.description, j.message, j.error, errors].find((v): v is string => typeof v === 'string' && v !== '') ?? '';
  } catch { /* not JSON: its text */ }
  // One line, printable, short: it goes to notify.log, stderr and `pguard info`.
  said = said.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return said.length > 160 ? `${said.slice(0, 159)}…` : said;
}

/** A pause asked for in the body (Telegram's parameters.retry_after, Discord's retry_after), in ms. */
function bodyRetryAfterMs(text: string): number | null {
  try {
    const j = JSON.parse(text) as { retry_after?: unknown; parameters?: { retry_after?: unknown } };
    const s = j.parameters?.retry_after ?? j.retry_after;
    return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? Math.min(MAX_RETRY_AFTER_MS, s * 1000) : null;
  } catch { return null; }
}

/** `text` with each secret (longest first) replaced by …. */
export function redactSecrets(text: string, secrets: readonly string[], minLength = 4): string {
  let out = text;
  // Longest first; a very short one would blank out ordinary words, so it stays.
  for (const s of [...secrets].filter((x) => x.length >= minLength).sort((a, b) => b.length - a.length)) out = out.split(s).join('…');
  return out;
}

/**
 * POST with bounded retries: each try has timeoutMs, a 429 or a 5xx is tried again after the
 * Retry-After it asks for (header or body, up to MAX_RETRY_AFTER_MS) or 0.25 s, 1 s; any other
 * refusal is final. The detail names the status and what the service said, never a secret.
 */
export async function postWithRetries(req: HttpPost, opts: { timeoutMs?: number; attempts?: number } = {}): Promise<{ ok: boolean; attempts: number; detail: string; status?: number }> {
  const attempts = opts.attempts ?? 3;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const target = splitCredentials(req.url);
  if (!target) return { ok: false, attempts: 0, detail: 'the URL is not valid; it is not shown, as it may hold a secret' };
  const secrets = req.secrets ?? [];
  const clean = (detail: string) => redactSecrets(redactWebhook(detail, req.url), secrets);
  let detail = '';
  let status: number | undefined;
  for (let i = 1; i <= attempts; i++) {
    let wait: number | null = null;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'user-agent': 'pguard', ...req.headers, ...(target.authorization ? { authorization: target.authorization } : {}) },
        body: req.body,
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect is not followed: the message (and the credentials) go to the configured origin or nowhere.
        redirect: 'manual',
      });
      status = res.status;
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location');
        return { ok: false, attempts: i, status, detail: clean(`HTTP ${res.status} redirect to ${location ? originOf(location, target.url) : '?'} not followed (set the URL to the final one)`) };
      }
      // The answer's first few KB: what the service said (a refusal's reason, a pause asked for).
      const text = await res.text().then((t) => t.slice(0, 4096), () => '');
      const said = serviceError(text);
      if (res.ok) return { ok: true, attempts: i, status, detail: clean(`HTTP ${res.status}${said && said.length < 60 ? ` ${said}` : ''}`) };
      detail = `HTTP ${res.status}${said ? `: ${said}` : ''}`;
      if (res.status < 500 && res.status !== 429) return { ok: false, attempts: i, status, detail: clean(detail) };
      // Rate limited, or down for a while: the service says when to come back (within bounds).
      wait = retryAfterMs(res.headers.get('retry-after'), Date.now()) ?? bodyRetryAfterMs(text);
      if (wait !== null) detail += ` (Retry-After ${Math.round(wait / 100) / 10} s)`;
    } catch (err) {
      detail = describeFetchError(err, timeoutMs);
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, wait ?? 250 * 4 ** (i - 1)));
  }
  return { ok: false, attempts, status, detail: clean(detail) };
}

/**
 * The alert (or a digest's or a test's message) as JSON. Its Idempotency-Key is the alert's id and
 * count (`key` for what is not an alert): the same on every try.
 */
export async function deliverWebhook(
  url: string,
  body: OutgoingAlert | Readonly<Record<string, unknown>>,
  opts: { timeoutMs?: number; attempts?: number; key?: string; secrets?: readonly string[] } = {},
): Promise<WebhookResult> {
  if (!splitCredentials(url)) return { ok: false, attempts: 0, detail: 'the webhook is not a valid URL; it is not shown, as it may hold a secret' };
  const key = opts.key ?? `pguard-${String(body.id)}-${String(body.count)}`;
  const res = await postWithRetries({
    url, body: JSON.stringify(body), ...(opts.secrets ? { secrets: opts.secrets } : {}),
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
  }, opts);
  return { ok: res.ok, attempts: res.attempts, detail: res.detail };
}
