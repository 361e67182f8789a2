// Issue 22 ("Only the user's own, round two"), points 11 and 12: a ledger deleted whole is reported,
// not taken for a ledger never begun; a webhook URL's credentials travel in a header, never into a
// log, the ledger or any output, and a failed delivery is never recorded as a notification.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localHttpServer } from '../helpers/local-server.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRET = 's3cr3t-Pa55';

/** Every regular file under `dir`, as text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return []; }
  return names.flatMap((n) => {
    const p = join(dir, n);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return [];
    if (st.isDirectory()) return filesUnder(p);
    return st.isFile() ? [{ path: p, text: readFileSync(p, 'utf8') }] : [];
  });
}

/** Where the secret shows: files of the state and config folders (the registry itself holds it), and what commands print. */
async function leaks(t: TmpRegistry): Promise<string[]> {
  const found = [...filesUnder(t.stateDir), ...filesUnder(join(t.dir, 'config'))]
    .filter((f) => f.text.includes(SECRET)).map((f) => f.path);
  for (const args of [['status'], ['status', '--json'], ['alerts', '--all'], ['alerts', '--all', '--json'], ['info', '--json'], ['history', '--json'], ['audit', 'verify', '--json'], ['healthcheck', '--json']]) {
    const res = await t.cli(args);
    if (`${res.stdout}\n${res.stderr}`.includes(SECRET)) found.push(`pguard ${args.join(' ')}`);
  }
  return found;
}

const entries = (t: TmpRegistry) => t.ledger();

async function startedAndStopped(t: TmpRegistry): Promise<void> {
  await t.cli(['register', 'bot', 'exec sleep 1000']);
  await t.cli(['start', 'bot', '--no-wait']);
  await waitFor(async () => (await t.status('bot')).status === 'running', { what: 'bot to run' });
  await t.cli(['stop', 'bot']);
  expect(await t.cli(['audit', 'verify'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ entries/) });
}

