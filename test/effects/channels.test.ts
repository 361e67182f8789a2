import { describe, expect, it } from 'vitest';
import { deliverDesktop, hasDisplay } from '../../src/effects/channels/desktop.js';
import { deliverWebhook } from '../../src/effects/channels/webhook.js';
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
    await expect(deliverDesktop(alert, {})).resolves.toBeUndefined();
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
      expect(res).toEqual({ ok: false, attempts: 1, detail: `HTTP 302 redirect to ${other.url}/steal not followed (set the webhook to the final URL)` });
      expect(elsewhere).toBe(0);
    } finally {
      await server.close();
      await other.close();
    }
  });
});
