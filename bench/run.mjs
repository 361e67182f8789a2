#!/usr/bin/env node
// npm run bench [-- --quick] [-- --vs pm2]: recovery time, CLI start-up, healthcheck scale, start
// throughput and memory, measured on this machine with the built CLI against running processes,
// each beside its floor (node -e 0; an in-process respawner) and, with --vs pm2, PM2 in the same
// run (the CLI calls interleaved). Every figure carries the load average before and after it.
// Prints a table of ratios from this run only and writes bench/results/latest.json. Every process
// it starts is stopped at the end, also on Ctrl-C.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { wineRecovery } from './wine.mjs';
import { fleetScale, killPm2Apps } from './fleet.mjs';
import { benchLogs } from './logs.mjs';
import { historyScale } from './history.mjs';
import { dashboardResident, residentCuts, watchResident } from './resident.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CLI = join(root, 'bin', 'pguard.js');
const QUICK = process.argv.includes('--quick');
// --cuts: watch and the dashboard also measured variant by variant (what each cut saved), ~7 min more.
const CUTS = process.argv.includes('--cuts');
const VS_PM2 = process.argv.some((a, i) => a === '--vs=pm2' || (a === '--vs' && process.argv[i + 1] === 'pm2'));
const KILLS = QUICK ? 5 : 20;
// The fleet curve (bench/fleet.mjs): --scales 10,100 to take fewer points.
const SCALES_ARG = process.argv.find((a, i) => process.argv[i - 1] === '--scales');
const SCALES = SCALES_ARG ? SCALES_ARG.split(',').map(Number) : QUICK ? [10, 100] : [10, 100, 1000, 5000];
// --only fleet (or recovery, cli, start, watch, dashboard, history, logs): those parts alone, their figures printed as JSON.
const ONLY = process.argv.find((a, i) => process.argv[i - 1] === '--only')?.split(',') ?? null;
const want = (part) => ONLY === null || ONLY.includes(part);

const work = mkdtempSync(join(os.tmpdir(), 'pguard-bench-')); // 0700
let interrupted = false;
/** Child processes the bench itself started (watchers): killed in cleanup, also after Ctrl-C. */
const children = new Set();
const registries = [];
const figures = {};

function progress(line) {
  process.stderr.write(`${line}\n`);
}

function makeRegistry(name, entries) {
  if (interrupted) throw new Error('interrupted');
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const registry = join(dir, '.process-registry.json');
  writeFileSync(registry, JSON.stringify(entries, null, 2));
  // As users run it: the state directory is derived (under XDG_STATE_HOME, named from the
  // registry's path), not given by PGUARD_STATE_DIR; `info` says where it is.
  const env = { ...process.env, PGUARD_REGISTRY: registry, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'xdg-state'), NO_COLOR: '1' };
  delete env.PGUARD_STATE_DIR;
  const stateDir = JSON.parse(execFileSync(process.execPath, [CLI, 'info', '--json'], { env, encoding: 'utf8' })).state_dir;
  const r = {
    dir, registry, env, stateDir,
    cli: async (...args) => {
      // After Ctrl-C only stops run: nothing new is started behind the cleanup's back.
      if (interrupted && args[0] !== 'stop') return { code: 130, stdout: '{}', stderr: 'interrupted' };
      try {
        const res = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 });
        return { code: 0, stdout: res.stdout, stderr: res.stderr };
      } catch (err) {
        return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
      }
    },
    log: (name) => { try { return readFileSync(join(stateDir, 'logs', `${name}.log`), 'utf8'); } catch { return ''; } },
    runs: (name) => { try { return readFileSync(join(stateDir, 'procs', name, 'runs.log'), 'utf8'); } catch { return ''; } },
    record: (name) => JSON.parse(readFileSync(join(stateDir, 'procs', name, 'state.json'), 'utf8')),
  };
  registries.push(r);
  return r;
}

async function waitFor(cond, timeoutMs = 20_000, what = 'a condition', intervalMs = 2) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The first START line of each log, once all have one. Polled every 20 ms, reading only the logs
 * still without one: the times come from the lines themselves, so a slower poll changes no figure,
 * and a light one leaves the CPU to what is measured.
 */
