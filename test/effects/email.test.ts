// Issue 25: the email channel against a real SMTP server (smtp-server, nodemailer's own) on
// 127.0.0.1 with a certificate made here: STARTTLS required, login, headers, bounded time,
// retries on a 4xx only, the same Message-ID for the same alert, and nodemailer loaded lazily.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alerts.js';
import { alertMessage } from '../../src/core/notify-message.js';
import { deliverEmail, messageIdOf, parseSmtpUrl } from '../../src/effects/channels/email.js';

const alert: Alert = {
  id: 'a7', at: '2026-01-01T00:00:00.000Z', last_at: '2026-01-01T00:00:00.000Z', process: 'api', kind: 'crashed',
  severity: 'critical', message: 'api exited with code 3', evidence: { code: 3, ran_s: 12, action: 'restarted' }, count: 2,
  acknowledged: false, notified_at: null,
};
const msg = alertMessage(alert, 'web-1', 'mail');
const PASSWORD = 'correct-horse-battery';

let dir = '';
let key = '';
let cert = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pguard-email-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'pipe' });
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface Received {
  readonly secureAtMail: boolean;
  readonly from: string | false;
  readonly to: string[];
  readonly raw: string;
}

/** What the server saw: each login (and whether it came over TLS), each RCPT TO, each message. */
interface Seen {
  logins: { user: string | null | undefined; pass: string | null | undefined; secure: boolean }[];
  rcpts: number;
  mails: Received[];
}

