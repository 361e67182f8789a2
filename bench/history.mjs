#!/usr/bin/env node
// npm run bench's History section (issue 27): a ledger of a year of a flapping fleet, 1,000,000
// entries, written THROUGH THE REAL APPEND PATH (the built dist/effects/ledger-file.js appendLedger:
// hashed, signed, rotated into 4 MB segments, with the carries rotation writes; appends queued
// together as recordEvents queues them, BATCH at a time, so each lock takes a batch), into registry
// A's state directory. Registry B has the same processes and an empty ledger. Both run their
// processes (small shell programs), and, interleaved A, B, A, B ...:
//   status --json, healthcheck --json      A / B (target <= 1.05)
//   history --since 24h                    A (<= 300 ms), B for the floor
//   GET /api/timeline?window=24h           a real `pguard dashboard` of each, token as the page sends it (<= 300 ms)
//   audit verify                           A at 100k entries and at 1M: time (<= 15 s) and peak RSS (flat)
//   disk                                   bytes per entry live, and gzip-compressed as retention archives them
// Nothing is cached between runs: the ledger is generated each time (its time is reported).
// `node bench/history.mjs [--entries N] [--processes N] [--rounds N]` prints the figures as JSON,
// with the load average before and after; PGUARD_BENCH_KEEP=1 keeps the work directory.
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const PGUARD = join(root, 'bin', 'pguard.js');
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const load = () => os.loadavg().map((x) => round(x, 2));
/** Appends queued together per lock, as recordEvents queues an apply's events (here larger: a year in minutes). */
const BATCH = 500;

/** A year of a flapping fleet's events, in time order, ending `endMs`: exits, restarts, alerts, notifies, probes, give-ups, stops. */
export function* fleetYear({ entries, processes, endMs, days = 365 }) {
  const names = Array.from({ length: processes }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  let seed = 27;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const iso = (ms) => new Date(ms).toISOString();
  // Each episode at its share of the year by entries written (timestamps increase, ending at endMs).
  const begin = endMs - days * 86_400_000;
  const epochs = new Map(names.map((n) => [n, { epoch: 1, seq: 1 }]));
  let t = begin;
  let n = 0;
  let alert = 0;
  for (const name of names) { yield { at: iso(t), event: 'start', process: name, details: { reason: 'started by user', epoch: 1, generation: 1, runner_pid: 1000 } }; n++; }
  while (n < entries) {
    t = Math.max(t + 10, begin + Math.round((n / entries) * days * 86_400_000 - 60_000 * rand()));
    const name = names[Math.floor(rand() * names.length)];
    const r = epochs.get(name);
    const run = `${r.epoch}.${r.seq}`;
    const id = `a${(alert++).toString(16).padStart(7, '0')}`;
    const kind = rand();
    const batch = [];
    if (kind < 0.7) {
      // Killed, restarted at once by the runner, alerted, notified.
      batch.push(
        { event: 'exit', details: { run, ended_at: iso(t - 300), code: null, signal: 'SIGKILL', ran_s: Math.round(rand() * 3000), outcome: 'running' } },
        { event: 'restart', details: { reason: 'killed by SIGKILL; restarted at once', at: iso(t - 290), restarts: 1 } },
        { event: 'alert', details: { id, kind: 'crashed', severity: 'warning', message: 'killed by SIGKILL after 50 min; restarted at once (restart 1 of 5)', count: 1, notify: 'queued' } },
        { event: 'notify', details: { id, kind: 'crashed', notified: true, channels: [{ type: 'webhook', ok: true }] } },
      );
      r.seq++;
    } else if (kind < 0.85) {
      // A probe failing, the graceful restart it decided, healthy again.
      batch.push(
        { event: 'probe-failure', details: { run, probe: 'http', detail: 'GET http://127.0.0.1:8080/health: timed out after 5 s', failures: 3 } },
        { event: 'probe-failure', details: { run, probe: 'http', action: 'graceful restart', failures: 3 } },
        { event: 'exit', details: { run, ended_at: iso(t), code: null, signal: 'SIGTERM', ran_s: 600, outcome: 'running', ended_by_pguard: 'hung: its http probe failed 3 times' } },
        { event: 'restart', details: { reason: 'its http probe failed 3 times; restarted gracefully', at: iso(t + 10), restarts: 1 } },
        { event: 'healthy', details: { run: `${r.epoch}.${r.seq + 1}` } },
      );
      r.seq++;
    } else if (kind < 0.95) {
      // Gave up after its budget, alerted; retried by failed_retry a minute later.
      batch.push(
        { event: 'exit', details: { run, ended_at: iso(t), code: 1, signal: null, ran_s: 1, outcome: 'failed' } },
        { event: 'give-up', details: { reason: 'exited with code 1 after 1 s; gave up after 5 restarts (max_restarts 5)', restarts: 5 } },
        { event: 'alert', details: { id, kind: 'failed', severity: 'critical', message: 'gave up after 5 restarts', count: 1, notify: 'queued' } },
        { event: 'notify', details: { id, kind: 'failed', notified: true, channels: [{ type: 'webhook', ok: true }] } },
        { event: 'restart', details: { reason: 'retry 1 after it had failed (waited 1 min)', restarts: 5 } },
        { event: 'start', details: { reason: 'retry 1 after it had failed (waited 1 min)', epoch: r.epoch + 1, generation: 1, runner_pid: 2000 + n } },
      );
      r.epoch++;
      r.seq = 1;
    } else {
      // Stopped by the user, started again.
      batch.push(
        { event: 'stop', details: { signal: 'SIGTERM', sigkill: false } },
        { event: 'exit', details: { run, ended_at: iso(t), code: 143, signal: null, ran_s: 7200, outcome: 'stopped' } },
        { event: 'start', details: { reason: 'started by user', epoch: r.epoch + 1, generation: 1, runner_pid: 3000 + n } },
      );
      r.epoch++;
      r.seq = 1;
    }
    for (const [k, e] of batch.entries()) {
      if (n >= entries) return;
      yield { at: iso(t + k), event: e.event, process: name, details: e.details };
      n++;
    }
  }
}

/** `pguard ...args` under /usr/bin/time: wall ms (measured here), peak RSS (MB), exit code, output. */
function cli(args, env) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'PGUARD_BENCH_RSS %M', process.execPath, PGUARD, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  const m = /PGUARD_BENCH_RSS (\d+)/.exec(r.stderr ?? '');
  return { ms, rssMb: m ? round(Number(m[1]) / 1024) : null, code: r.status, stdout: r.stdout, stderr: (r.stderr ?? '').replace(/PGUARD_BENCH_RSS \d+\n?/, '') };
}