async function firstLinesOf(logs, what, since = 0, timeoutMs = 60_000, opts = {}) {
  const first = logs.map(() => undefined);
  return waitFor(() => {
    logs.forEach((log, i) => {
      if (first[i] !== undefined) return;
      try { first[i] = startLines(readFileSync(log, 'utf8')).find((t) => t >= since); } catch { /* not yet */ }
    });
    // opts.enough(all): every log has its line (all), or the caller takes what there is now (a budget spent).
    const all = first.every((x) => x !== undefined);
    return (opts.enough ? opts.enough(all) : all) ? first : null;
  }, timeoutMs, what, opts.intervalMs ?? 20);
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const pct = (xs, p) => { const s = sorted(xs); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const median = (xs) => pct(xs, 50);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The START lines of a log (the programs print µs since the epoch), in ms. */
function startLines(text) {
  return [...text.matchAll(/^START (\d+)$/gm)].map((m) => Number(m[1]) / 1000);
}

/** The wall clock in ms with µs precision (Date.now() has whole ms: too coarse for a 3 ms restart). */
const wallMs = () => performance.timeOrigin + performance.now();

/** p50 / p95 / max of restart samples (ms), to 0.1 ms. */
const spread = (samples) => ({ p50_ms: round(median(samples)), p95_ms: round(pct(samples, 95)), max_ms: round(Math.max(...samples)), samples: samples.map((x) => round(x, 2)) });

function latestRunPid(r, name) {
  const lines = r.runs(name).trim().split('\n').filter((l) => l.startsWith('start '));
  return Number(lines.at(-1)?.split(' ')[2]);
}

/**
 * The kill cadence, the same for every supervisor measured: the next SIGKILL goes at least this
 * long after the previous new instance's first line (and once the supervisor has settled: for
 * pguard, the restart recorded and the runner's background report ended). A CPU idle for a while
 * wakes more slowly than a busy one, so every side gets the same rhythm.
 */
const CADENCE_MS = 300;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
async function cadence(lineAt) {
  await sleep(lineAt + CADENCE_MS - wallMs());
}

/** The children of a process (Linux /proc/PID/task/PID/children); null where unreadable. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

async function crashRecovery(kind, opts = {}) {
  const command = kind === 'shell' ? `sh ${join(here, 'apps', 'shell-prog.sh')}` : `node ${join(here, 'apps', 'node-prog.mjs')}`;
  const r = makeRegistry(`recovery-${kind}${opts.watch ? '-watch' : ''}`, { prog: { command, max_restarts: 1000, restart_cooldown: 0 } });
  await r.cli('start', 'prog', '--no-wait');
  let watcher = null;
  if (opts.watch) {
    const { spawn } = await import('node:child_process');
    watcher = spawn(process.execPath, [CLI, 'watch', '--foreground'], { env: r.env, stdio: 'ignore' });
    children.add(watcher);
    await waitFor(() => existsSync(join(r.stateDir, 'watch.expected')), 10_000, 'watch to start');
  }
  await waitFor(() => startLines(r.log('prog')).length >= 1, 10_000, 'the first START line');
  const samples = [];
  for (let i = 0; i < KILLS; i++) {
    const before = startLines(r.log('prog')).length;
    const pid = latestRunPid(r, 'prog');
    const killAt = wallMs();
    process.kill(pid, 'SIGKILL');
    const line = await waitFor(() => { const s = startLines(r.log('prog')); return s.length > before ? s.at(-1) : null; }, 10_000, 'the new instance');
    samples.push(line - killAt);
    // The restart recorded and the runner's background report ended (its only child the run).
    await waitFor(() => r.record('prog').totalRestarts === i + 1, 10_000, 'the restart to be recorded');
    const runner = r.record('prog').runner.pid;
    await waitFor(() => { const c = childrenOf(runner); return c === null || c.length <= 1; }, 10_000, 'the runner\'s report to end');
    await cadence(line);
  }
  if (watcher) watcher.kill('SIGTERM');
  await r.cli('stop', 'prog');
  return spread(samples);
}

// --vs pm2: PM2, installed into a temporary folder with npm, measured in the same run.
async function installPm2() {
  const dir = join(work, 'pm2');
  mkdirSync(dir, { recursive: true });
  progress('installing PM2 into a temporary folder (npm)...');
  await run('npm', ['install', '--prefix', dir, 'pm2@latest', '--no-audit', '--no-fund', '--loglevel=error'], { maxBuffer: 64 << 20 });
  const bin = join(dir, 'node_modules', 'pm2', 'bin', 'pm2');
  const env = { ...process.env, PM2_HOME: join(dir, 'home'), PM2_DISABLE_COLORS: 'true' };
  pm2Home = env;
  const cli = (...args) => run(process.execPath, [bin, ...args], { env, maxBuffer: 64 << 20 });
  await cli('ping'); // the daemon up: every figure below is PM2 warm
  const version = JSON.parse(readFileSync(join(dir, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  return { dir, env, cli, version };
}

/** PM2's start of n shell programs (its daemon running), the same apps and logs every round. */
async function pm2StartThroughput(pm2, n = 50) {
  const apps = [];
  const logs = [];
  for (let i = 0; i < n; i++) {
    const log = join(pm2.dir, `t${i}.log`);
    logs.push(log);
    apps.push({ name: `t${i}`, script: join(here, 'apps', 'shell-prog.sh'), interpreter: 'sh', out_file: log, error_file: log });
  }
  const eco = join(pm2.dir, 'throughput.config.json');
  writeFileSync(eco, JSON.stringify({ apps }));
  const t0 = wallMs();
  const cmd = pm2.cli('start', eco);
  const firstLines = await firstLinesOf(logs, `PM2: ${n} first lines`, t0);
  await cmd;
  const returned = round(wallMs() - t0);
  await pm2.cli('delete', eco);
  return { all_first_lines_ms: round(Math.max(...firstLines) - t0), command_returned_ms: returned };
}

async function pm2Figures(pm2Handle) {
  const { dir, env, version } = pm2Handle;
  const pm2 = pm2Handle.cli;
  const recovery = async (kind) => {
    const log = join(dir, `${kind}.log`);
    const script = kind === 'shell' ? join(here, 'apps', 'shell-prog.sh') : join(here, 'apps', 'node-prog.mjs');
    // An ecosystem file: min_uptime is not a CLI flag, and without it PM2 stops restarting after
    // 15 quick deaths.
    const eco = join(dir, `${kind}.config.json`);
    writeFileSync(eco, JSON.stringify({ apps: [{
      name: `prog-${kind}`, script, interpreter: kind === 'shell' ? 'sh' : 'node', out_file: log, error_file: log,
      max_restarts: 1000, min_uptime: 0, restart_delay: 0, autorestart: true,
    }] }));
    await pm2('start', eco);
    const lines = () => { try { return startLines(readFileSync(log, 'utf8')); } catch { return []; } };
    await waitFor(() => lines().length >= 1, 20_000, 'PM2 first line');
    const samples = [];
    let last = lines().at(-1);
    for (let i = 0; i < KILLS; i++) {
      const before = lines().length;
      const list = JSON.parse((await pm2('jlist')).stdout);
      const pid = list.find((p) => p.name === `prog-${kind}`).pid;
      await cadence(last); // the PID asked for first, so the kill keeps the common rhythm
      const killAt = wallMs();
      process.kill(pid, 'SIGKILL');
      last = await waitFor(() => { const s = lines(); return s.length > before ? s.at(-1) : null; }, 10_000, 'PM2 new instance');
      samples.push(last - killAt);
    }
    await pm2('delete', `prog-${kind}`);
    return spread(samples);
  };
  progress('PM2 crash recovery, shell program...');
  const shell = await recovery('shell');
  progress('PM2 crash recovery, Node program...');
  const node = await recovery('node');
  progress('PM2 daemon memory with 10 processes...');
  for (let i = 0; i < 10; i++) await pm2('start', 'sleep', '--name', `s${i}`, '--', '100000');
  const daemonPid = Number(readFileSync(join(env.PM2_HOME, 'pm2.pid'), 'utf8'));
  const daemonRss = rssKb(daemonPid);
  for (let i = 0; i < 10; i++) await pm2('delete', `s${i}`);
  void dir;
  return { version, recovery_shell: shell, recovery_node: node, daemon_rss_mb: round(daemonRss / 1024) };
}
let pm2Home = null;

async function backstopRecovery() {
  const r = makeRegistry('backstop', { prog: { command: `exec sh ${join(here, 'apps', 'shell-prog.sh')}`, restart_cooldown: 0 } });
  await r.cli('start', 'prog', '--no-wait');
  await waitFor(() => startLines(r.log('prog')).length >= 1, 10_000, 'the first START line');
  const rec = r.record('prog');
  const pid = latestRunPid(r, 'prog');
  process.kill(rec.runner.pid, 'SIGKILL');
  process.kill(-pid, 'SIGKILL');
  await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 5000, 'the process to die');
  const t0 = wallMs();
  const hc = await r.cli('healthcheck', '--json');
  const returned = round(wallMs() - t0);
  const line = await waitFor(() => startLines(r.log('prog'))[1], 10_000, 'the recovered instance');
  await r.cli('stop', 'prog');
  return { healthcheck_ms: returned, first_line_ms: round(line - t0), action: JSON.parse(hc.stdout).actions[0]?.action };
}

/** A measurement with the load average before and after it (a figure from a loaded machine says so). */
async function measured(what, fn) {
  const before = os.loadavg().map((x) => round(x, 2));
  if (before[0] > os.cpus().length) progress(`  warning: load average ${before[0]} before ${what} (more than the ${os.cpus().length} cores): its figure is inflated`);
  const result = await fn();
  return result === null ? null : { ...result, load: { before, after: os.loadavg().map((x) => round(x, 2)) } };
}

/** The floor: an in-process Node respawner (bench/apps/respawner.mjs), SIGKILL to the new first line. */
async function floorRecovery(kind) {
  const dir = join(work, `floor-${kind}`);
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'out.log');
  const pidFile = join(dir, 'pid');
  const command = kind === 'shell' ? ['sh', join(here, 'apps', 'shell-prog.sh')] : [process.execPath, join(here, 'apps', 'node-prog.mjs')];
  const { spawn } = await import('node:child_process');
  const sup = spawn(process.execPath, [join(here, 'apps', 'respawner.mjs'), pidFile, log, ...command], { stdio: 'ignore' });
  children.add(sup);
  const lines = () => { try { return startLines(readFileSync(log, 'utf8')); } catch { return []; } };
  try {
    await waitFor(() => lines().length >= 1, 10_000, 'the floor\'s first line');
    const samples = [];
    for (let i = 0; i < KILLS; i++) {
      const before = lines().length;
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const killAt = wallMs();
      process.kill(pid, 'SIGKILL');
      const line = await waitFor(() => { const s = lines(); return s.length > before ? s.at(-1) : null; }, 10_000, 'the floor\'s new instance');
      samples.push(line - killAt);
      await cadence(line);
    }
    return spread(samples);
  } finally {
    sup.kill('SIGKILL');
    try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
  }
}

