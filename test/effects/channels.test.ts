import { describe, expect, it } from 'vitest';
import { deliverDesktop, hasDisplay } from '../../src/effects/channels/desktop.js';
import { deliverWebhook, MAX_RETRY_AFTER_MS, redactWebhook, retryAfterMs, splitCredentials } from '../../src/effects/channels/webhook.js';
import type { Alert } from '../../src/core/alerts.js';
import { localHttpServer } from '../helpers/local-server.js';

const alert: Alert = {
  id: 'a1', at: '2026-01-01T00:00:00.000Z', last_at: '2026-01-01T00:00:00.000Z', process: 'bot', kind: 'crashed',
  severity: 'warning', message: 'died', evidence: {}, count: 1, acknowledged: false, notified_at: null,
};

describe('alert channels', () => {
  it('desktop is a silent no-op without a display', async () => {
    if (process.platform !== 'linux') return;
    expect(hasDisplay({})).toBe(false);
    const t0 = Date.now();
    await expect(deliverDesktop('bot crashed', 'exited', {})).resolves.toEqual({ ok: false, detail: 'skipped: no display', skipped: true });
    expect(Date.now() - t0).toBeLessThan(100);
  });

  it('webhook retries a 5xx and gives up after its attempts, saying why', async () => {
    let calls = 0;
    const server = await localHttpServer((_req, res) => { calls++; res.writeHead(503).end(); });
    try {
      const res = await deliverWebhook(`${server.url}/`, alert, { attempts: 2, timeoutMs: 1000 });
      expect(res).toEqual({ ok: false, attempts: 2, detail: 'HTTP 503' });
      expect(calls).toBe(2);
    } finally {
      await server.close();
    }
  });

  // Issue 25 (delivery): a rate-limited service says when to come back; every try is the same alert.
  it('webhook honours a 429\'s Retry-After (seconds), and sends one Idempotency-Key for the alert on every try', async () => {
    const seen: { at: number; key: string | undefined }[] = [];
    const server = await localHttpServer((req, res) => {
      seen.push({ at: Date.now(), key: req.headers['idempotency-key'] as string | undefined });
      if (seen.length === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200).end();
    });
    try {
      const res = await deliverWebhook(`${server.url}/`, alert, { attempts: 3, timeoutMs: 1000 });
      expect(res).toEqual({ ok: true, attempts: 2, detail: 'HTTP 200' });
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950); // not the 250 ms pause of a plain retry
      expect(seen.map((x) => x.key)).toEqual(['pguard-a1-1', 'pguard-a1-1']);
    } finally {
      await server.close();
    }
  });

  it('Retry-After: seconds or an HTTP date, bounded; nothing for a header that does not parse', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Fri, 04 Dec 2026 12:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('3600', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('Fri, 04 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });

  it('webhook does not retry a 4xx', async () => {
    let calls = 0;
    const server = await localHttpServer((_req, res) => { calls++; res.writeHead(404).end(); });
    try {
      expect(await deliverWebhook(`${server.url}/`, alert)).toEqual({ ok: false, attempts: 1, detail: 'HTTP 404' });
      expect(calls).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('webhook does not follow a redirect to another origin with the alert (redirect regression)', async () => {
    let elsewhere = 0;
    const other = await localHttpServer((_req, res) => { elsewhere++; res.end('ok'); });
    const server = await localHttpServer((_req, res) => { res.writeHead(302, { location: `${other.url}/steal` }).end(); });
    try {
      const res = await deliverWebhook(`${server.url}/hook`, alert);
      // Where to, by origin only: a Location often repeats the webhook's secret path.
      expect(res).toEqual({ ok: false, attempts: 1, detail: `HTTP 302 redirect to ${other.url}/… not followed (set the URL to the final one)` });
      expect(elsewhere).toBe(0);
    } finally {
      await server.close();
      await other.close();
    }
  });

  it('webhook sends user:pass@ as Authorization: Basic, percent-decoded as curl does, to the URL without them', async () => {
    const seen: { url?: string; auth?: string }[] = [];
    const server = await localHttpServer((req, res) => { seen.push({ url: req.url, auth: req.headers.authorization }); res.end('ok'); });
    try {
      const url = `http://me%40example.com:p%3Ass@127.0.0.1:${server.port}/hook?k=v`;
      expect(await deliverWebhook(url, alert)).toEqual({ ok: true, attempts: 1, detail: 'HTTP 200 ok' });
      expect(seen).toEqual([{ url: '/hook?k=v', auth: `Basic ${Buffer.from('me@example.com:p:ss').toString('base64')}` }]);
      expect(splitCredentials(url)).toEqual({ url: `http://127.0.0.1:${server.port}/hook?k=v`, authorization: expect.stringMatching(/^Basic /) });
      expect(splitCredentials(`http://127.0.0.1:${server.port}/x`)).toEqual({ url: `http://127.0.0.1:${server.port}/x`, authorization: null });
    } finally {
      await server.close();
    }
  });

  it('webhook answers never hold the URL, its credentials or its path: refused, unparsable, timed out', async () => {
    const closed = await localHttpServer(() => undefined);
    const port = closed.port;
    await closed.close();
    const refused = await deliverWebhook(`http://u:hunter2pw@127.0.0.1:${port}/T0/B0/secretpath`, alert, { attempts: 1 });
    expect(refused).toEqual({ ok: false, attempts: 1, detail: 'connection refused' });
    expect(await deliverWebhook('http://u:hunter2pw@[127.0.0.1/hook', alert)).toEqual({ ok: false, attempts: 0, detail: 'the webhook is not a valid URL; it is not shown, as it may hold a secret' });
    const hang = await localHttpServer(() => undefined);
    try {
      expect(await deliverWebhook(`${hang.url}/secretpath`, alert, { attempts: 1, timeoutMs: 200 })).toEqual({ ok: false, attempts: 1, detail: 'no answer within 0.2 s' });
    } finally {
      await hang.close();
    }
  });

  it('redactWebhook takes out the URL, its credentials (raw and decoded) and its path, and any other user:pass@', () => {
    const url = 'https://bot:p%40ssw0rd@hooks.example.com/services/T0/B0/XYZ?token=abc';
    expect(redactWebhook(`Request cannot be constructed from a URL that includes credentials: ${url}`, url)).toBe('Request cannot be constructed from a URL that includes credentials: …');
    expect(redactWebhook('to https://hooks.example.com/services/T0/B0/XYZ?token=abc', url)).toBe('to https://hooks.example.com…');
    expect(redactWebhook('password p@ssw0rd and p%40ssw0rd', url)).toBe('password … and …');
    expect(redactWebhook('old line: ftp://x:y@elsewhere/z', undefined)).toBe('old line: ftp://…@elsewhere/z');
  });
});