describe('a ledger deleted whole (issue 22, point 11)', () => {
  it('is reported when ledger.jsonl and ledger.head are deleted and the process records stay', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    rmSync(join(t.stateDir, 'ledger.jsonl'));
    rmSync(join(t.stateDir, 'ledger.head'));
    const res = await t.cli(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^TAMPERED: ledger\.jsonl is missing, and so is ledger\.head, but a ledger was begun here on \d{4}-\d\d-\d\dT[\d:.]+Z \(its entry 1 is [0-9a-f]{12}…, as .+\/config\/pguard\/ledgers\/[0-9a-f]{16}\.json records, outside the state directory\): it was deleted or emptied\. If you deleted it yourself, delete that record to begin afresh\.$/);
    expect(res.stdout.split('\n')).toHaveLength(1);
    const json = await t.cli(['audit', 'verify', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, entries: 0, problem: { segment: 'ledger.jsonl', kind: 'tampered', message: expect.stringMatching(/^is missing, and so is ledger\.head/) } });
    // `audit head` has nothing to anchor, and says why.
    expect(await t.cli(['audit', 'head'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^pguard: the ledger does not verify \(ledger\.jsonl: is missing, and so is ledger\.head/) });
  });

  it('is reported from the run records alone when the record kept beside the key is gone too (a ledger begun before pguard kept one)', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    writeFileSync(join(t.stateDir, 'ledger.jsonl'), '');
    rmSync(join(t.stateDir, 'ledger.head'));
    rmSync(join(t.dir, 'config', 'pguard', 'ledgers'), { recursive: true, force: true });
    const res = await t.cli(['audit', 'verify']);
    expect(res).toMatchObject({ code: 1, stderr: '', stdout: 'TAMPERED: ledger.jsonl is empty, and ledger.head is missing, but procs/bot/runs.log records runs pguard wrote to the ledger: it was deleted or emptied.' });
    const json = JSON.parse((await t.cli(['audit', 'verify', '--json'])).stdout);
    expect(json).toMatchObject({ ok: false, problem: { segment: 'ledger.jsonl', line: 0, seq: null, kind: 'tampered' } });
  });

  it('is reported when every file of the state directory is deleted', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    for (const n of readdirSync(t.stateDir)) rmSync(join(t.stateDir, n), { recursive: true, force: true });
    const res = await t.cli(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^TAMPERED: ledger\.jsonl is missing, and so is ledger\.head, but a ledger was begun here on /);
  });

  it('is reported when a new ledger was begun after the old one was deleted', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    const firstHash = (JSON.parse(readFileSync(join(t.stateDir, 'ledger.jsonl'), 'utf8').split('\n', 1)[0]!) as { hash: string }).hash;
    rmSync(join(t.stateDir, 'ledger.jsonl'));
    rmSync(join(t.stateDir, 'ledger.head'));
    // The next event writes seq 1 of a fresh chain, signed with the user's key: intact by itself.
    const reg = await t.cli(['register', 'api', 'exec sleep 1000']);
    expect(reg.stderr).toMatch(/^pguard: the audit ledger in .+ was deleted \(begun on [^)]+\); a new one begins at seq 1: `pguard audit verify` reports it$/m);
    expect(entries(t)[0]).toMatchObject({ seq: 1, event: 'register', process: 'api' });
    const res = await t.cli(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^TAMPERED: ledger\.jsonl line 1 \(seq 1\) begins a new ledger, but the one begun here on \S+ \(its entry 1 is [0-9a-f]{12}…, as .+\.json records, outside the state directory\) is gone: it was deleted and pguard began again\. If you deleted it yourself, delete that record to accept this one\.$/);
    expect(res.stdout).toContain(`its entry 1 is ${firstHash.slice(0, 12)}…`);
  });

  it('leaves a fresh state directory empty and ok, even where the ledger key exists and records without a run were written', async () => {
    const other = tmpRegistry({});
    await other.cli(['register', 'x', 'exec sleep 1000']); // makes the key in other's config folder
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    const env = { XDG_CONFIG_HOME: join(other.dir, 'config') };
    await t.cli(['status'], { env });
    await t.cli(['stop', 'bot'], { env }); // writes procs/bot/state.json, no ledger entry
    await t.cli(['heartbeat', 'bot'], { env });
    const res = await t.cli(['audit', 'verify'], { env });
    expect(res).toMatchObject({ code: 0, stdout: 'ok: the ledger is empty', stderr: '' });
    expect(JSON.parse((await t.cli(['audit', 'verify', '--json'], { env })).stdout)).toMatchObject({ ok: true, entries: 0, problem: null });
  });
});

