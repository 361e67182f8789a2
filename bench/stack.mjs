#!/usr/bin/env node
// node bench/stack.mjs [--vs pm2] [--quick]: the real stack of test/stack (PostgreSQL with its own
// cluster, Redis, the Python API, nginx in front; test/fixtures/stack/stack.mjs) under pguard, as
// its users run it (`pguard watch` beside it; the state directory derived under XDG_STATE_HOME),
// and with --vs pm2 the same stack, on ports of its own, under PM2 (installed into a temporary
// folder with npm; an ecosystem file; max_memory_restart for the leak), measured interleaved in
// the same run:
//   - postgres crash: kill -9 of the postmaster to `SELECT 1` answering (and to nginx's /health 200
//     through the chain), p50 over N kills, each after a stable run (6 s up);
//   - hang: SIGSTOP of the API to the API answering again (PM2 has no probes: checked that it is
//     still hung after a while, then SIGCONT);
//   - leak: 10 MB/s under an 80 MB limit, how far over the limit its RSS went before it was killed
//     (its own last report of its RSS), and pguard's own figure (its alert);
//   - bad deploy: `pguard register api <broken>` + `pguard restart api` to rolled back and answering
//     (PM2 has no rollback);
//   - reboot: kill -9 of everything (runners, processes, watch / PM2's daemon), then `pguard boot`
//     vs `pm2 resurrect`, to nginx answering 200 through the chain.
// Every figure carries its samples and the load average before and after it. Writes
// bench/results/stack-<time>.json. Everything it starts is stopped at the end (also on Ctrl-C),
// by PID.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  FIXTURE_DIR, NGINX, PG_BIN, PYTHON, REDIS, groupMembers, httpStatus, makeStack, missing, pguardRegistry, portFree, procState, select1,
} from '../test/fixtures/stack/stack.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CLI = join(root, 'bin', 'pguard.js');
const QUICK = process.argv.includes('--quick');
const VS_PM2 = process.argv.some((a, i) => a === '--vs=pm2' || (a === '--vs' && process.argv[i + 1] === 'pm2'));
const N = { kills: QUICK ? 2 : 5, hangs: QUICK ? 1 : 3, leaks: QUICK ? 1 : 2, reboots: QUICK ? 1 : 3 };
const LEAK = { limit_mb: 80, rate_mb_s: 10 };
const STABLE_S = 6; // every kill comes after a run this long (pguard's min_uptime is 5 s here)

const cleanups = [];
let interrupted = false;
const progress = (line) => process.stderr.write(`${line}\n`);
const nowMs = () => performance.timeOrigin + performance.now();
const round = (x, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => { const s = sorted(xs); return s.length === 0 ? null : s[Math.ceil(s.length / 2) - 1]; };
const load = () => os.loadavg().map((x) => round(x, 2));
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function waitFor(cond, timeoutMs, what, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (interrupted) throw new Error('interrupted');
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Samples with their p50, min and max, and the load average before and after them. */
function figure(samples, loadBefore, extra = {}) {
  const xs = samples.filter((x) => typeof x === 'number');
  return { p50: median(xs), min: xs.length ? Math.min(...xs) : null, max: xs.length ? Math.max(...xs) : null, samples, load: { before: loadBefore, after: load() }, ...extra };
}

function startTimeOf(pid) {
  try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]; } catch { return null; }
}
function pgidOf(pid) {
  try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[2]); } catch { return null; }
}
/** Every descendant of `pid` (Linux /proc), deepest last. */
function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let kids = [];
    try { kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { /* gone */ }
    for (const k of kids) { out.push(k); walk(k); }
  };
  walk(pid);
  return out;
}
/** SIGKILL each {pid, startTime} that is still the same process, and each group that still has members. */
function killAll(ids, groups) {
  for (const { pid, startTime } of ids) if (startTimeOf(pid) === startTime && procState(pid) !== 'Z') { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const g of groups) if (groupMembers(g).length > 0) { try { process.kill(-g, 'SIGKILL'); } catch { /* empty */ } }
}
/** As after a reboot: no killed PID left, not even as a zombie waiting for init to reap it. */
async function reaped(ids, groups) {
  await waitFor(() => ids.every(({ pid, startTime }) => startTimeOf(pid) !== startTime) && groups.every((g) => groupMembers(g).length === 0), 30_000, 'every killed process reaped', 50);
}