/**
 * A registry of n idle programs, all started (`start --all --no-wait`, its time handed to
 * `timed`) and running.
 */
async function runningRegistry(n, name, timed = () => {}) {
  const entries = {};
  for (let i = 0; i < n; i++) entries[`p${i}`] = { command: 'exec sleep 100000' };
  const r = makeRegistry(name, entries);
  const t0 = performance.now();
  const start = await r.cli('start', '--all', '--no-wait');
  timed(performance.now() - t0);
  if (start.code !== 0) throw new Error(`start --all failed: ${start.stderr}`);
  await waitFor(() => Object.keys(entries).every((p) => r.runs(p).includes('start ')), 120_000, `${n} processes to run`);
  return r;
}

/**
 * CLI start-up against running processes, interleaved so every side sees the same load: `node -e 0`
 * (the floor), `pguard status --json`, `pguard healthcheck --json`, `pguard on-exit` (the runner's
 * report of an exit, here one already handled: start-up, registry, lock, record) and, with --vs pm2,
 * `pm2 jlist` with the same number of running processes in PM2.
 */
async function cliInterleaved(n, pm2) {
  const r = await runningRegistry(n, `cli-${n}`);
  const firstRun = r.runs('p0').trim().split('\n').find((l) => l.startsWith('start '))?.split(' ')[1];
  const sides = {
    node_e_0: () => run(process.execPath, ['-e', '0']),
    status_json: () => r.cli('status', '--json'),
    healthcheck: () => r.cli('healthcheck', '--json'),
    on_exit: () => r.cli('on-exit', 'p0', '--run', firstRun ?? '1.1'),
  };
  if (pm2) {
    for (let i = 0; i < n; i++) await pm2.cli('start', 'sleep', '--name', `s${i}`, '--', '100000');
    sides.pm2_jlist = () => pm2.cli('jlist');
  }
  for (const f of Object.values(sides)) await f(); // warm-up: file caches, the compile cache where there is one
  const samples = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let i = 0; i < (QUICK ? 5 : 15); i++) {
    for (const [k, f] of Object.entries(sides)) {
      const t0 = performance.now();
      await f();
      samples[k].push(performance.now() - t0);
    }
  }
  if (pm2) for (let i = 0; i < n; i++) await pm2.cli('delete', `s${i}`);
  await r.cli('stop', '--all');
  return { processes: n, running: true, ...Object.fromEntries(Object.entries(samples).map(([k, xs]) => [`${k}_ms`, round(median(xs))])), samples: Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, xs.map((x) => round(x))])) };
}