/** A webhook receiver on 127.0.0.1 that answers `status` and keeps what it got. */
async function receiver(status: number) {
  const got: { url: string; authorization: string | undefined; body: Record<string, unknown> }[] = [];
  const server = await localHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      got.push({ url: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  return { got, server };
}

/** A crash that raises one `crashed` alert and nothing after it. */
function crashingRegistry(t: TmpRegistry, webhook: string): void {
  writeFileSync(t.registry, JSON.stringify({ $settings: { webhook }, bot: { command: 'echo going down; exit 1', auto_restart: false } }));
}

describe('a webhook URL with credentials (issue 22, point 12)', () => {
  it('is delivered with them as Authorization: Basic, the way curl sends user:pass@, and records the delivery', async () => {
    const { got, server } = await receiver(200);
    try {
      const t = tmpRegistry({});
      crashingRegistry(t, `http://hook%40user:${SECRET}@127.0.0.1:${server.port}/hook?x=1`);
      await t.cli(['start', 'bot', '--no-wait']);
      await waitFor(() => got.length > 0, { what: 'the webhook to be called' });
      expect(got[0]).toMatchObject({ url: '/hook?x=1', authorization: `Basic ${Buffer.from(`hook@user:${SECRET}`).toString('base64')}`, body: { process: 'bot', kind: 'crashed' } });
      const done = await waitFor(() => entries(t).find((e) => e.event === 'notify'), { what: 'the delivery in the ledger' });
      const alert = entries(t).find((e) => e.event === 'alert')!;
      expect(alert.details).toMatchObject({ kind: 'crashed', notify: 'queued' });
      expect(alert.details).not.toHaveProperty('notified');
      expect(done).toMatchObject({ process: 'bot', details: { id: alert.details.id, kind: 'crashed', notified: true, channels: [{ channel: 'webhook', ok: true, attempts: 1, detail: 'HTTP 200' }] } });
      const [recorded] = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
      expect(recorded).toMatchObject({ notified_at: expect.any(String), delivery: { at: expect.any(String), notified: true, channels: [{ channel: 'webhook', ok: true }] } });
      expect((await t.cli(['info', '--json'])).stdout).toContain('"last_notify_failure": "none"');
      expect(await leaks(t)).toEqual([]);
      expect((await t.cli(['audit', 'verify'])).code).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('is never recorded as notified when the receiver refuses it: the ledger, the alert and notify.log say why, without the password', async () => {
    const { got, server } = await receiver(401);
    try {
      const t = tmpRegistry({});
      crashingRegistry(t, `http://u:${SECRET}@127.0.0.1:${server.port}/hook`);
      await t.cli(['start', 'bot', '--no-wait']);
      await waitFor(() => got.length > 0, { what: 'the webhook to be called' });
      const done = await waitFor(() => entries(t).find((e) => e.event === 'notify'), { what: 'the failed delivery in the ledger' });
      expect(done.details).toEqual({ id: expect.any(String), kind: 'crashed', notified: false, channels: [{ channel: 'webhook', type: 'webhook', ok: false, attempts: 1, detail: 'HTTP 401' }] });
      const [recorded] = JSON.parse((await t.cli(['alerts', '--json'])).stdout);
      expect(recorded).toMatchObject({ notified_at: null, delivery: { notified: false, channels: [{ channel: 'webhook', type: 'webhook', ok: false, attempts: 1, detail: 'HTTP 401' }] } });
      const human = await t.cli(['alerts']);
      expect(human.stdout.split('\n').at(-1)).toBe('    not delivered: webhook HTTP 401 (1 attempt)');
      expect(readFileSync(join(t.stateDir, 'notify.log'), 'utf8')).toMatch(/^\S+ webhook for bot crashed failed after 1 attempt \(HTTP 401\)\n$/);
      expect(await leaks(t)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('keeps its password out of every log and output when nobody listens on the port', async () => {
    // A port that was just free: listened on, then closed.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    });
    const t = tmpRegistry({});
    crashingRegistry(t, `http://u:${SECRET}@127.0.0.1:${port}/hook`);
    await t.cli(['start', 'bot', '--no-wait']);
    const logged = await waitFor(() => { try { return readFileSync(join(t.stateDir, 'notify.log'), 'utf8'); } catch { return ''; } }, { timeoutMs: 20_000, what: 'the failure in notify.log' });
    expect(logged.trim().replace(/^\S+ webhook for bot crashed /, '')).toBe('failed after 3 attempts (connection refused)');
    const done = await waitFor(() => entries(t).find((e) => e.event === 'notify'), { what: 'the failed delivery in the ledger' });
    expect(done.details).toMatchObject({ notified: false, channels: [{ channel: 'webhook', type: 'webhook', ok: false }] });
    expect(await leaks(t)).toEqual([]);
  });

  it('a webhook value the schema refuses is named without its text', async () => {
    const t = tmpRegistry({});
    const url = `htps://u:${SECRET}@127.0.0.1/hook`;
    writeFileSync(t.registry, JSON.stringify({ $settings: { webhook: url }, bot: { command: 'exec sleep 1000' } }));
    const res = await t.cli(['healthcheck']);
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).not.toContain(SECRET);
    // Said on stderr, as bad input is (the summary stays on stdout).
    expect(res.stderr).toContain(`"$settings".webhook: expected an http:// or https:// URL, got "htps:…" (a string of ${url.length} characters; the rest is not shown, as a webhook URL may hold a secret)`);
    expect(entries(t).some((e) => e.event === 'alert' && e.details.kind === 'registry-invalid')).toBe(true);
    expect(await leaks(t)).toEqual([]);
  });
});