// ---- pguard's side --------------------------------------------------------------------------
async function pguardSide() {
  const stack = await makeStack();
  const registry = join(stack.root, '.process-registry.json');
  writeFileSync(registry, `${JSON.stringify({
    ...pguardRegistry(stack),
    leak: { command: `exec ${PYTHON} -u ${FIXTURE_DIR}/leak.py ${LEAK.rate_mb_s}`, max_memory_mb: LEAK.limit_mb, restart_cooldown: 0, min_uptime: 5 },
  }, null, 2)}\n`);
  // As users run it: no PGUARD_STATE_DIR, the state directory derived under XDG_STATE_HOME.
  const env = { ...process.env, PGUARD_REGISTRY: registry, XDG_CONFIG_HOME: join(stack.root, 'config'), XDG_STATE_HOME: join(stack.root, 'xdg-state'), NO_COLOR: '1' };
  delete env.PGUARD_STATE_DIR;
  const cli = async (...args) => {
    try { const r = await run(process.execPath, [CLI, ...args], { env, cwd: stack.root, maxBuffer: 16 << 20 }); return { code: 0, stdout: r.stdout, stderr: r.stderr }; } catch (err) { return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }; }
  };
  const stateDir = JSON.parse((await cli('info', '--json')).stdout).state_dir;
  const procs = join(stateDir, 'procs');
  const status = async (name) => JSON.parse((await cli('status', name, '--json')).stdout)[0];
  /** Every run and runner this registry started: {pid, startTime}, and the runs' groups. */
  const started = () => {
    const ids = [];
    const groups = [];
    let names = [];
    try { names = readdirSync(procs); } catch { return { ids, groups }; }
    for (const n of names) {
      try {
        for (const l of readFileSync(join(procs, n, 'runs.log'), 'utf8').split('\n')) {
          const f = l.split(' ');
          if (f[0] === 'start') { ids.push({ pid: Number(f[2]), startTime: f[3] }); groups.push(Number(f[2])); }
        }
      } catch { /* none */ }
      try { const r = JSON.parse(readFileSync(join(procs, n, 'state.json'), 'utf8')).runner; if (r) ids.push({ pid: r.pid, startTime: r.startTime }); } catch { /* none */ }
    }
    return { ids, groups };
  };
  /** pguard processes at work for this registry (background jobs, reports), other than the watch. */
  const jobs = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== watch?.pid).filter((e) => {
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (!cmd.includes('pguard.js') || procState(Number(e)) === 'Z') return false;
      return cmd.includes(registry) || readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(`PGUARD_REGISTRY=${registry}`);
    } catch { return false; }
  });
  let watch = null;
  const side = {
    name: 'pguard', stack, cli, status,
    pgLog: () => { try { return readFileSync(join(stateDir, 'logs', 'postgres.log'), 'utf8'); } catch { return ''; } },
    async startWatch() {
      watch = spawn(process.execPath, [CLI, 'watch', '--foreground'], { env, stdio: 'ignore', cwd: stack.root });
      await waitFor(() => existsSync(join(stateDir, 'watch.expected')), 15_000, 'watch to start');
    },
    stopWatch() { if (watch) { try { watch.kill('SIGKILL'); } catch { /* gone */ } watch = null; } },
    async start() {
      const r = await cli('start', 'nginx');
      if (r.code !== 0) throw new Error(`pguard start nginx: ${r.stdout}${r.stderr}`);
      await side.startWatch();
    },
    /** Up, every probe passing, nginx 200 through the chain, no pguard job pending. */
    async settled() {
      if (jobs().length > 0) return false;
      for (const n of ['postgres', 'redis', 'api', 'nginx']) {
        const v = await status(n);
        if (v.status !== 'running' || !v.health.every((h) => h.ok === true)) return false;
      }
      return (await httpStatus(`http://127.0.0.1:${stack.ports.nginx}/health`)) === 200;
    },
    async pid(name) { return (await status(name)).pid; },
    async upForS(name) { return (await status(name)).uptime_s ?? 0; },
    async killEverything() {
      const { ids, groups } = started();
      side.stopWatch();
      const runners = ids.filter(({ pid }) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pguard-runner'); } catch { return false; } });
      killAll(runners, []); // runners first: none restarts what dies next
      killAll(ids, groups);
      await reaped(ids, groups);
    },
    async reboot() { return cli('boot'); },
    async afterReboot() { await side.startWatch(); },
    async leak() {
      const logFile = join(stateDir, 'logs', 'leak.log');
      const before = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
      await cli('start', 'leak', '--no-wait');
      const first = await waitFor(() => side.pid('leak'), 10_000, 'the leak to run');
      await waitFor(async () => { const p = await side.pid('leak'); return p && p !== first; }, 60_000, 'the leak restarted', 100);
      await cli('stop', 'leak');
      const alerts = JSON.parse((await cli('alerts', '--json')).stdout).filter((a) => a.kind === 'resource' && a.process === 'leak');
      const said = /\(\+(\d+(?:\.\d+)?)%\)/.exec(alerts.at(-1)?.message ?? '')?.[1];
      return { peak: peakOf(readFileSync(logFile, 'utf8').slice(before)), pguard_says_over_pct: said === undefined ? null : Number(said) };
    },
    async cleanup() {
      side.stopWatch();
      if (existsSync(registry)) await cli('stop', '--all');
      for (let i = 0; i < 3; i++) { const { ids, groups } = started(); for (const p of jobs()) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } } killAll(ids, groups); await sleep(100); }
      rmSync(stack.root, { recursive: true, force: true });
    },
  };
  cleanups.push(() => side.cleanup());
  return side;
}

