// `pguard dashboard`: a local web page and its HTTP API over node:http. Every answer comes from the
// same app functions as the CLI's --json (status, alerts, history, the uptime timeline, logs, start,
// stop, restart, rollback, ack), on a context loaded afresh per request, so edits of the registry are seen.
// Safety: a random token on every API request, as a header only. The page (static, no data) reads
// it from the address's fragment (#token=..., which the browser never sends to any server), keeps it
// in sessionStorage (scoped to this origin, port included) and sends it as Authorization: Bearer,
// the event stream too (over fetch). Never a cookie: a browser sends a 127.0.0.1 cookie to every
// port of 127.0.0.1, another user's server included. The Host header is checked against the bound
// address (DNS rebinding), the Origin of every POST (CSRF), --read-only refuses every POST. Live updates: Server-Sent Events fed from
// the ledger (its seq is the event id, so a reconnecting page resumes where it left off).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ackAlerts, listAlerts } from '../app/alerts.js';
import { requireAnyDef, requireDef, type Context } from '../app/context.js';
import { describeHistory, DURATION_EXAMPLES, parseDuration } from '../app/history.js';
import { verifyLedgerInTurns } from '../app/ledger.js';
import { restartProcesses } from '../app/restart.js';
import { rollbackProcess } from '../app/rollback.js';
import { startMany } from '../app/start.js';
import { describeRegistryStatus } from '../app/status.js';
import { stopMany } from '../app/stop.js';
import { describeTimeline, isTimelineWindow, TIMELINE_WINDOWS } from '../app/timeline.js';
import { readWatchHolder } from '../app/watch.js';
import { restartDependentsOf } from '../core/deps.js';
import { lastKnownGood } from '../core/lineage.js';
import type { LedgerEntry, VerifyResult } from '../core/ledger-chain.js';
import { tailLedger, type LedgerCursor } from '../effects/ledger-file.js';
import { readLogTail } from '../effects/log-file.js';
import { PACKAGE_ROOT } from '../effects/spawn.js';
import { fileStamp } from '../effects/state-store.js';
import { UserError } from '../errors.js';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
  readonly readOnly: boolean;
  /** A fresh context (the registry re-read) for each request. */
  readonly load: () => Context;
  /** Whether the healthcheck is in the crontab (asked at most every 10 s: it runs `crontab -l`). */
  readonly cronInstalled: (ctx: Context) => Promise<boolean | null>;
  /** Called once, on the first request that carries the token (the page has it: `--open` removes its hand-over file). */
  readonly onFirstAuthorized?: () => void;
}