/** A running `pguard dashboard` (port 0): its base URL and token, as the page gets them. */
async function startDashboard(env) {
  const child = spawn(process.execPath, [PGUARD, 'dashboard', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  for (const t0 = Date.now(); !/^pguard dashboard: \S+/m.test(out);) {
    if (Date.now() - t0 > 30_000) { child.kill('SIGINT'); throw new Error('the dashboard did not start'); }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /^pguard dashboard: (\S+)/m.exec(out)[1];
  return { child, base: url.replace(/#.*$/, '').replace(/\/$/, ''), token: /#token=(.*)$/.exec(url)[1] };
}

async function timed(fn) { const t0 = performance.now(); const v = await fn(); return { ms: performance.now() - t0, v }; }

export async function historyScale({ entries = 1_000_000, processes = 100, rounds = 5, progress = () => {} } = {}) {
  const { appendLedger } = await import(pathToFileURL(join(root, 'dist', 'effects', 'ledger-file.js')).href);
  const work = mkdtempSync(join(os.tmpdir(), 'pguard-bench-history-')); // 0700
  const dashboards = [];
  const envs = {};
  try {
    const base = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', NO_COLOR: '1', XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'xdg-state') };
    const names = Array.from({ length: processes }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
    for (const side of ['a', 'b']) {
      mkdirSync(join(work, side), { mode: 0o700 });
      const registry = join(work, side, '.process-registry.json');
      writeFileSync(registry, JSON.stringify(Object.fromEntries(names.map((n) => [n, { command: 'while :; do sleep 3600; done' }])), null, 2));
      envs[side] = { ...base, PGUARD_REGISTRY: registry, PGUARD_STATE_DIR: join(work, side, 'state') };
    }
    const stateA = envs.a.PGUARD_STATE_DIR;
    mkdirSync(stateA, { recursive: true, mode: 0o700 });

    // The year, through appendLedger, BATCH appends queued at a time; verify measured at 100k on the way.
    progress(`  generating ${entries} ledger entries for ${processes} processes through appendLedger ...`);
    const verifyAt = {};
    const checkpoint = Math.min(100_000, entries);
    const t0 = performance.now();
    let pending = [];
    let written = 0;
    const endMs = Date.now() - 5 * 60_000;
    for (const e of fleetYear({ entries, processes, endMs })) {
      pending.push(appendLedger(stateA, e, envs.a));
      written++;
      if (pending.length === BATCH || written === checkpoint || written === entries) {
        await Promise.all(pending);
        pending = [];
        if (written === checkpoint && entries > checkpoint) {
          const v = cli(['audit', 'verify'], envs.a);
          verifyAt[checkpoint] = { ms: Math.round(v.ms), peak_rss_mb: v.rssMb, ok: v.code === 0, says: v.stdout.trim().split('\n')[0], load: load() };
          progress(`  verify at ${checkpoint}: ${Math.round(v.ms)} ms, ${v.rssMb} MB`);
        }
      }
    }
    const generateS = round((performance.now() - t0) / 1000);
    progress(`  generated in ${generateS} s`);

    // Disk: every live ledger file (segments, head, carries); gzip as retention archives a closed segment.
    const files = readdirSync(stateA).filter((f) => f.startsWith('ledger'));
    const bytes = files.reduce((s, f) => s + statSync(join(stateA, f)).size, 0);
    const segs = files.filter((f) => /^ledger\.\d+-\d+\.jsonl$/.test(f)).sort();
    const carries = files.filter((f) => f.endsWith('.carry.json')).reduce((s, f) => s + statSync(join(stateA, f)).size, 0);
    let gzipRatio = null;
    if (segs.length > 0) { const raw = readFileSync(join(stateA, segs.at(-1))); gzipRatio = gzipSync(raw).length / raw.length; }

    // Both fleets running.
    for (const side of ['a', 'b']) {
      const r = cli(['start', '--all', '--no-wait'], envs[side]);
      if (r.code !== 0) throw new Error(`start --all (${side}) failed: ${r.stderr.trim()}`);
    }
    for (const side of ['a', 'b']) dashboards.push({ side, ...(await startDashboard(envs[side])) });
    // A new connection per request (node:http, no keep-alive agent): a pooled one the server closed
    // while the CLI runs in between would fail the next request.
    const timeline = (side, path = '/api/timeline?window=24h') => new Promise((resolve, reject) => {
      const d = dashboards.find((x) => x.side === side);
      const req = http.get(`${d.base}${path}`, { agent: false, headers: { authorization: `Bearer ${d.token}` } }, (res) => {
        let n = 0;
        res.on('data', (c) => { n += c.length; });
        res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`timeline ${side}: HTTP ${res.statusCode}`))));
      });
      req.on('error', (err) => reject(new Error(`timeline ${side}: ${err.message} (dashboard exit ${d.child.exitCode} ${d.child.signalCode})`)));
    });
    // The first request of each dashboard parses the window's segments; later ones hit its cache.
    const firstTimeline = {};
    for (const side of ['a', 'b']) firstTimeline[side] = Math.round((await timed(() => timeline(side))).ms);
    // The page's /api/meta (every 15 s with a page open) verifies the ledger: the first time all of
    // it, in turns (the server answers meanwhile: /api/status is timed while it works), saying
    // "verifying" until it is done; then only what changed since (verifyLedger's resume).
    const getJson = (side, path) => new Promise((resolve, reject) => {
      const d = dashboards.find((x) => x.side === side);
      http.get(`${d.base}${path}`, { agent: false, headers: { authorization: `Bearer ${d.token}` } }, (res) => {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${path} ${side}: HTTP ${res.statusCode}`))));
      }).on('error', reject);
    });
    const meta = {};
    for (const side of ['a', 'b']) {
      const t0 = performance.now();
      const first = await timed(() => getJson(side, '/api/meta'));
      const statusDuring = first.v.audit?.ok === null ? Math.round((await timed(() => getJson(side, '/api/status'))).ms) : null;
      let verified = first.v.audit?.ok ?? null;
      while (verified === null && performance.now() - t0 < 300_000) {
        await new Promise((r) => setTimeout(r, 200));
        verified = (await getJson(side, '/api/meta')).audit?.ok ?? null;
      }
      const verifiedAfter = performance.now() - t0;
      const again = (await timed(() => getJson(side, '/api/meta'))).ms;
      meta[side] = { first_ms: Math.round(first.ms), verified, verified_after_ms: Math.round(verifiedAfter), status_while_verifying_ms: statusDuring, again_ms: Math.round(again) };
    }

    progress(`  measuring, ${rounds} rounds interleaved A (1M) / B (empty) ...`);
    const loadBefore = load();
    const s = { status: { a: [], b: [] }, healthcheck: { a: [], b: [] }, history: { a: [], b: [] }, timeline: { a: [], b: [] } };
    let historyRows = null;
    for (let i = 0; i < rounds; i++) {
      for (const side of ['a', 'b']) {
        const st = cli(['status', '--json'], envs[side]);
        if (st.code !== 0) throw new Error(`status ${side}: ${st.stderr.trim()}`);
        s.status[side].push(st.ms);
        const hc = cli(['healthcheck', '--json'], envs[side]);
        s.healthcheck[side].push(hc.ms);
        const h = cli(['history', '--since', '24h', '--json'], envs[side]);
        if (h.code !== 0) throw new Error(`history ${side}: ${h.stderr.trim()}`);
        if (side === 'a') historyRows = JSON.parse(h.stdout).failures.length;
        s.history[side].push(h.ms);
        s.timeline[side].push((await timed(() => timeline(side))).ms);
      }
    }
    const loadMid = load();
    const fig = (xs) => ({ median_ms: round(median(xs)), min_ms: round(Math.min(...xs)), max_ms: round(Math.max(...xs)) });
    const pair = (k) => ({ a_1m: fig(s[k].a), b_empty: fig(s[k].b), ratio: round(median(s[k].a) / median(s[k].b), 3) });

    progress('  audit verify of all of it ...');
    const v = cli(['audit', 'verify'], envs.a);
    const verifyFull = { ms: Math.round(v.ms), peak_rss_mb: v.rssMb, ok: v.code === 0, says: v.stdout.trim().split('\n')[0], load: load() };
    const result = {
      entries, processes, rounds, batch: BATCH,
      generate: { seconds: generateS, entries_per_s: Math.round(entries / generateS) },
      disk: {
        live_mb: round(bytes / 1024 / 1024), bytes_per_entry: round(bytes / entries), segments: segs.length + 1,
        carries_kb: Math.round(carries / 1024), archived_bytes_per_entry: gzipRatio === null ? null : round((bytes / entries) * gzipRatio),
      },
      status_json: { ...pair('status'), target_ratio: 1.05 },
      healthcheck_json: { ...pair('healthcheck'), target_ratio: 1.05 },
      history_since_24h: { ...pair('history'), target_ms: 300, failures_in_window: historyRows },
      timeline_24h: { ...pair('timeline'), first_request_ms: firstTimeline, target_ms: 300 },
      dashboard_meta: meta,
      audit_verify: { at_100k: verifyAt[checkpoint] ?? null, at_full: verifyFull, target_ms: 15_000 },
      load: { before: loadBefore, after_interleaved: loadMid, after: load() }, cpus: os.cpus().length, node: process.version,
    };
    return result;
  } finally {
    for (const d of dashboards) d.child.kill('SIGINT');
    for (const side of Object.keys(envs)) cli(['stop', '--all'], envs[side]);
    if (process.env.PGUARD_BENCH_KEEP === '1') progress(`  kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
  const r = await historyScale({ entries: arg('entries', 1_000_000), processes: arg('processes', 100), rounds: arg('rounds', 5), progress: (l) => process.stderr.write(`${l}\n`) });
  console.log(JSON.stringify(r, null, 2));
}
