// Mail each alert through an SMTP relay with nodemailer, only ever over TLS: smtp:// must upgrade
// with STARTTLS (a server that does not offer it gets nothing), smtps:// is TLS from the start.
// Bounded like the webhook: a whole attempt (connect, TLS, login, send) has timeoutMs, and only a
// transient failure (no connection, no answer, an SMTP 4xx) is tried again; a 5xx is final. Every
// try of one alert carries the same Message-ID (its key), so a mailbox can drop a repeat.
// The password is a secret: the URL may not hold one, and what this returns never does.
import type { ChannelAnswer, NotifyMessage } from '../../core/notify-message.js';

export interface EmailConfig {
  /** smtp://[user@]host[:port] (STARTTLS, required: never sends in clear; port 587 by default) or smtps://[user@]host[:port] (TLS from the start, 465 by default). */
  readonly smtp: string;
  /** The SMTP password (a secret: never in `detail`). */
  readonly password?: string;
  readonly from: string;
  readonly to: readonly string[];
  /** PEM of extra CA certificates to trust (tests, a private mail relay); absent: the system's. */
  readonly ca?: string;
}

interface SmtpTarget {
  readonly host: string;
  readonly port: number;
  /** TLS from the start (smtps://); otherwise STARTTLS is required. */
  readonly secure: boolean;
  readonly user: string | null;
}

/** Where to connect, from the smtp URL; a string saying why not when it cannot be used (never the URL itself). */
export function parseSmtpUrl(url: string): SmtpTarget | string {
  let u: URL;
  try { u = new URL(url); } catch { return 'the smtp setting is not a URL (smtp://[user@]host[:port] or smtps://...)'; }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') return `the smtp URL must begin with smtp:// (STARTTLS) or smtps:// (TLS), not ${u.protocol}//`;
  // Checked before anything else is said about it: the rest of the URL is not repeated either.
  if (u.password) return 'the smtp URL holds a password: remove it and set the channel\'s password (from an environment variable) instead';
  if (!u.hostname) return 'the smtp URL has no host';
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash) return 'the smtp URL takes no path or query: smtp://[user@]host[:port]';
  const secure = u.protocol === 'smtps:';
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  let user: string | null = null;
  if (u.username) { try { user = decodeURIComponent(u.username); } catch { user = u.username; } }
  // [::1] -> ::1 for the socket.
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port, secure, user };
}

/** A Message-ID's left part holds dot-atom characters only: anything else in a key (a channel's name) becomes `-`, the same way every time. */
export function messageIdOf(key: string): string {
  const left = key.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '-').replace(/^\.+|\.+$/g, '').replace(/\.{2,}/g, '.');
  return `<${left || 'pguard'}@pguard>`;
}

/** The fields of a nodemailer error this reads. */
interface SmtpError {
  readonly code?: string;
  readonly originalCode?: string;
  readonly responseCode?: number;
  readonly response?: string;
  readonly command?: string;
  readonly message?: string;
  readonly cause?: { readonly code?: string; readonly name?: string; readonly message?: string };
}

const SOCKET_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', EPIPE: 'connection reset',
  ENOTFOUND: 'host not found', EAI_AGAIN: 'host name lookup failed (try again later)',
  EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'host unreachable',
};

/** Node's and OpenSSL's codes for a certificate that does not verify or a TLS handshake that fails. */
const TLS_FAILURE = /CERT|SELF_SIGNED|^UNABLE_TO_|^INVALID_CA$|^HOSTNAME_MISMATCH$|^PATH_LENGTH_EXCEEDED$|^INVALID_PURPOSE$|^ERR_TLS_|^ERR_SSL_/;

/** What the SMTP step was, in words, from nodemailer's `command`. */
function stepOf(command: string | undefined): string {
  if (!command) return 'the server';
  if (command.startsWith('AUTH')) return 'login refused';
  if (command === 'MAIL FROM') return 'sender refused';
  if (command === 'RCPT TO') return 'recipient refused';
  if (command === 'DATA' || command === 'DATA END' || command === 'MESSAGE') return 'message refused';
  if (command === 'CONN') return 'on connecting';
  return `${command} refused`;
}

/** One line of the server's reply: `535 5.7.8 Error: authentication failed`. */
function replyOf(response: string): string {
  return response.replace(/\s+/g, ' ').trim();
}