export interface Dashboard {
  readonly url: string;
  readonly token: string;
  readonly server: Server;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** How often open event streams look for new ledger entries and alert changes. */
const EVENT_POLL_MS = 250;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(text);
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new HttpError(413, 'the request body is over 64 KB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

/**
 * The ledger's verification, shared by concurrent requests and done in turns (the server answers
 * meanwhile): its result if it ends within a second, else the last one (null before the first).
 */
const audits = new Map<string, { pending: Promise<VerifyResult> | null; last: VerifyResult | null }>();
async function auditOf(ctx: Context): Promise<VerifyResult | null> {
  let a = audits.get(ctx.store.dir); // each request has a context of its own (the registry re-read)
  if (!a) audits.set(ctx.store.dir, (a = { pending: null, last: null }));
  const state = a;
  state.pending ??= verifyLedgerInTurns(ctx).then((r) => { state.last = r; return r; }).finally(() => { state.pending = null; });
  const late = new Promise<null>((resolve) => { const t = setTimeout(() => resolve(null), 1000); t.unref(); });
  return (await Promise.race([state.pending, late])) ?? state.last;
}

/** What the page shows besides the processes: the safety net's state and what can be rolled back. */
async function describeMeta(ctx: Context, opts: DashboardOptions): Promise<Record<string, unknown>> {
  const holder = await readWatchHolder(ctx).catch(() => null);
  const verify = await auditOf(ctx);
  const rollback: Record<string, number> = {};
  for (const name of ctx.registry.defs.keys()) {
    const current = ctx.store.readRecord(name).generation;
    const target = lastKnownGood(ctx.store.readGenerations(name), current);
    if (target && target.gen !== current) rollback[name] = target.gen;
  }
  return {
    registry: ctx.registry.path,
    read_only: opts.readOnly,
    cron_installed: await opts.cronInstalled(ctx),
    watch_running: holder !== null,
    watch_pid: holder?.pid ?? null,
    audit: verify === null
      ? { ok: null, detail: 'verifying the ledger: a first look at a long one takes a while (every segment checked once; later looks check what is new)' }
      : verify.ok
      ? { ok: true, detail: `ok: ${verify.entries} entries in ${verify.segments} segment${verify.segments === 1 ? '' : 's'}, chain intact` }
      : { ok: false, detail: `${verify.problem!.kind === 'tampered' ? 'TAMPERED' : 'cannot verify'}: ${verify.problem!.segment === 'ledger.head' || verify.problem!.line === 0 ? verify.problem!.segment : `${verify.problem!.segment} line ${verify.problem!.line}`}: ${verify.problem!.message}` },
    rollback_targets: rollback,
    // What a restart of each takes along (restart_dependents): the page says so before it acts.
    dependents: Object.fromEntries([...ctx.registry.defs.keys()].map((n) => [n, restartDependentsOf(ctx.registry.defs, n)])),
  };
}

type Control = 'start' | 'stop' | 'restart' | 'rollback';

async function control(ctx: Context, name: string, action: Control): Promise<unknown> {
  switch (action) {
    case 'start':
      requireDef(ctx, name);
      return startMany(ctx, [name], { waitMs: 1000 });
    case 'stop':
      requireAnyDef(ctx, name);
      return stopMany(ctx, [name]);
    case 'restart':
      requireDef(ctx, name);
      return restartProcesses(ctx, [name], { waitMs: 1000, dependents: true, quiet: true });
    case 'rollback':
      return rollbackProcess(ctx, name, { reason: 'asked from the dashboard', auto: false });
  }
}

/** One open event stream: new ledger entries (id = seq), and a nudge when alerts change. */
function streamEvents(req: IncomingMessage, res: ServerResponse, ctx: Context): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write('retry: 1000\n\n');
  const state = ctx.store.dir;
  const alertsFile = ctx.store.path('alerts');
  const lastId = Number(req.headers['last-event-id']);
  let cursor: LedgerCursor | null = null;
  // From the start of the active segment on a resume (only what the page missed), else from its end.
  const first = tailLedger(state, null);
  cursor = first.cursor;
  const emit = (e: LedgerEntry) => res.write(`id: ${e.seq}\nevent: ledger\ndata: ${JSON.stringify({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details })}\n\n`);
  if (Number.isFinite(lastId)) for (const e of first.entries) if (e.seq > lastId) emit(e);
  const alertsStamp = () => fileStamp(alertsFile);
  let alerts = alertsStamp();
  const timer = setInterval(() => {
    const next = tailLedger(state, cursor);
    cursor = next.cursor;
    for (const e of next.entries) emit(e);
    const stamp = alertsStamp();
    if (stamp !== alerts) {
      alerts = stamp;
      res.write('event: alerts\ndata: {}\n\n');
    }
  }, EVENT_POLL_MS);
  // A comment now and then keeps proxies and the browser from timing the stream out.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', () => { clearInterval(timer); clearInterval(keepAlive); });
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const token = randomBytes(24).toString('base64url'); // 192 bits, fresh each run
  const page = readFileSync(join(PACKAGE_ROOT, 'templates', 'dashboard', 'index.html'), 'utf8');
  let cron: { at: number; value: boolean | null } | null = null;
  const options: DashboardOptions = {
    ...opts,
    cronInstalled: async (ctx) => {
      if (!cron || Date.now() - cron.at > 10_000) cron = { at: Date.now(), value: await opts.cronInstalled(ctx).catch(() => null) };
      return cron.value;
    },
  };
  let allowedHosts = new Set<string>();
  let authorized = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // DNS rebinding: a page elsewhere that resolves its own name to 127.0.0.1 sends its own Host.
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) throw new HttpError(403, 'this Host is not the dashboard\'s');
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    // The page itself holds no data and no secret: it is served to anyone the Host check let in,
    // and asks for everything else with the token from its address's fragment.
    if (req.method === 'GET' && path === '/') return send(res, 200, page, { 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'" });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!sameSecret(bearer, token)) throw new HttpError(401, 'a token is needed: open the address `pguard dashboard` printed (it ends in #token=...), or send Authorization: Bearer TOKEN');
    if (!authorized) {
      authorized = true;
      opts.onFirstAuthorized?.();
    }
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedHosts.has(origin.replace(/^https?:\/\//, '').toLowerCase())) throw new HttpError(403, 'a request from another origin');
      if (opts.readOnly) throw new HttpError(403, 'the dashboard is read-only (--read-only)');
    }
    if (!path.startsWith('/api/')) throw new HttpError(404, `no such page: ${path}`);
    const ctx = opts.load();
    if (req.method === 'GET') {
      if (path === '/api/status') return send(res, 200, await describeRegistryStatus(ctx));
      if (path === '/api/alerts') return send(res, 200, listAlerts(ctx, { all: url.searchParams.get('all') === 'true' }));
      if (path === '/api/meta') return send(res, 200, await describeMeta(ctx, options));
      if (path === '/api/events') return streamEvents(req, res, ctx);
      if (path === '/api/history') {
        const name = url.searchParams.get('name') || undefined;
        if (name) requireDef(ctx, name);
        const since = url.searchParams.get('since');
        const sinceMs = since ? parseDuration(since) : undefined;
        if (sinceMs === null) throw new HttpError(400, `since expects a duration like ${DURATION_EXAMPLES}, got ${JSON.stringify(since)}`);
        return send(res, 200, describeHistory(ctx, { name, sinceMs }));
      }
      if (path === '/api/timeline') {
        const span = url.searchParams.get('window') ?? '24h';
        if (!isTimelineWindow(span)) throw new HttpError(400, 'window: expected 1h, 24h or 7d');
        return send(res, 200, describeTimeline(ctx, { windowMs: TIMELINE_WINDOWS[span] }));
      }
      const logs = /^\/api\/logs\/([^/]+)$/.exec(path);
      if (logs) {
        const name = decodeURIComponent(logs[1]!);
        requireAnyDef(ctx, name);
        const lines = Math.min(5000, Math.max(0, Number(url.searchParams.get('lines') ?? 200) || 0));
        const file = ctx.store.logFile(name);
        return send(res, 200, { name, file, lines: readLogTail(file, lines) });
      }
    }
    if (req.method === 'POST') {
      const act = /^\/api\/processes\/([^/]+)\/(start|stop|restart|rollback)$/.exec(path);
      if (act) return send(res, 200, await control(ctx, decodeURIComponent(act[1]!), act[2] as Control));
      if (path === '/api/alerts/ack') {
        const body = await readBody(req) as { ids?: unknown; all?: unknown };
        if (body.all === true) return send(res, 200, await ackAlerts(ctx, 'all'));
        if (!Array.isArray(body.ids) || body.ids.length === 0 || !body.ids.every((i) => typeof i === 'string')) throw new HttpError(400, 'expected {"ids": ["..."]} or {"all": true}');
        const known = new Set(listAlerts(ctx, { all: true }).map((a) => a.id));
        const unknown = (body.ids as string[]).filter((i) => !known.has(i));
        if (unknown.length > 0) throw new HttpError(404, `no alert with id ${unknown.join(', ')}`);
        return send(res, 200, await ackAlerts(ctx, body.ids as string[]));
      }
    }
    throw new HttpError(404, `no such endpoint: ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) { res.end(); return; }
      // The usual one line; never a stack, an env value or a webhook URL.
      if (err instanceof HttpError) return send(res, err.status, { error: err.message });
      if (err instanceof UserError) return send(res, err.code === 'unknown-process' ? 404 : err.exitCode === 2 ? 400 : 409, { error: err.message, code: err.code });
      return send(res, 500, { error: 'internal error (see the dashboard\'s terminal)' }), process.stderr.write(`pguard dashboard: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  // Bound to every address (0.0.0.0, ::): any of the machine's own addresses may be the Host.
  const wildcard = opts.host === '0.0.0.0' || opts.host === '::';
  const own = wildcard ? Object.values(networkInterfaces()).flat().map((i) => (i!.family === 'IPv6' ? `[${i!.address}]` : i!.address)) : [];
  allowedHosts = new Set([shown, 'localhost', '127.0.0.1', '[::1]', ...own].map((h) => `${h}:${port}`.toLowerCase()));
  return {
    // In the fragment: never sent to a server, so never in a request line, a proxy's log or a Referer.
    url: `http://${shown}:${port}/#token=${token}`,
    token,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase());
}
