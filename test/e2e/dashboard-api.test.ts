// The dashboard's HTTP API against a real server on 127.0.0.1 and real processes: the token, the
// Host and Origin checks, read-only, 404s, every control, the event stream.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { APPS } from '../helpers/run-cli.js';
import { startDashboard } from '../helpers/dashboard.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const forever = `sh ${APPS}forever.sh`;

/** A raw request, to send a Host header fetch would not. */
function raw(base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('pguard dashboard: the HTTP API', () => {
  it('prints its address with a fresh 128-bit-or-more token, then how to stop it', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const a = await startDashboard(t);
    // Its second line may follow the first a moment later (two writes): wait for it.
    await waitFor(() => a.stdout().endsWith('Ctrl-C stops it\n') || null, { what: 'the second line' });
    expect(a.stdout()).toMatch(/^pguard dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32,}\nserving .*; Ctrl-C stops it\n$/);
    expect(Buffer.from(a.token, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    const b = await startDashboard(t);
    expect(b.token).not.toBe(a.token);
  });

  it('answers nothing without the token (a header, never a cookie); the page itself holds no data', async () => {
    const t = tmpRegistry({ bot: { command: forever, env: { SECRET_TOKEN: 'hunter2' } } });
    const d = await startDashboard(t);
    for (const path of ['/api/status', '/api/alerts', '/api/events', '/api/logs/bot', '/nowhere']) {
      const res = await d.api(path, { auth: false });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('bot');
    }
    expect((await d.api('/api/status', { auth: false, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // A cookie or a query carrying the token opens nothing: a browser sends a 127.0.0.1 cookie to
    // every port there (attacks-dashboard.test.ts), and a query lands in logs.
    expect((await d.api('/api/status', { auth: false, headers: { cookie: `pguard_token=${d.token}` } })).status).toBe(401);
    expect((await d.api(`/api/status?token=${d.token}`, { auth: false })).status).toBe(401);
    const bare = await d.api('/', { auth: false });
    expect(bare.status).toBe(200);
    expect(bare.headers.get('set-cookie')).toBeNull();
    const html = await bare.text();
    expect(html).not.toContain('hunter2');
    expect(html).not.toContain(d.token);
    const page = await d.api('/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    // No env values in any answer.
    const all = await Promise.all(['/api/status', '/api/alerts', '/api/meta', '/api/history'].map(async (p) => (await d.api(p)).text()));
    expect(all.join('')).not.toContain('hunter2');
  });

  it('refuses a Host that is not its own (DNS rebinding) and a POST from another Origin (CSRF)', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const d = await startDashboard(t);
    const auth = { authorization: `Bearer ${d.token}` };
    expect((await raw(d.base, '/api/status', { ...auth, host: 'evil.example:80' })).status).toBe(403);
    expect((await raw(d.base, '/api/status', { ...auth, host: `localhost:${new URL(d.base).port}` })).status).toBe(200);
    const csrf = await d.api('/api/processes/bot/start', { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(csrf.status).toBe(403);
    expect(await csrf.json()).toEqual({ error: 'a request from another origin' });
    expect((await t.status('bot')).status).toBe('never-started');
    expect((await d.api('/api/processes/bot/start', { method: 'POST', headers: { origin: d.base } })).status).toBe(200);
  });

  it('carries out every control on the real processes, and answers unknown names with 404', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const d = await startDashboard(t);
    const post = async (path: string, body?: unknown) => d.api(path, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
    const started = await post('/api/processes/bot/start');
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject([{ name: 'bot', outcome: 'started' }]);
    const pid = (await t.status('bot')).pid;
    expect(pid).toBeGreaterThan(0);
    const restarted = await (await post('/api/processes/bot/restart')).json();
    expect(restarted).toMatchObject([{ name: 'bot', outcome: 'started' }]);
    expect((await t.status('bot')).pid).not.toBe(pid);
    expect(await (await post('/api/processes/bot/stop')).json()).toMatchObject([{ name: 'bot', outcome: 'stopped' }]);
    expect((await t.status('bot')).status).toBe('stopped');
    const nope = await post('/api/processes/nope/start');
    expect(nope.status).toBe(404);
    expect((await nope.json()).error).toMatch(/^no process named "nope"/);
    const noRollback = await post('/api/processes/bot/rollback');
    expect(noRollback.status).toBe(409);
    expect((await post('/api/alerts/ack', { ids: ['deadbeef'] })).status).toBe(404);
    expect((await post('/api/alerts/ack', { ids: 'x' })).status).toBe(400);
    expect((await d.api('/api/logs/nope')).status).toBe(404);
    expect((await d.api('/api/nothing')).status).toBe(404);
  });

  it('answers with the same JSON as the CLI, and acknowledges alerts', async () => {
    const t = tmpRegistry({ crashy: { command: 'sh -c "echo boom; exit 3"', max_restarts: 0 } });
    await t.cli(['start', 'crashy']);
    const d = await startDashboard(t);
    const cli = async (args: string[]) => JSON.parse((await t.cli([...args, '--json'])).stdout);
    const strip = (views: { uptime_s?: unknown }[]) => views.map(({ uptime_s: _u, ...v }) => v);
    expect(strip(await (await d.api('/api/status')).json())).toEqual(strip(await cli(['status'])));
    const alerts = await (await d.api('/api/alerts')).json();
    expect(alerts).toEqual(await cli(['alerts']));
    // History but for what depends on the moment it is asked (the window's start, uptime so far).
    const timeless = ({ since: _s, summary, ...h }: { since: unknown; summary: { uptime_percent?: unknown }[] }) => ({ ...h, summary: summary.map(({ uptime_percent: _u, ...x }) => x) });
    expect(timeless(await (await d.api('/api/history?name=crashy&since=1h')).json())).toEqual(timeless(await cli(['history', 'crashy', '--since', '1h'])));
    expect(await (await d.api('/api/logs/crashy?lines=5')).json()).toMatchObject({ name: 'crashy', lines: ['boom'] });
    const ack = await d.api('/api/alerts/ack', { method: 'POST', body: JSON.stringify({ ids: [alerts[0].id] }) });
    expect(await ack.json()).toEqual({ acknowledged: 1, remaining: 0 });
    expect(await cli(['alerts'])).toEqual([]);
  });

  it('--read-only refuses every POST with 403 and still shows everything', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const d = await startDashboard(t, ['--read-only']);
    expect((await d.api('/api/processes/bot/start', { method: 'POST' })).status).toBe(403);
    expect((await d.api('/api/alerts/ack', { method: 'POST', body: '{"all":true}' })).status).toBe(403);
    expect((await t.status('bot')).status).toBe('never-started');
    expect((await d.api('/api/meta').then((r) => r.json())).read_only).toBe(true);
  });

  it('streams each ledger entry as a Server-Sent Event with its seq as the id, and resumes after Last-Event-ID', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const d = await startDashboard(t);
    const events: { id: number; event: string; process: string }[] = [];
    const abort = new AbortController();
    const res = await d.api('/api/events', { signal: abort.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk);
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id && data) events.push({ id: Number(id), ...JSON.parse(data) });
        }
      }
    })().catch(() => undefined);
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(() => events.some((e) => e.event === 'start'), { timeoutMs: 5000, what: 'the start event' });
    await t.cli(['stop', 'bot']);
    await waitFor(() => events.some((e) => e.event === 'stop'), { timeoutMs: 5000, what: 'the stop event' });
    abort.abort();
    await reading;
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // A page that reconnects after the start gets what came after it, not before.
    const startId = events.find((e) => e.event === 'start')!.id;
    const again = await d.api('/api/events', { headers: { 'last-event-id': String(startId) } });
    const reader = (again.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!/event: ledger[\s\S]*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const resumed = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(resumed.length).toBeGreaterThan(0);
    expect(Math.min(...resumed)).toBe(startId + 1);
  });

  it('warns on stderr when told to listen beyond loopback', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const d = await startDashboard(t, ['--host', '0.0.0.0']);
    expect(d.stderr()).toBe('pguard: warning: listening on 0.0.0.0: anyone who can reach it and has the token can start and stop your processes.\n');
    expect((await raw(d.base, '/api/status', { authorization: `Bearer ${d.token}`, host: `127.0.0.1:${new URL(d.base).port}` })).status).toBe(200);
  });
});