/** Proportional set size (shared pages split among their users): what one more runner really costs. */
function pssKb(pid) {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
  } catch {
    return null;
  }
}

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return null;
  }
}

function throughputRegistry(n, name) {
  const entries = {};
  for (let i = 0; i < n; i++) entries[`p${i}`] = { command: `exec sh ${join(here, 'apps', 'shell-prog.sh')}` };
  return makeRegistry(name, entries);
}

/** `start --all` of a registry's n shell programs: command back, and every first line; then stop --all. */
async function startThroughput(r, opts = {}) {
  const names = Object.keys(JSON.parse(readFileSync(r.registry, 'utf8')));
  const t0 = wallMs();
  const cmd = r.cli('start', '--all', ...(opts.noWait ? ['--no-wait'] : []));
  const firstLines = await firstLinesOf(names.map((name) => join(r.stateDir, 'logs', `${name}.log`)), `${names.length} first lines`, t0);
  const res = await cmd;
  const returned = round(wallMs() - t0);
  // Memory of the runners while they supervise.
  const runners = names.map((name) => rssKb(r.record(name).runner.pid)).filter((x) => x !== null);
  const pss = names.map((name) => pssKb(r.record(name).runner.pid)).filter((x) => x !== null);
  await r.cli('stop', '--all');
  return {
    all_first_lines_ms: round(Math.max(...firstLines) - t0),
    command_returned_ms: returned,
    exit_code: res.code,
    runner_rss_kb_median: median(runners),
    runner_rss_kb_max: Math.max(...runners),
    runner_pss_kb_median: pss.length ? median(pss) : null,
    ten_runners_mb: round((median(runners) * 10) / 1024),
  };
}

/**
 * `start --all --no-wait` of n and PM2's start of n, interleaved (who goes first alternates): a
 * first start each (a new registry and state directory; PM2's first start of these apps), then
 * `rounds` more of the same, each after a stop (pguard: `stop --all`; PM2: `delete`). Medians of
 * the later rounds, and every sample. (A first start creates every file of a new state directory:
 * on this machine's disk that costs milliseconds per new directory, so it is reported apart.)
 */
async function startInterleaved(n, rounds, pm2) {
  const r = throughputRegistry(n, 'throughput-no-wait');
  const ours = [];
  const theirs = [];
  for (let i = 0; i <= rounds; i++) {
    const a = () => startThroughput(r, { noWait: true }).then((x) => ours.push(x));
    const b = () => (pm2 ? pm2StartThroughput(pm2, n).then((x) => theirs.push(x)) : null);
    if (i % 2 === 0) { await a(); await b(); } else { await b(); await a(); }
  }
  const summary = (xs) => ({
    all_first_lines_ms: round(median(xs.slice(1).map((x) => x.all_first_lines_ms))),
    command_returned_ms: round(median(xs.slice(1).map((x) => x.command_returned_ms))),
    rounds: xs.length - 1,
    first_start: { all_first_lines_ms: xs[0].all_first_lines_ms, command_returned_ms: xs[0].command_returned_ms },
    samples: xs.slice(1).map((x) => ({ all_first_lines_ms: x.all_first_lines_ms, command_returned_ms: x.command_returned_ms })),
  });
  return { ours: { ...ours.at(-1), ...summary(ours) }, pm2: pm2 ? summary(theirs) : null };
}

