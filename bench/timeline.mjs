#!/usr/bin/env node
// node bench/timeline.mjs [--processes 100] [--days 7] [--failures-per-day 20] [--repeat 5]
// How long the dashboard's GET /api/timeline takes to compute (app/timeline.ts describeTimeline,
// the built dist/): a synthetic state directory, written here and removed at the end, holds a week
// of history for each process as pguard writes it (runs.log lines; ledger entries in 4 MB
// segments: exits, restarts, alerts, give-ups and failed_retry restarts, stops and starts). Nothing
// is started. Each repeat loads a fresh context, as the dashboard does per request, and reads the
// whole ledger and every runs.log again. Then the dashboard's page on it, in Chromium, until every
// row and bar is drawn. Prints the figures with the load average before and after.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const PROCESSES = arg('processes', 100);
const DAYS = arg('days', 7);
const PER_DAY = arg('failures-per-day', 20);
const REPEAT = arg('repeat', 5);
const SEGMENT_BYTES = 4 * 1024 * 1024;

const { reloader } = await import(pathToFileURL(join(root, 'dist', 'cli', 'wiring.js')).href);
const { describeTimeline, TIMELINE_WINDOWS } = await import(pathToFileURL(join(root, 'dist', 'app', 'timeline.js')).href);

/**
 * The dashboard's page on this state directory in Debian's Chromium (playwright-core): from
 * navigation until every row and the last process's uptime bar are drawn (the status, then the
 * timeline of the 24 h window), median of 5 loads after one that warms the browser. The processes
 * are registered with their week of history, not running (the history is written, not lived).
 * null without Chromium.
 */