async function smtpServer(options: SMTPServerOptions, rcpt?: (n: number) => Error | null): Promise<{ port: number; seen: Seen; close(): Promise<void> }> {
  const seen: Seen = { logins: [], rcpts: 0, mails: [] };
  const server = new SMTPServer({
    key, cert, logger: false, closeTimeout: 500, authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, session, cb) {
      seen.logins.push({ user: auth.username, pass: auth.password, secure: session.secure });
      if (auth.username === 'ops@example.com' && auth.password === PASSWORD) cb(null, { user: auth.username });
      // smtp-server answers 535 with this text. A careless server that repeats the password it got: the detail must still not.
      else cb(new Error(`Invalid username or password: ${auth.password}`));
    },
    onRcptTo(_address, _session, cb) { cb(rcpt?.(++seen.rcpts) ?? null); },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen.mails.push({
          secureAtMail: session.secure, from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb(null, 'queued as T1');
      });
    },
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return { port, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A header of a raw message, unfolded. */
function header(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
/** The text body, decoded when nodemailer sent it quoted-printable (it does for any non-ASCII, as the `·` in an alert's text). */
function bodyOf(raw: string): string {
  let body = raw.split('\r\n\r\n').slice(1).join('\r\n\r\n');
  if (header(raw, 'Content-Transfer-Encoding')?.toLowerCase() === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body.replace(/\r\n/g, '\n').replace(/\n$/, '');
}

const config = (port: number, extra: Partial<Parameters<typeof deliverEmail>[0]> = {}) => ({
  smtp: `smtp://ops%40example.com@127.0.0.1:${port}`, password: PASSWORD, from: 'pguard@example.com',
  to: ['oncall@example.com', 'lead@example.com'], ca: cert, ...extra,
});

describe('email channel', () => {
  it('sends over STARTTLS: the login (user from the URL, decoded, and the password), the envelope, Subject, Message-ID, headers and text', async () => {
    const server = await smtpServer({});
    try {
      const res = await deliverEmail(config(server.port), msg, { timeoutMs: 5000 });
      expect(res.ok).toBe(true);
      expect(res.attempts).toBe(1);
      expect(res.detail).toMatch(/^accepted by the server \(250 .*queued as T1\)$/);
      expect(server.seen.logins).toEqual([{ user: 'ops@example.com', pass: PASSWORD, secure: true }]);
      expect(server.seen.mails).toHaveLength(1);
      const mail = server.seen.mails[0]!;
      expect(mail.secureAtMail).toBe(true);
      expect(mail.from).toBe('pguard@example.com');
      expect(mail.to).toEqual(['oncall@example.com', 'lead@example.com']);
      expect(header(mail.raw, 'Subject')).toBe('[pguard] api crashed on web-1');
      expect(header(mail.raw, 'Message-ID')).toBe('<pguard-a7-2-mail@pguard>');
      expect(header(mail.raw, 'X-Pguard-Severity')).toBe('critical');
      expect(header(mail.raw, 'X-Pguard-Kind')).toBe('crashed');
      expect(header(mail.raw, 'X-Pguard-Process')).toBe('api');
      expect(header(mail.raw, 'Content-Type')).toBe('text/plain; charset=utf-8');
      expect(bodyOf(mail.raw)).toBe(msg.text);
    } finally {
      await server.close();
    }
  });

  it('smtps:// is TLS from the start; no user in the URL is no login; no X-Pguard-Process without a process', async () => {
    const server = await smtpServer({ secure: true, authOptional: true });
    try {
      const digest = { ...msg, process: null, kind: 'digest' as const, key: 'pguard-digest-a1.1-mail' };
      const res = await deliverEmail({ ...config(server.port), smtp: `smtps://127.0.0.1:${server.port}`, password: undefined }, digest, { timeoutMs: 5000 });
      expect(res).toMatchObject({ ok: true, attempts: 1 });
      expect(server.seen.logins).toEqual([]);
      expect(server.seen.mails[0]!.secureAtMail).toBe(true);
      expect(header(server.seen.mails[0]!.raw, 'X-Pguard-Process')).toBeUndefined();
      expect(header(server.seen.mails[0]!.raw, 'X-Pguard-Kind')).toBe('digest');
    } finally {
      await server.close();
    }
  });

  it('smtp:// to a server without STARTTLS sends nothing, not even the login, though the server would take both in clear', async () => {
    const server = await smtpServer({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    try {
      const res = await deliverEmail(config(server.port), msg, { timeoutMs: 5000 });
      expect(res.ok).toBe(false);
      expect(res.attempts).toBe(1);
      expect(res.detail).toMatch(/^the server does not offer STARTTLS \(SMTP 5\d\d /);
      expect(res.detail).toContain('nothing was sent');
      expect(server.seen.logins).toEqual([]);
      expect(server.seen.rcpts).toBe(0);
      expect(server.seen.mails).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a wrong password: the 535 is final (one attempt), and the detail does not hold the password', async () => {
    const server = await smtpServer({});
    const wrong = 'wrong-secret-pw-4711';
    try {
      const res = await deliverEmail(config(server.port, { password: wrong }), msg, { timeoutMs: 5000, attempts: 3 });
      expect(res.ok).toBe(false);
      expect(res.attempts).toBe(1);
      expect(res.detail).toMatch(/^login refused: SMTP 535 Invalid username or password: …$/);
      expect(res.detail).not.toContain(wrong);
      expect(res.detail).not.toContain(Buffer.from(`\0ops@example.com\0${wrong}`).toString('base64'));
      expect(res.detail.length).toBeLessThanOrEqual(200);
      expect(server.seen.logins).toHaveLength(1);
      expect(server.seen.logins[0]!.secure).toBe(true);
      expect(server.seen.mails).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a server that takes the connection and never answers: each attempt ends at timeoutMs, and the whole call is bounded', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    let accepted = 0;
    silent.on('connection', () => { accepted++; });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    try {
      const timeoutMs = 1000;
      const t0 = Date.now();
      const res = await deliverEmail(config(port), msg, { timeoutMs, attempts: 2 });
      const took = Date.now() - t0;
      expect(res).toEqual({ ok: false, attempts: 2, detail: 'no answer within 1 s' });
      expect(accepted).toBe(2);
      expect(took).toBeGreaterThanOrEqual(2 * timeoutMs - 100);
      // Two attempts, one pause between them (0.5 s), and slack for a loaded machine.
      expect(took).toBeLessThan(2 * timeoutMs + 500 + 1500);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a slow server, each step within timeoutMs but not the whole: the attempt still ends at timeoutMs', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const later = (cb: () => void) => { const t = setTimeout(() => { timers.delete(t); cb(); }, 700); timers.add(t); };
    const server = await smtpServer({
      onMailFrom(_address, _session, cb) { later(() => cb()); },
      onRcptTo(_address, _session, cb) { later(() => cb()); },
    });
    try {
      const t0 = Date.now();
      const res = await deliverEmail(config(server.port), msg, { timeoutMs: 1000, attempts: 1 });
      const took = Date.now() - t0;
      expect(res).toEqual({ ok: false, attempts: 1, detail: 'no answer within 1 s' });
      expect(took).toBeLessThan(1000 + 1500); // slack for a loaded machine; without the bound it is delivered, ok
      expect(server.seen.mails).toEqual([]);
    } finally {
      for (const t of timers) clearTimeout(t);
      await server.close();
    }
  });

  it('a certificate the client does not trust is final and sends nothing; a closed port is retried and said so', async () => {
    const server = await smtpServer({});
    try {
      const res = await deliverEmail(config(server.port, { ca: undefined }), msg, { timeoutMs: 5000, attempts: 2 });
      expect(res.ok).toBe(false);
      expect(res.attempts).toBe(1);
      expect(res.detail).toMatch(/^TLS failed: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); nothing was sent$/);
      expect(server.seen.logins).toEqual([]);
      expect(server.seen.mails).toEqual([]);
    } finally {
      await server.close();
    }
    // A port just freed: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    expect(await deliverEmail(config(closed), msg, { timeoutMs: 5000, attempts: 2 })).toEqual({ ok: false, attempts: 2, detail: 'connection refused' });
  });

  it('a 451 for the first RCPT TO is tried again, and the second attempt is accepted', async () => {
    const server = await smtpServer({}, (n) => (n === 1 ? Object.assign(new Error('Greylisted, try again later'), { responseCode: 451 }) : null));
    try {
      const res = await deliverEmail(config(server.port, { to: ['oncall@example.com'] }), msg, { timeoutMs: 5000 });
      expect(res.ok).toBe(true);
      expect(res.attempts).toBe(2);
      expect(server.seen.rcpts).toBe(2);
      expect(server.seen.logins).toHaveLength(2);
      expect(server.seen.mails).toHaveLength(1);
      expect(server.seen.mails[0]!.to).toEqual(['oncall@example.com']);
    } finally {
      await server.close();
    }
  });

  it('the same alert on the same channel always has the same Message-ID; another count another one', async () => {
    const server = await smtpServer({});
    try {
      for (const m of [msg, msg, alertMessage({ ...alert, count: 3 }, 'web-1', 'mail')]) {
        expect((await deliverEmail(config(server.port), m, { timeoutMs: 5000 })).ok).toBe(true);
      }
      const ids = server.seen.mails.map((m) => header(m.raw, 'Message-ID'));
      expect(ids).toEqual(['<pguard-a7-2-mail@pguard>', '<pguard-a7-2-mail@pguard>', '<pguard-a7-3-mail@pguard>']);
    } finally {
      await server.close();
    }
    // A key with characters a Message-ID cannot hold (a channel's name) is made one the same way each time.
    expect(messageIdOf('pguard-a1-1-ops mail <x>')).toBe('<pguard-a1-1-ops-mail--x-@pguard>');
    expect(messageIdOf('pguard-a1-1-ops mail <x>')).toBe(messageIdOf('pguard-a1-1-ops mail <x>'));
  });

  it('a password inside the URL is refused, unsent, and not repeated; the URL gives the port by scheme', async () => {
    const res = await deliverEmail({ smtp: 'smtp://ops:hunter2-secret@127.0.0.1:1', from: 'a@example.com', to: ['b@example.com'] }, msg);
    expect(res.ok).toBe(false);
    expect(res.attempts).toBe(0);
    expect(res.detail).toContain('password');
    expect(res.detail).not.toContain('hunter2-secret');
    expect(parseSmtpUrl('smtp://mail.example.com')).toEqual({ host: 'mail.example.com', port: 587, secure: false, user: null });
    expect(parseSmtpUrl('smtps://a%2Bb@mail.example.com')).toEqual({ host: 'mail.example.com', port: 465, secure: true, user: 'a+b' });
    expect(parseSmtpUrl('https://mail.example.com')).toMatch(/smtp:\/\//);
  });

  it('nodemailer is not imported at the top of the module, only inside deliverEmail', () => {
    const source = readFileSync(fileURLToPath(new URL('../../src/effects/channels/email.ts', import.meta.url)), 'utf8');
    // Any static import or re-export of it (but `import type`, which is erased) would load it with the module.
    const statements = source.match(/^\s*(import|export)\b[^;]*?from\s*['"][^'"]+['"]|^\s*import\s*['"][^'"]+['"]/gm) ?? [];
    const loading = statements.filter((s) => /['"]nodemailer(\/[^'"]*)?['"]/.test(s) && !/^\s*(import|export)\s+type\b/.test(s));
    expect(loading).toEqual([]);
    expect(source).not.toMatch(/require\(\s*['"]nodemailer/);
    expect(source).toMatch(/await import\('nodemailer'\)/);
  });
});