/** Why an attempt failed, in a few words, and whether trying again may help. */
function describeError(err: unknown, timeoutMs: number): { detail: string; transient: boolean } {
  const e = (err ?? {}) as SmtpError;
  const seconds = `${timeoutMs / 1000} s`;
  const reply = typeof e.response === 'string' && e.response ? replyOf(e.response) : null;
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  if (e.code === 'ETLS' && e.command === 'STARTTLS') {
    // requireTLS sends STARTTLS even when the EHLO did not offer it: the refusal is the answer.
    if (code !== null && code >= 400 && code < 500) return { detail: `STARTTLS refused for now (SMTP ${reply}); nothing was sent`, transient: true };
    if (code !== null) return { detail: `the server does not offer STARTTLS (SMTP ${reply}): smtp:// sends only over TLS, so nothing was sent (smtps:// if the server takes TLS from the start)`, transient: false };
    return { detail: `STARTTLS failed: ${e.message ?? 'no reason given'}; nothing was sent`, transient: false };
  }
  if (e.code === 'ETLS') return { detail: `TLS failed: ${(e.message ?? '').replace(/^Error initiating TLS - /, '') || 'no reason given'}; nothing was sent`, transient: false };
  if (code !== null && reply) {
    return { detail: `${stepOf(e.command)}: SMTP ${reply}`, transient: code >= 400 && code < 500 };
  }
  if (e.code === 'EABORT') return { detail: `no answer within ${seconds}`, transient: true };
  if (e.code === 'ETIMEDOUT') {
    const connecting = /^Connection timeout/.test(e.message ?? '');
    return { detail: connecting ? `no connection within ${seconds}` : `no answer within ${seconds}`, transient: true };
  }
  const sys = e.originalCode ?? e.cause?.code;
  // A certificate that does not verify comes from the socket as ESOCKET with OpenSSL's code: it will not verify next time either.
  if (sys && TLS_FAILURE.test(sys)) return { detail: `TLS failed: ${e.message ?? sys} (${sys}); nothing was sent`, transient: false };
  if (e.code === 'ESOCKET' || e.code === 'ECONNECTION' || e.code === 'EDNS') {
    const words = sys ? SOCKET_WORDS[sys] : undefined;
    if (words) return { detail: words, transient: true };
    if (e.code === 'ECONNECTION' && /closed/i.test(e.message ?? '')) return { detail: 'the server closed the connection', transient: true };
    return { detail: sys ?? e.message ?? e.code, transient: true };
  }
  // Missing credentials, a malformed reply, a message too large, a bad address: not a passing trouble.
  return { detail: e.message ?? String(err), transient: false };
}

/** `text` without the password (nor its base64 in an AUTH PLAIN or LOGIN line), on one line, cut to ~200 characters. */
function clean(text: string, user: string | null, password: string | undefined): string {
  let out = text.replace(/\s+/g, ' ').trim();
  if (password) {
    const secrets = [
      password, encodeURIComponent(password), Buffer.from(password).toString('base64'),
      Buffer.from(`\0${user ?? ''}\0${password}`).toString('base64'),
    ].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
    for (const s of secrets) out = out.split(s).join('…');
  }
  return out.length > 200 ? `${out.slice(0, 199)}…` : out;
}

export async function deliverEmail(
  cfg: EmailConfig,
  msg: NotifyMessage,
  opts: { timeoutMs?: number; attempts?: number } = {},
): Promise<ChannelAnswer> {
  const attempts = Math.max(1, opts.attempts ?? 2);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const target = parseSmtpUrl(cfg.smtp);
  const answer = (ok: boolean, tries: number, detail: string): ChannelAnswer =>
    ({ ok, attempts: tries, detail: clean(detail, typeof target === 'string' ? null : target.user, cfg.password) });
  if (typeof target === 'string') return answer(false, 0, target);
  if (cfg.to.length === 0) return answer(false, 0, 'no recipient: the channel\'s to is empty');
  // A login only with both halves: a password with no user, or a user with no password, is a setting left out, not "no login".
  if (target.user !== null && !cfg.password) return answer(false, 0, `the smtp URL names the user ${target.user} but no password is set`);
  if (target.user === null && cfg.password) return answer(false, 0, 'a password is set but the smtp URL names no user (smtp://user@host)');

  let createTransport: typeof import('nodemailer').createTransport;
  try {
    // Loaded only when an email is sent: not on every CLI start.
    ({ createTransport } = await import('nodemailer'));
  } catch (err) {
    return answer(false, 0, `nodemailer could not be loaded: ${(err as Error).message}`);
  }
  // `ca` replaces Node's trusted roots: the extra certificates go beside them, not instead.
  const ca = cfg.ca ? [...(await import('node:tls')).rootCertificates, cfg.ca] : undefined;

  let detail = '';
  for (let i = 1; i <= attempts; i++) {
    let transient = true;
    try {
      const transport = createTransport({
        host: target.host, port: target.port, secure: target.secure,
        // smtp://: STARTTLS or nothing, never a fall-back to clear text.
        requireTLS: !target.secure, ignoreTLS: false, opportunisticTLS: false,
        ...(target.user !== null ? { auth: { user: target.user, pass: cfg.password } } : {}),
        tls: { ...(ca ? { ca } : {}), rejectUnauthorized: true },
        connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs, dnsTimeout: timeoutMs,
        // After QUIT, a server that never closes its side does not hold the process for nodemailer's 5 s.
        socketCloseTimeout: Math.min(timeoutMs, 1000),
        logger: false, debug: false,
      });
      try {
        const info = await transport.sendMail({
          from: cfg.from, to: [...cfg.to],
          subject: `[pguard] ${msg.title}`, text: msg.text,
          messageId: messageIdOf(msg.key),
          headers: {
            'X-Pguard-Severity': msg.severity, 'X-Pguard-Kind': msg.kind,
            ...(msg.process !== null ? { 'X-Pguard-Process': msg.process } : {}),
          },
          // The whole attempt, not each step: nodemailer's own timeouts are per phase.
          signal: AbortSignal.timeout(timeoutMs),
        });
        const response = typeof info.response === 'string' ? replyOf(info.response) : '';
        // Some recipients refused, the others took it: sent, and trying again would repeat it to them.
        const refused = Array.isArray(info.rejected) && info.rejected.length > 0
          ? `; refused for ${info.rejected.join(', ')}` : '';
        return answer(true, i, `accepted by the server${response ? ` (${response})` : ''}${refused}`);
      } finally {
        transport.close();
      }
    } catch (err) {
      ({ detail, transient } = describeError(err, timeoutMs));
    }
    if (!transient) return answer(false, i, detail);
    if (i < attempts) await new Promise((r) => setTimeout(r, 500 * i));
  }
  return answer(false, attempts, detail);
}