async function pageLoad(registry, stateDir) {
  const chromiumPath = process.env.PGUARD_CHROMIUM ?? '/usr/bin/chromium';
  const { existsSync } = await import('node:fs');
  if (!existsSync(chromiumPath)) { console.error(`page load skipped: no Chromium at ${chromiumPath}`); return null; }
  const { spawn } = await import('node:child_process');
  const dash = spawn(process.execPath, [join(root, 'bin', 'pguard.js'), 'dashboard', '--port', '0', '--registry', registry], {
    env: { ...process.env, PGUARD_STATE_DIR: stateDir, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'xdg-state') }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  dash.stdout.on('data', (d) => { out += d; });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    for (const t0 = Date.now(); !/^pguard dashboard: \S+/.test(out); ) {
      if (Date.now() - t0 > 15_000) throw new Error('the dashboard did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /^pguard dashboard: (\S+)/.exec(out)[1];
    const last = `svc-${String(PROCESSES - 1).padStart(3, '0')}`;
    const loads = [];
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    for (let i = 0; i < 6; i++) {
      const tab = await context.newPage();
      const t0 = performance.now();
      await tab.goto(url);
      await tab.locator(`svg[data-timeline="${last}"] rect`).first().waitFor({ timeout: 60_000 });
      if (i > 0) loads.push(performance.now() - t0);
      await tab.close();
    }
    loads.sort((a, b) => a - b);
    // Each request the page makes, alone, as the page sends it.
    const base = url.replace(/#.*$/, '').replace(/\/$/, '');
    const token = /#token=(.*)$/.exec(url)[1];
    const api = {};
    for (const path of ['/api/status', '/api/alerts', '/api/meta', '/api/timeline?window=24h']) {
      const t0 = performance.now();
      await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).text();
      api[path] = Math.round(performance.now() - t0);
    }
    let rssMb = null;
    try { rssMb = Math.round(Number(/VmRSS:\s+(\d+)/.exec((await import('node:fs')).readFileSync(`/proc/${dash.pid}/status`, 'utf8'))[1]) / 1024); } catch { /* not Linux */ }
    return { viewport: '1440x900', usable_ms_median: Math.round(loads[Math.floor(loads.length / 2)]), usable_ms: loads.map(Math.round), api_ms: api, dashboard_rss_mb: rssMb };
  } finally {
    await browser.close();
    dash.kill('SIGINT');
  }
}

const work = mkdtempSync(join(os.tmpdir(), 'pguard-bench-timeline-')); // 0700
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
try {
  const registry = join(work, '.process-registry.json');
  const names = Array.from({ length: PROCESSES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  writeFileSync(registry, JSON.stringify(Object.fromEntries(names.map((n) => [n, { command: 'exec sleep 1000', restart_cooldown: 0 }])), null, 2));
  const stateDir = join(work, 'state');
  mkdirSync(join(stateDir, 'procs'), { recursive: true, mode: 0o700 });

  // A deterministic pseudo-random sequence (the same history on every run of the bench).
  let seed = 26;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const now = Date.now();
  const begin = now - DAYS * 86_400_000;
  const iso = (ms) => new Date(ms).toISOString();
  const events = [];
  for (const name of names) {
    let epoch = 1;
    let seq = 1;
    let pid = 1000;
    const lines = [];
    const startRun = (at) => lines.push(`start ${epoch}.${seq} ${pid++} ${Math.round(at / 10)} boot ${at}`);
    events.push({ at: begin - 1000, event: 'start', process: name, details: { reason: 'started by user', epoch, generation: 1, runner_pid: pid++ } });
    startRun(begin);
    const count = DAYS * PER_DAY;
    const times = Array.from({ length: count }, () => begin + 60_000 + rand() * (now - begin - 120_000)).sort((a, b) => a - b);
    let last = begin;
    for (const t0 of times) {
      const t = Math.max(Math.round(t0), last + 70_000); // each after the last one's recovery
      if (t > now - 60_000) break;
      const run = `${epoch}.${seq}`;
      const kind = rand();
      const alertId = randomBytes(4).toString('hex');
      if (kind < 0.8) {
        // Killed, restarted at once by the runner.
        lines.push(`exit ${run} 137 ${t} ${Math.round(t / 10)}`);
        seq++;
        startRun(t + 10);
        events.push(
          { at: t + 300, event: 'exit', process: name, details: { run, ended_at: iso(t), code: null, signal: 'SIGKILL', ran_s: 100, outcome: 'running' } },
          { at: t + 300, event: 'restart', process: name, details: { reason: 'killed by SIGKILL; restarted at once', at: iso(t), restarts: 1 } },
          { at: t + 350, event: 'alert', process: name, details: { id: alertId, kind: 'crashed', severity: 'warning', message: 'killed by SIGKILL after 1 min 40 s; restarted at once (restart 1 of 5)', count: 1, notify: 'flag-files' } },
        );
        last = t + 10;
      } else if (kind < 0.9) {
        // Exited with code 1, restarted after a 30 s cooldown.
        lines.push(`exit ${run} 1 ${t} ${Math.round(t / 10)}`);
        seq++;
        startRun(t + 30_000);
        events.push(
          { at: t + 300, event: 'exit', process: name, details: { run, ended_at: iso(t), code: 1, signal: null, ran_s: 100, outcome: 'crashed' } },
          { at: t + 300, event: 'restart', process: name, details: { reason: 'exited with code 1; restart in 30 s', at: iso(t + 30_000), restarts: 1 } },
          { at: t + 350, event: 'alert', process: name, details: { id: alertId, kind: 'crashed', severity: 'warning', message: 'exited with code 1 after 1 min 40 s; restart in 30 s', count: 1, notify: 'flag-files' } },
        );
        last = t + 30_000;
      } else if (kind < 0.95) {
        // Gave up; retried by failed_retry a minute later (a new runner).
        lines.push(`exit ${run} 1 ${t} ${Math.round(t / 10)}`);
        events.push(
          { at: t + 300, event: 'exit', process: name, details: { run, ended_at: iso(t), code: 1, signal: null, ran_s: 1, outcome: 'failed' } },
          { at: t + 300, event: 'give-up', process: name, details: { reason: 'exited with code 1 after 1 s; gave up after 5 restarts (max_restarts 5)', restarts: 5 } },
          { at: t + 350, event: 'alert', process: name, details: { id: alertId, kind: 'failed', severity: 'critical', message: 'gave up after 5 restarts', count: 1, notify: 'flag-files' } },
          { at: t + 60_000, event: 'restart', process: name, details: { reason: 'retry 1 after it had failed (waited 1 min)', restarts: 5 } },
          { at: t + 60_020, event: 'start', process: name, details: { reason: 'retry 1 after it had failed (waited 1 min)', epoch: epoch + 1, generation: 1, runner_pid: pid++ } },
        );
        epoch++;
        seq = 1;
        startRun(t + 60_040);
        last = t + 60_040;
      } else {
        // Stopped by the user, started again a minute later.
        lines.push(`exit ${run} 143 ${t} ${Math.round(t / 10)}`);
        events.push(
          { at: t + 20, event: 'stop', process: name, details: { signal: 'SIGTERM', sigkill: false } },
          { at: t + 60_000, event: 'start', process: name, details: { reason: 'started by user', epoch: epoch + 1, generation: 1, runner_pid: pid++ } },
        );
        epoch++;
        seq = 1;
        startRun(t + 60_030);
        last = t + 60_030;
      }
    }
    mkdirSync(join(stateDir, 'procs', name), { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'procs', name, 'runs.log'), `${lines.join('\n')}\n`);
    // Its record, as a stop leaves it (without one, every look would take the repair path: a scan of /proc for its runner).
    writeFileSync(join(stateDir, 'procs', name, 'state.json'), JSON.stringify({ status: 'stopped', epoch, reason: 'stopped by user', updatedAt: now }), { mode: 0o600 });
  }
  // The ledger in time order, in segments as the real one rotates (its chain fields are not read here).
  events.sort((a, b) => a.at - b.at);
  let text = '';
  let first = 1;
  const flush = (lastSeq, active) => {
    const file = active ? 'ledger.jsonl' : `ledger.${String(first).padStart(9, '0')}-${String(lastSeq).padStart(9, '0')}.jsonl`;
    writeFileSync(join(stateDir, file), text, { mode: 0o600 });
    text = '';
    first = lastSeq + 1;
  };
  for (const [i, e] of events.entries()) {
    const hex = () => randomBytes(32).toString('hex');
    text += `${JSON.stringify({ seq: i + 1, at: iso(e.at), event: e.event, process: e.process, details: e.details, prev: hex(), hash: hex(), kid: 'bench0000000', mac: hex() })}\n`;
    if (text.length >= SEGMENT_BYTES) flush(i + 1, false);
  }
  flush(events.length, true);
  const ledgerBytes = readdirSync(stateDir).filter((f) => f.startsWith('ledger')).reduce((sum, f) => sum + statSync(join(stateDir, f)).size, 0);

  const fresh = reloader(registry, stateDir, { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'xdg-state') });
  const loadBefore = load();
  const figures = {};
  for (const window of ['7d', '24h', '1h']) {
    const ms = [];
    let body = null;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      const view = describeTimeline(fresh(), { windowMs: TIMELINE_WINDOWS[window] });
      body = JSON.stringify(view);
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    const view = JSON.parse(body);
    figures[window] = {
      median_ms: Math.round(ms[Math.floor(ms.length / 2)]),
      min_ms: Math.round(ms[0]),
      max_ms: Math.round(ms.at(-1)),
      segments: view.processes.reduce((n, p) => n + p.segments.length, 0),
      failures: view.processes.reduce((n, p) => n + p.failures.length, 0),
      json_kb: Math.round(body.length / 1024),
    };
  }
  const page = await pageLoad(registry, stateDir);
  const result = {
    processes: PROCESSES, days: DAYS, failures_per_day: PER_DAY, repeat: REPEAT,
    ledger: { entries: events.length, mb: Math.round((ledgerBytes / 1024 / 1024) * 10) / 10 },
    describe_timeline: figures,
    dashboard_page: page,
    load: { before: loadBefore, after: load() }, cpus: os.cpus().length, node: process.version,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  // PGUARD_BENCH_KEEP=1: the state directory stays, for a look with the CLI (its path on stderr).
  if (process.env.PGUARD_BENCH_KEEP === '1') console.error(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