/** The leak's largest own RSS report of its first run in `text` (up to its second "leaking" line). */
function peakOf(text) {
  const firstRun = text.split(/^leaking .*$/m)[1] ?? '';
  return Math.max(...[...firstRun.matchAll(/^rss (\d+(?:\.\d+)?) MB$/gm)].map((x) => Number(x[1])));
}

// ---- PM2's side -----------------------------------------------------------------------------
async function pm2Side() {
  const dir = mkdtempSync('/tmp/pguard-stack-pm2-');
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  progress('installing PM2 into a temporary folder (npm)...');
  await run('npm', ['install', '--prefix', dir, 'pm2@latest', '--no-audit', '--no-fund', '--loglevel=error'], { maxBuffer: 64 << 20 });
  const bin = join(dir, 'node_modules', 'pm2', 'bin', 'pm2');
  const version = JSON.parse(readFileSync(join(dir, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  const env = { ...process.env, PM2_HOME: join(dir, 'home'), PM2_DISABLE_COLORS: 'true' };
  const pm2 = (...args) => run(process.execPath, [bin, ...args], { env, maxBuffer: 64 << 20 });
  const stack = await makeStack();
  const log = (n) => join(stack.root, `${n}.log`);
  const app = (name, argv, extra = {}) => ({
    name, script: argv[0], args: argv.slice(1), interpreter: 'none', out_file: log(name), error_file: log(name),
    autorestart: true, restart_delay: 0, max_restarts: 1000, ...extra,
  });
  const chain = join(stack.root, 'chain.config.json');
  writeFileSync(chain, JSON.stringify({ apps: [
    // PM2's stop signal is SIGINT (postgres's fast shutdown); no depends_on: started in this order, at once.
    app('postgres', stack.argv.postgres, { kill_timeout: 30_000 }),
    app('redis', stack.argv.redis),
    app('api', stack.argv.api, { env: stack.apiEnv }),
    app('nginx', stack.argv.nginx),
  ] }, null, 2));
  const leakEco = join(stack.root, 'leak.config.json');
  writeFileSync(leakEco, JSON.stringify({ apps: [app('leak', [PYTHON, '-u', join(FIXTURE_DIR, 'leak.py'), String(LEAK.rate_mb_s)], { max_memory_restart: `${LEAK.limit_mb}M` })] }, null, 2));
  const list = async () => JSON.parse((await pm2('jlist')).stdout);
  const daemon = () => { try { return Number(readFileSync(join(env.PM2_HOME, 'pm2.pid'), 'utf8')); } catch { return null; } };
  /** The daemon and everything under it, and their groups (never this bench's own), as {pid, startTime}. */
  const tree = () => {
    const d = daemon();
    if (!d || startTimeOf(d) === null) return { ids: [], groups: [] };
    const pids = [d, ...descendants(d)];
    const own = pgidOf(process.pid);
    const groups = [...new Set(pids.map(pgidOf))].filter((g) => g !== null && g > 1 && g !== own);
    return { ids: pids.map((pid) => ({ pid, startTime: startTimeOf(pid) })).filter((x) => x.startTime), groups };
  };
  const side = {
    name: 'pm2', stack, version,
    pgLog: () => { try { return readFileSync(log('postgres'), 'utf8'); } catch { return ''; } },
    async start() {
      await pm2('start', chain);
      await waitFor(async () => (await httpStatus(`http://127.0.0.1:${stack.ports.nginx}/health`)) === 200, 30_000, 'PM2: nginx 200');
      await pm2('save');
    },
    async settled() {
      const l = await list();
      return ['postgres', 'redis', 'api', 'nginx'].every((n) => l.find((p) => p.name === n)?.pm2_env?.status === 'online')
        && (await select1(stack.ports.pg)) && (await httpStatus(`http://127.0.0.1:${stack.ports.nginx}/health`)) === 200;
    },
    async pid(name) { return (await list()).find((p) => p.name === name)?.pid ?? null; },
    async upForS(name) { const p = (await list()).find((x) => x.name === name); return p ? (Date.now() - p.pm2_env.pm_uptime) / 1000 : 0; },
    async killEverything() {
      const { ids, groups } = tree();
      const d = ids[0];
      killAll([d], []); // the daemon first: it restarts nothing that dies next
      killAll(ids, groups);
      await reaped(ids, groups);
    },
    async reboot() { try { const r = await pm2('resurrect'); return { code: 0, stdout: r.stdout, stderr: r.stderr }; } catch (err) { return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }; } },
    async afterReboot() {},
    async leak() {
      const before = existsSync(log('leak')) ? readFileSync(log('leak'), 'utf8').length : 0;
      await pm2('start', leakEco);
      const first = await waitFor(() => side.pid('leak'), 10_000, 'PM2: the leak to run');
      await waitFor(async () => { const p = await side.pid('leak'); return p && p !== first; }, 120_000, 'PM2: the leak restarted', 100);
      await pm2('delete', 'leak');
      return { peak: peakOf(readFileSync(log('leak'), 'utf8').slice(before)), pm2_says_over_pct: null };
    },
    async cleanup() {
      const { ids, groups } = tree();
      try { await pm2('kill'); } catch { /* best effort */ }
      killAll(ids, groups);
      rmSync(stack.root, { recursive: true, force: true });
    },
  };
  cleanups.unshift(() => side.cleanup());
  return side;
}

// ---- the measurements -------------------------------------------------------------------------
/** Settled, and the process up at least STABLE_S: the same rhythm for every supervisor. */
async function ready(side, name) {
  await waitFor(() => side.settled(), 90_000, `${side.name}: the stack settled`, 200);
  await waitFor(async () => (await side.upForS(name)) >= STABLE_S, 30_000, `${side.name}: ${name} up ${STABLE_S} s`, 250);
}

async function crash(side) {
  await ready(side, 'postgres');
  const pid = await side.pid('postgres');
  const t0 = nowMs();
  process.kill(pid, 'SIGKILL');
  await waitFor(() => select1(side.stack.ports.pg), 60_000, `${side.name}: SELECT 1`, 10);
  const select = nowMs() - t0;
  await waitFor(async () => (await httpStatus(`http://127.0.0.1:${side.stack.ports.nginx}/health`)) === 200, 60_000, `${side.name}: nginx 200`, 10);
  const health = nowMs() - t0;
  // The supervisor's part: the kill to the new postmaster's first log line (postgres stamps its
  // lines to the ms); the rest is postgres's own start and crash recovery.
  const started = [...side.pgLog().matchAll(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC \[\d+\] LOG:  starting PostgreSQL/gm)]
    .map((x) => Date.parse(`${x[1]}T${x[2]}Z`)).find((at) => at >= Math.floor(t0));
  return { select1_ms: round(select), health_ms: round(health), new_postmaster_ms: started === undefined ? null : round(started - t0) };
}

async function hang(side) {
  await ready(side, 'api');
  const pid = await side.pid('api');
  const t0 = nowMs();
  process.kill(pid, 'SIGSTOP');
  await waitFor(async () => (await httpStatus(`http://127.0.0.1:${side.stack.ports.api}/health`, 500)) === 200, 60_000, `${side.name}: the API answering`, 10);
  return round(nowMs() - t0);
}

/** PM2 has no probes: is its stopped API still hung after `ms`? (Then SIGCONT.) */
async function pm2Hang(side, ms) {
  await ready(side, 'api');
  const pid = await side.pid('api');
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + ms;
  let answered = false;
  while (Date.now() < deadline && !answered) answered = (await httpStatus(`http://127.0.0.1:${side.stack.ports.api}/health`, 500)) === 200;
  process.kill(pid, 'SIGCONT');
  return { answered_within_ms: answered ? ms : null, still_hung_after_s: answered ? null : round(ms / 1000, 1), same_pid: (await side.pid('api')) === pid };
}

async function badDeploy(side) {
  await ready(side, 'api');
  const good = (await side.status('api')).command;
  // Its generation is known-good: a run of min_uptime with its probe passing.
  await waitFor(async () => /^\s*\d+\*\s+\S+\s+\d{4}-/m.test((await side.cli('history', 'api', '--generations')).stdout), 30_000, 'the API generation known-good', 250);
  const reg = await side.cli('register', 'api', `exec ${PYTHON} -u ${FIXTURE_DIR}/api_broken.py`);
  if (reg.code !== 0) throw new Error(`register: ${reg.stderr}`);
  const t0 = nowMs();
  const restart = side.cli('restart', 'api');
  await waitFor(async () => {
    const v = await side.status('api');
    return v.command === good && v.status === 'running' && (await httpStatus(`http://127.0.0.1:${side.stack.ports.api}/health`)) === 200;
  }, 300_000, 'pguard: the API rolled back and answering', 100);
  const s = round((nowMs() - t0) / 1000, 1);
  const r = await restart;
  const alert = JSON.parse((await side.cli('alerts', '--json')).stdout).find((a) => a.kind === 'rollback' && a.process === 'api');
  return { seconds: s, restart_exit_code: r.code, rollback_alert: alert?.message ?? null };
}

async function reboot(side) {
  await waitFor(() => side.settled(), 90_000, `${side.name}: the stack settled`, 200);
  await side.killEverything();
  for (const p of Object.values(side.stack.ports)) await waitFor(() => portFree(p), 10_000, `port ${p} free`, 50);
  const t0 = nowMs();
  const res = await side.reboot();
  const returned = nowMs() - t0;
  await waitFor(async () => (await httpStatus(`http://127.0.0.1:${side.stack.ports.nginx}/health`)) === 200, 120_000, `${side.name}: nginx 200 after the reboot`, 10);
  const ms = nowMs() - t0;
  await side.afterReboot();
  return { ms: round(ms), command_returned_ms: round(returned), command_code: res.code };
}

async function versions() {
  const v = async (cmd, args, re = /(\d+\.\d+(?:\.\d+)?)/) => {
    try { const r = await run(cmd, args); return re.exec(`${r.stdout}${r.stderr}`)?.[1] ?? null; } catch (err) { return re.exec(`${err.stdout ?? ''}${err.stderr ?? ''}`)?.[1] ?? null; }
  };
  return {
    pguard: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
    postgres: await v(join(PG_BIN, 'postgres'), ['--version']), redis: await v(REDIS, ['--version'], /v=(\S+)/), nginx: await v(NGINX, ['-v']), python: await v(PYTHON, ['--version']),
  };
}

async function main() {
  const lacking = missing();
  if (lacking.length > 0) throw new Error(`this machine lacks ${lacking.join(', ')}`);
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('build first: npm run build');
  const t0 = Date.now();
  const loadBefore = load();
  progress(`pguard stack bench${QUICK ? ' (quick)' : ''}${VS_PM2 ? ' vs PM2' : ''}: ${N.kills} postgres kills, ${N.hangs} hangs, ${N.leaks} leaks, 1 bad deploy, ${N.reboots} reboots each`);
  const pm2 = VS_PM2 ? await pm2Side() : null;
  const pg = await pguardSide();
  const sides = pm2 ? [pg, pm2] : [pg];
  progress('starting both stacks...');
  for (const s of sides) await s.start();
  const out = { pguard: {}, pm2: pm2 ? { version: pm2.version } : null };
  /** Each round, every side in turn (who goes first alternates). */
  const interleaved = async (rounds, fn) => {
    const res = new Map(sides.map((s) => [s, []]));
    for (let i = 0; i < rounds; i++) for (const s of i % 2 ? [...sides].reverse() : sides) res.get(s).push(await fn(s));
    return res;
  };

  progress('postgres crash: kill -9 of the postmaster...');
  let lb = load();
  const crashes = await interleaved(N.kills, crash);
  for (const s of sides) {
    const r = crashes.get(s);
    out[s.name].crash_to_select1_ms = figure(r.map((x) => x.select1_ms), lb);
    out[s.name].crash_to_health_200_ms = figure(r.map((x) => x.health_ms), lb);
    out[s.name].crash_to_new_postmaster_ms = figure(r.map((x) => x.new_postmaster_ms), lb, { note: 'from postgres\'s log: its "starting PostgreSQL" line, stamped to the ms' });
  }

  progress('hang: SIGSTOP of the API...');
  lb = load();
  const hangs = [];
  for (let i = 0; i < N.hangs; i++) hangs.push(await hang(pg));
  out.pguard.hang_to_api_answering_ms = figure(hangs, lb);
  if (pm2) {
    const wait = Math.max(20_000, 2 * median(hangs));
    lb = load();
    out.pm2.hang = { ...(await pm2Hang(pm2, wait)), load: { before: lb, after: load() }, note: 'no health probes: a stopped process is never ended' };
  }

  progress(`leak: ${LEAK.rate_mb_s} MB/s under ${LEAK.limit_mb} MB...`);
  lb = load();
  const leaks = await interleaved(N.leaks, (s) => s.leak());
  for (const s of sides) {
    const r = leaks.get(s);
    out[s.name].leak_over_limit_pct = figure(r.map((x) => round((x.peak / LEAK.limit_mb - 1) * 100, 1)), lb, {
      ...LEAK, peak_rss_mb: r.map((x) => x.peak), ...(s === pg ? { pguard_says_over_pct: r.map((x) => x.pguard_says_over_pct) } : { note: 'max_memory_restart, PM2\'s default check interval (30 s)' }),
    });
  }

  progress('bad deploy: register a broken API, restart it...');
  lb = load();
  out.pguard.bad_deploy = { ...(await badDeploy(pg)), load: { before: lb, after: load() } };
  if (pm2) out.pm2.bad_deploy = 'n/a: PM2 has no definition generations to roll back to';

  progress('reboot: kill -9 of everything, then pguard boot / pm2 resurrect...');
  lb = load();
  const boots = await interleaved(N.reboots, reboot);
  for (const s of sides) {
    const r = boots.get(s);
    out[s.name].reboot_to_health_200_ms = figure(r.map((x) => x.ms), lb, { command_returned_ms: r.map((x) => x.command_returned_ms), command_codes: r.map((x) => x.command_code) });
  }

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gb: round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}` },
    node: process.version,
    versions: await versions(),
    quick: QUICK,
    duration_s: round((Date.now() - t0) / 1000),
    load_average: { before: loadBefore, after: load() },
    figures: out,
  };
  const name = `stack-${result.date.slice(0, 16).replace(':', '-')}Z.json`;
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', name), `${JSON.stringify(result, null, 2)}\n`);

  const p = out.pguard;
  const m = out.pm2;
  const rows = [
    [`postgres kill -9 -> SELECT 1, p50 (min-max) of ${N.kills}`, `${p.crash_to_select1_ms.p50} ms (${p.crash_to_select1_ms.min}-${p.crash_to_select1_ms.max})`, m ? `${m.crash_to_select1_ms.p50} ms (${m.crash_to_select1_ms.min}-${m.crash_to_select1_ms.max})` : '-'],
    ['  kill -9 -> the new postmaster\'s first log line, p50', `${p.crash_to_new_postmaster_ms.p50} ms`, m ? `${m.crash_to_new_postmaster_ms.p50} ms` : '-'],
    ['  -> nginx /health 200 through the chain, p50', `${p.crash_to_health_200_ms.p50} ms`, m ? `${m.crash_to_health_200_ms.p50} ms` : '-'],
    [`hang (SIGSTOP of the API) -> answering, p50 of ${N.hangs}`, `${round(p.hang_to_api_answering_ms.p50 / 1000, 1)} s`, m ? (m.hang.still_hung_after_s ? `n/a (no probes): still hung after ${m.hang.still_hung_after_s} s` : `answered (${JSON.stringify(m.hang)})`) : '-'],
    [`leak ${LEAK.rate_mb_s} MB/s, limit ${LEAK.limit_mb} MB: RSS over the limit at the kill, p50 of ${N.leaks}`, `+${p.leak_over_limit_pct.p50}% (pguard says +${p.leak_over_limit_pct.pguard_says_over_pct.join('/+')}%)`, m ? `+${m.leak_over_limit_pct.p50}% (max_memory_restart)` : '-'],
    ['bad deploy -> rolled back and answering', `${p.bad_deploy.seconds} s`, m ? 'n/a (no rollback)' : '-'],
    [`reboot: kill -9 all -> boot / resurrect -> nginx 200, p50 of ${N.reboots}`, `${p.reboot_to_health_200_ms.p50} ms`, m ? `${m.reboot_to_health_200_ms.p50} ms` : '-'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const v = Math.max(...rows.map((r) => r[1].length));
  console.log(`\nthe stack (PostgreSQL ${result.versions.postgres}, Redis ${result.versions.redis}, nginx ${result.versions.nginx}, Python ${result.versions.python}) under pguard ${result.versions.pguard}${m ? ` and PM2 ${m.version}` : ''}, ${result.date}, ${result.machine.cpus} x ${result.machine.cpu}, load average before ${loadBefore.join(' ')}, after ${result.load_average.after.join(' ')}`);
  console.log(`${'measure'.padEnd(w)}  ${'pguard'.padEnd(v)}  PM2`);
  for (const [k, a, b] of rows) console.log(`${k.padEnd(w)}  ${a.padEnd(v)}  ${b}`);
  console.log(`\nwritten to bench/results/${name} (${result.duration_s} s)`);
}

async function cleanup() {
  for (const c of cleanups.splice(0)) { try { await c(); } catch (err) { progress(`cleanup: ${err.message}`); } }
}

process.once('SIGINT', () => {
  interrupted = true;
  progress('\ninterrupted: stopping everything the benchmark started...');
  cleanup().finally(() => process.exit(130));
});

main()
  .catch((err) => { console.error(`bench/stack: ${err.stack ?? err.message}`); process.exitCode = 1; })
  .finally(() => { if (!interrupted) return cleanup(); });