async function cleanup() {
  for (const child of children) child.kill('SIGTERM');
  if (pm2Home) {
    try { await run(process.execPath, [join(work, 'pm2', 'node_modules', 'pm2', 'bin', 'pm2'), 'kill'], { env: pm2Home }); } catch { /* best effort */ }
    killPm2Apps(pm2Home.PM2_HOME); // what a daemon that died left running
  }
  for (const r of registries) {
    try { if (existsSync(r.registry)) await r.cli('stop', '--all'); } catch { /* best effort */ }
  }
  rmSync(work, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  interrupted = true;
  progress('\ninterrupted: stopping everything the benchmark started...');
  cleanup().finally(() => process.exit(130));
});

async function main() {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('build first: npm run build');
  const t0 = Date.now();
  const loadBefore = os.loadavg().map((x) => round(x, 2));
  progress(`pguard bench${QUICK ? ' (quick)' : ''}${VS_PM2 ? ' vs PM2' : ''}: ${KILLS} kills per recovery run, scales ${SCALES.join(', ')}`);
  const pm2 = VS_PM2 ? await installPm2() : null;
  if (pm2) figures.pm2_version = pm2.version;
  if (want('recovery')) {
    progress('crash recovery floor: an in-process Node respawner...');
    figures.floor_shell = await measured('the floor (shell)', () => floorRecovery('shell'));
    figures.floor_node = await measured('the floor (Node)', () => floorRecovery('node'));
    progress('crash recovery, shell program (runner-driven, no daemon)...');
    figures.recovery_shell = await measured('crash recovery (shell)', () => crashRecovery('shell'));
    progress('crash recovery, Node program...');
    figures.recovery_node = await measured('crash recovery (Node)', () => crashRecovery('node'));
    // The Windows runner under Wine, beside the Linux figures (bench/wine.mjs; skipped without the setup).
    progress('crash recovery of the Windows runner under Wine...');
    figures.recovery_wine = await measured('crash recovery under Wine', () => wineRecovery({ kills: QUICK ? 5 : 10, progress }));
    progress('crash recovery with watch running...');
    figures.recovery_shell_watch = await measured('recovery with watch (shell)', () => crashRecovery('shell', { watch: true }));
    figures.recovery_node_watch = await measured('recovery with watch (Node)', () => crashRecovery('node', { watch: true }));
    if (pm2) {
      const p = await measured('PM2 recovery', () => pm2Figures(pm2));
      figures.pm2 = p;
    }
    progress('backstop recovery (runner and process killed, one healthcheck)...');
    figures.backstop = await measured('the backstop', () => backstopRecovery());
  }
  if (want('cli')) {
    progress(`CLI start-up, 10 running processes, interleaved with node -e 0${pm2 ? ' and pm2 jlist' : ''}...`);
    figures.cli_10 = await measured('CLI with 10', () => cliInterleaved(10, pm2));
  }
  if (want('start')) {
    progress('start throughput and runner memory (50 processes)...');
    figures.start_50 = await measured('start --all of 50', async () => {
      const r = throughputRegistry(50, 'throughput');
      await startThroughput(r); // its first start: files and folders created
      return startThroughput(r);
    });
    const starts = await measured(`start --all --no-wait of 50${pm2 ? ', interleaved with PM2\'s warm start' : ''}`, () => startInterleaved(50, QUICK ? 2 : 5, pm2));
    figures.start_50_no_wait = { ...starts.ours, load: starts.load };
    if (pm2) figures.pm2_start_50 = { ...starts.pm2, load: starts.load };
  }
  if (want('watch')) {
    progress('watch with 100 processes beside an idle node started with it: memory, idle CPU, detection...');
    figures.watch_100 = await measured('watch with 100', () => watchResident({ n: 100, quick: QUICK }));
  }
  if (want('dashboard')) {
    progress('dashboard with 100 processes and a page open, beside an idle node: page load, memory, idle CPU...');
    figures.dashboard_100 = await measured('the dashboard', () => dashboardResident({ n: 100, quick: QUICK }));
  }
  if (CUTS && (want('watch') || want('dashboard'))) {
    progress('watch and the dashboard, variant by variant (what each cut saved)...');
    figures.resident_cuts = await measured('the cuts', () => residentCuts({ n: 100, quick: QUICK }));
  }
  if (want('history')) {
    progress(`history: a ledger of ${QUICK ? '100,000' : '1,000,000'} entries through the real append path...`);
    figures.history = await measured('a long ledger', () => historyScale({ entries: QUICK ? 100_000 : 1_000_000, processes: 100, rounds: QUICK ? 3 : 5, progress }));
  }
  if (want('logs')) {
    progress('logs at 50 MB/s: log_writer and copytruncate, logs -f, Pss with and without the writer...');
    figures.logs = await measured('logs at 50 MB/s', () => benchLogs({ progress, kills: QUICK ? 5 : 20, seconds: QUICK ? 5 : 10 }));
  }
  // The large scales last: starting 1,000 processes lifts the load average (a one-minute mean) far
  // above the cores for minutes, which would flag every figure taken after it.
  if (want('fleet')) {
    figures.fleet = {};
    const helpers = {
      makeRegistry, waitFor, firstLinesOf, wallMs, median, round, pssKb, rssKb, progress, latestRunPid, here, work, pm2,
      interrupted: () => interrupted,
    };
    for (const n of SCALES) {
      progress(`the fleet: ${n} running processes...`);
      figures.fleet[n] = await measured(`the fleet of ${n}`, () => fleetScale(n, helpers));
    }
  }
  if (pm2) { await pm2.cli('kill'); pm2Home = null; }
  if (want('cli')) {
    progress('CLI start-up, 1,000 running processes...');
    figures.cli_1000 = await measured('CLI with 1,000', () => cliInterleaved(QUICK ? 100 : 1000, null));
  }

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gb: round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}` },
    node: process.version,
    quick: QUICK,
    duration_s: round((Date.now() - t0) / 1000),
    load_average: { before: loadBefore, after: os.loadavg().map((x) => round(x, 2)) },
    figures,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  if (ONLY) {
    // A partial run: its figures as JSON, kept apart from the full run's latest.json.
    const file = join(here, 'results', `partial-${ONLY.join('-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.log(`\nwritten to ${file} (${result.duration_s} s)`);
    return;
  }
  writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const f = figures;
  const x = (a, b) => (a && b ? `${round(a / b, 2)}x` : '-');
  const c10 = f.cli_10;
  const rows = [
    ['crash recovery, shell program: p50 / p95 / max', `${f.recovery_shell.p50_ms} / ${f.recovery_shell.p95_ms} / ${f.recovery_shell.max_ms} ms`, `floor ${f.floor_shell.p50_ms} ms (${x(f.recovery_shell.p50_ms, f.floor_shell.p50_ms)})${f.pm2 ? `; PM2 ${f.pm2.recovery_shell.p50_ms} ms (${x(f.recovery_shell.p50_ms, f.pm2.recovery_shell.p50_ms)})` : ''}`],
    ['crash recovery, Node program: p50 / p95 / max', `${f.recovery_node.p50_ms} / ${f.recovery_node.p95_ms} / ${f.recovery_node.max_ms} ms`, `floor ${f.floor_node.p50_ms} ms (${x(f.recovery_node.p50_ms, f.floor_node.p50_ms)})${f.pm2 ? `; PM2 ${f.pm2.recovery_node.p50_ms} ms (${x(f.recovery_node.p50_ms, f.pm2.recovery_node.p50_ms)})` : ''}`],
    ['  the same with watch running, shell / Node p50', `${f.recovery_shell_watch.p50_ms} / ${f.recovery_node_watch.p50_ms} ms`, ''],
    ['crash recovery under Wine (Windows runner): runs.log exit -> next start, p50 / p95 / max', f.recovery_wine ? `${f.recovery_wine.runner_restart.p50_ms} / ${f.recovery_wine.runner_restart.p95_ms} / ${f.recovery_wine.runner_restart.max_ms} ms` : 'skipped (no Wine setup: scripts/wine-setup.sh)', f.recovery_wine ? '(the runner\'s own clock: the exit noticed, leftovers ended, the restart begun)' : ''],
    ['  kill -> new process created, p50 / p95', f.recovery_wine ? `${f.recovery_wine.kill_to_new_process.p50_ms} / ${f.recovery_wine.kill_to_new_process.p95_ms} ms` : '-', f.recovery_wine ? `Linux, same run: kill -> first line ${f.recovery_shell.p50_ms} ms; ${f.recovery_wine.wine}: kill -> exit line ${f.recovery_wine.kill_to_exit_line.p50_ms} ms, start line -> process created ${f.recovery_wine.start_line_to_process.p50_ms} ms (Wine's CreateProcess)` : ''],
    ['backstop: healthcheck returns / new first line', `${f.backstop.healthcheck_ms} / ${f.backstop.first_line_ms} ms`, ''],
    ['`node -e 0` (the floor), interleaved', `${c10.node_e_0_ms} ms`, ''],
    ['status --json, 10 running (median)', `${c10.status_json_ms} ms`, `${x(c10.status_json_ms, c10.node_e_0_ms)} node -e 0${c10.pm2_jlist_ms ? `; pm2 jlist ${c10.pm2_jlist_ms} ms (${x(c10.status_json_ms, c10.pm2_jlist_ms)})` : ''}; targets 1.3x / 0.6x`],
    ['healthcheck, 10 running (median)', `${c10.healthcheck_ms} ms`, `${x(c10.healthcheck_ms, c10.node_e_0_ms)} node -e 0; target 1.4x`],
    ['on-exit (the runner\'s report), 10 running', `${c10.on_exit_ms} ms`, `${x(c10.on_exit_ms, c10.node_e_0_ms)} node -e 0; target 1.4x`],
    [`status --json, ${f.cli_1000.processes} running (median)`, `${f.cli_1000.status_json_ms} ms`, `${x(f.cli_1000.status_json_ms, f.cli_1000.node_e_0_ms)} node -e 0 (${f.cli_1000.node_e_0_ms} ms)`],
    ...(f.history ? (() => {
      const hi = f.history;
      const n = hi.entries.toLocaleString('en-US');
      const v100 = hi.audit_verify.at_100k;
      const m = hi.dashboard_meta.a;
      return [
        [`history: a ledger of ${n} entries (appended in ${hi.generate.seconds} s), disk per entry live / archived (gzip)`, `${hi.disk.bytes_per_entry} / ${hi.disk.archived_bytes_per_entry} B`, `${hi.disk.live_mb} MB in ${hi.disk.segments} segments`],
        [`  status --json / healthcheck with it, against an empty ledger (median of ${hi.rounds}, interleaved)`, `${hi.status_json.a_1m.median_ms} / ${hi.healthcheck_json.a_1m.median_ms} ms`, `${hi.status_json.ratio}x / ${hi.healthcheck_json.ratio}x the empty ledger's; target 1.05x`],
        ['  history --since 24h / the dashboard\'s timeline, 24 h', `${hi.history_since_24h.a_1m.median_ms} / ${hi.timeline_24h.a_1m.median_ms} ms`, `empty ledger ${hi.history_since_24h.b_empty.median_ms} / ${hi.timeline_24h.b_empty.median_ms} ms; first timeline request ${hi.timeline_24h.first_request_ms.a} ms; targets 300 / 300 ms`],
        [`  audit verify of all of it: time / peak RSS`, `${round(hi.audit_verify.at_full.ms / 1000, 1)} s / ${hi.audit_verify.at_full.peak_rss_mb} MB`, `${v100 ? `at 100,000: ${round(v100.ms / 1000, 1)} s / ${v100.peak_rss_mb} MB; ` : ''}target 15 s, memory flat`],
        ['  dashboard: the ledger verified in turns, done after / /api/status meanwhile / later looks', `${round(m.verified_after_ms / 1000, 1)} s / ${m.status_while_verifying_ms ?? '-'} ms / ${m.again_ms} ms`, `first /api/meta answered in ${m.first_ms} ms`],
      ];
    })() : []),
    ...(f.logs ? (() => {
      const w = f.logs.writer;
      const c = f.logs.copytruncate;
      return [
        [`logs, a program writing ${w.rate_mb_s} MB/s, log_max_mb ${w.log_max_mb}, log_writer: largest live log / kept files / lines lost`, `${w.largest_live_log_mb} MB (${w.largest_over_log_max}x) / ${w.kept_file_mb ? `${w.kept_file_mb.min}-${w.kept_file_mb.max} MB` : '-'} / ${w.lines_lost_in_kept_files}`, `target <= 1.1x; written in ${w.written_in_s} s; writer CPU ${w.writer_cpu_percent}%`],
        ['  logs -f beside it: lines missed / lag median, max (lines) / caught up after the last line', `${w.follow.lines_missed} / ${w.follow.lag_lines_median}, ${w.follow.lag_lines_max} / ${w.follow.caught_up_ms_after_last_line} ms`, `printed ${w.follow.printed_mb} MB; CPU ${w.follow.cpu_percent}%`],
        ['  copytruncate (healthcheck every 1 s): largest live log / lines lost', `${c.largest_live_log_mb} MB (${c.largest_over_log_max}x) / ${c.lines_lost_in_kept_files}`, `written in ${c.written_in_s} s`],
        ['  Pss per process without / with log_writer (runner, writer, dd)', `${f.logs.pss.without_writer.pss_kb_median} / ${f.logs.pss.with_writer.pss_kb_median} kB`, `crash recovery p50 without / with: ${f.logs.recovery_shell.without_writer.p50_ms} / ${f.logs.recovery_shell.with_writer.p50_ms} ms`],
      ];
    })() : []),
    ...SCALES.flatMap((n) => {
      const fl = f.fleet[n];
      const p = fl.pm2;
      const big = n === Math.max(...SCALES);
      return [
        [`fleet of ${n}: start --all --no-wait, command back / all first lines`, `${fl.start_all.command_returned_ms} / ${fl.start_all.all_first_lines_ms} ms`, `floor (one sh) ${fl.floor_start.command_returned_ms} / ${fl.floor_start.all_first_lines_ms} ms${!p ? '' : p.daemon_died ? `; PM2's daemon died after starting ${p.started_before_death} of ${n} in ${p.seconds_to_death} s (${p.why})` : p.finished ? `; PM2 start ${p.start_command_returned_ms} / ${p.all_first_lines_ms} ms (${x(fl.start_all.command_returned_ms, p.start_command_returned_ms)})` : `; PM2 had started ${p.started_within_budget} of ${n} after ${p.budget_ms / 60_000} min (stopped there)`}${big ? '; target <= 1x PM2' : ''}`],
        [`  status --json / healthcheck, ${n} running (median of 3)`, `${fl.status_json_ms} / ${fl.healthcheck_ms} ms`, `${p?.finished ? `pm2 jlist ${p.jlist_ms} ms (${x(fl.status_json_ms, p.jlist_ms)}); ` : ''}${big ? 'targets 1 s / 2 s' : ''}`],
        [`  runner Pss per process (median / mean), RSS median`, `${round(fl.runner.pss_kb_median / 1024, 3)} / ${round(fl.runner.pss_kb_mean / 1024, 3)} MB, RSS ${round(fl.runner.rss_kb_median / 1024, 2)} MB`, `${p?.finished ? `PM2's daemon ${p.daemon_rss_mb} MB (${round(p.daemon_rss_mb / n, 3)} MB a process); ` : ''}target Pss 0.2 MB`],
        [`  stop --all of ${n}: time / processes left`, `${fl.stop_all_ms} ms / ${fl.left_after_stop} of ${fl.processes_checked_after_stop}`, !p ? '' : p.daemon_died ? `PM2's daemon had died: ${p.orphans_ended} programs it left running ended by the bench` : `pm2 kill ${p.kill_ms} ms`],
      ];
    }),
    ['start --all, 50: all first lines / command back (1 s check)', `${f.start_50.all_first_lines_ms} / ${f.start_50.command_returned_ms} ms`, f.pm2_start_50 ? `PM2 warm start: ${f.pm2_start_50.all_first_lines_ms} / ${f.pm2_start_50.command_returned_ms} ms (${x(f.start_50.command_returned_ms, f.pm2_start_50.command_returned_ms)})` : ''],
    [`start --all --no-wait, 50: all first lines / command back (median of ${f.start_50_no_wait.rounds}, interleaved)`, `${f.start_50_no_wait.all_first_lines_ms} / ${f.start_50_no_wait.command_returned_ms} ms`, f.pm2_start_50 ? `${x(f.start_50_no_wait.command_returned_ms, f.pm2_start_50.command_returned_ms)} PM2's warm start; target 1x` : ''],
    ['  its first start (a new state directory): first lines / command back', `${f.start_50_no_wait.first_start.all_first_lines_ms} / ${f.start_50_no_wait.first_start.command_returned_ms} ms`, f.pm2_start_50 ? `PM2's first start of these apps: ${f.pm2_start_50.first_start.all_first_lines_ms} / ${f.pm2_start_50.first_start.command_returned_ms} ms (${x(f.start_50_no_wait.first_start.command_returned_ms, f.pm2_start_50.first_start.command_returned_ms)})` : ''],
    ['watch, 100 processes: RSS warm / at 60 s / peak, beside an idle node\'s', `${f.watch_100.rss_warm_mb} / ${f.watch_100.rss_long_mb} / ${f.watch_100.peak_mb} MB`, `idle node ${f.watch_100.floor.rss_warm_mb} / ${f.watch_100.floor.rss_long_mb} / ${f.watch_100.floor.peak_mb} MB (${f.watch_100.ratio.rss_warm}x / ${f.watch_100.ratio.rss_long}x / ${f.watch_100.ratio.peak}x); target 1.2x`],
    ['  watch: idle CPU / process and runner SIGKILLed -> back', `${f.watch_100.idle_cpu_percent}% / ${f.watch_100.vanished_recovery_ms} ms`, 'targets < 0.5% / within a second + restart'],
    ['dashboard, 100 processes, a page open: RSS warm / at 60 s / peak', f.dashboard_100 ? `${f.dashboard_100.rss_warm_mb} / ${f.dashboard_100.rss_long_mb} / ${f.dashboard_100.peak_mb} MB` : 'skipped (no Chromium)', f.dashboard_100 ? `idle node ${f.dashboard_100.floor.rss_warm_mb} / ${f.dashboard_100.floor.rss_long_mb} / ${f.dashboard_100.floor.peak_mb} MB (${f.dashboard_100.ratio.rss_warm}x / ${f.dashboard_100.ratio.rss_long}x / ${f.dashboard_100.ratio.peak}x); target 1.2x` : ''],
    ['  dashboard: page usable (median of 5) / idle CPU', f.dashboard_100 ? `${f.dashboard_100.page_usable_ms_median} ms / ${f.dashboard_100.idle_cpu_percent}%` : '-', 'targets 300 ms / < 0.5%'],
    ...(f.resident_cuts ? [
      ...f.resident_cuts.watch.map((w) => [`  cuts, watch as ${w.variant}: RSS warm / at 60 s`, `${w.rss_warm_mb} / ${w.rss_long_mb} MB`, `${w.ratio.rss_warm}x / ${w.ratio.rss_long}x its idle node; CPU ${w.idle_cpu_percent}%`]),
      ...f.resident_cuts.dashboard.map((d) => [`  cuts, dashboard as ${d.variant}: RSS warm / at 60 s; page usable`, `${d.rss_warm_mb} / ${d.rss_long_mb} MB; ${d.page_usable_ms_median} ms`, `${d.ratio.rss_warm}x / ${d.ratio.rss_long}x its idle node; CPU ${d.idle_cpu_percent}%`]),
    ] : []),
    ['runner RSS per process (median / max), Pss median', `${round(f.start_50.runner_rss_kb_median / 1024, 2)} / ${round(f.start_50.runner_rss_kb_max / 1024, 2)} MB, Pss ${f.start_50.runner_pss_kb_median === null ? '-' : `${round(f.start_50.runner_pss_kb_median / 1024, 2)} MB`}`, f.pm2 ? `10 runners ${f.start_50.ten_runners_mb} MB vs PM2's daemon with 10: ${f.pm2.daemon_rss_mb} MB (${x(f.start_50.ten_runners_mb, f.pm2.daemon_rss_mb)}); targets 2 MB / Pss 0.3 MB` : 'targets 2 MB / Pss 0.3 MB'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const v = Math.max(...rows.map((r) => r[1].length));
  console.log(`\npguard ${result.node} on ${result.machine.cpus} x ${result.machine.cpu}, ${result.date}, load average before ${result.load_average.before.join(' ')}, after ${result.load_average.after.join(' ')}${f.pm2_version ? `, PM2 ${f.pm2_version}` : ''}`);
  for (const [k, val, note] of rows) console.log(`${k.padEnd(w)}  ${val.padEnd(v)}  ${note}`);
  const loaded = Object.entries(figures).filter(([, fig]) => fig && fig.load && fig.load.before[0] > result.machine.cpus).map(([k]) => k);
  if (loaded.length > 0) console.log(`\nwarning: the load average was above ${result.machine.cpus} before ${loaded.join(', ')}: those figures are inflated`);
  console.log(`\nwritten to bench/results/latest.json (${result.duration_s} s)`);
}

main()
  .catch((err) => { console.error(`bench: ${err.message}`); process.exitCode = 1; })
  .finally(() => { if (!interrupted) return cleanup(); });
