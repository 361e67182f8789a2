#!/usr/bin/env node
// npm run bench:resident [-- --quick] [-- --cuts]: the long-lived pguard processes (watch, and the
// dashboard with a page open) beside their floor, an idle Node (`node -e "setInterval(()=>{},1e9)"`)
// started at the same moment and sampled at the same instants, so both have had the same settle
// time and the same load. With 100 running processes (small shell programs) supervised:
//   RSS after a warm-up and after 60 s, the peak (VmHWM), idle CPU over 15 s or more, each as a
//   ratio to the floor of the same pair; for watch, the detection of a process SIGKILLed with its
//   runner; for the dashboard, how soon a page in Chromium shows every row (median of 5 loads).
// --cuts adds the table of what each cut saved: the same pair measured for each variant, one after
// the other in this run. The load average is recorded with every figure. Every process started is
// stopped at the end (also on Ctrl-C), and the temporary folder removed.
//
// bench/run.mjs calls the exported functions; alone, this writes bench/results/resident-latest.json.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CLI = join(root, 'bin', 'pguard.js');
/** A preload that turns v8.setFlagsFromString into nothing: pguard as it runs without its V8 trims (--cuts). */
const NO_TRIM = join(here, 'apps', 'no-v8-flags.cjs');
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1];
const load = () => os.loadavg().map((x) => round(x, 2));

/** The timings of one pair, in seconds from the start of both processes. */
function timings(quick) {
  return quick ? { warm: 5, cpu: 15, long: 30 } : { warm: 10, cpu: 15, long: 60 };
}

async function waitFor(cond, timeoutMs, what, intervalMs = 5) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** What /proc says of a process's memory (kB) and CPU time (clock ticks); null once it is gone. */
export function sampleProcess(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    let pss = null;
    try { pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]); } catch { /* older kernels */ }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rss_kb: kb('VmRSS'), peak_kb: kb('VmHWM'), anon_kb: kb('RssAnon'), file_kb: kb('RssFile'), pss_kb: pss, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

const mb = (kb) => (kb === null || Number.isNaN(kb) ? null : round(kb / 1024));

/** Work folders not closed yet: closed on Ctrl-C too. */
const open = new Set();

/**
 * A work folder with registries of running processes; `close()` stops them all and removes it.
 * Each registry's state directory is derived under XDG_STATE_HOME, as users run it.
 */
export function residentWork() {
  const dir = mkdtempSync(join(os.tmpdir(), 'pguard-resident-')); // 0700
  const registries = [];
  const children = new Set();
  const work = {
    dir, children,
    async running(n, name) {
      const rdir = join(dir, name);
      mkdirSync(rdir, { recursive: true });
      const registry = join(rdir, '.process-registry.json');
      const entries = {};
      for (let i = 0; i < n; i++) entries[`p${i}`] = { command: 'exec sleep 100000' };
      writeFileSync(registry, JSON.stringify(entries, null, 2));
      const env = { ...process.env, PGUARD_REGISTRY: registry, XDG_CONFIG_HOME: join(rdir, 'config'), XDG_STATE_HOME: join(rdir, 'xdg-state'), NO_COLOR: '1' };
      delete env.PGUARD_STATE_DIR;
      const stateDir = JSON.parse(execFileSync(process.execPath, [CLI, 'info', '--json'], { env, encoding: 'utf8' })).state_dir;
      const r = {
        registry, env, stateDir,
        cli: (...args) => run(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 }),
        runs: (p) => { try { return readFileSync(join(stateDir, 'procs', p, 'runs.log'), 'utf8'); } catch { return ''; } },
        record: (p) => JSON.parse(readFileSync(join(stateDir, 'procs', p, 'state.json'), 'utf8')),
      };
      registries.push(r);
      await r.cli('start', '--all', '--no-wait');
      await waitFor(() => Object.keys(entries).every((p) => r.runs(p).includes('start ')), 120_000, `${n} processes to run`, 50);
      return r;
    },
    spawn([command, ...args], env, stdio = 'ignore') {
      const child = spawn(command, args, { env, stdio });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async close() {
      for (const child of children) child.kill('SIGTERM');
      await waitFor(() => children.size === 0, 10_000, 'the children to end', 20).catch(() => { for (const c of children) c.kill('SIGKILL'); });
      for (const r of registries) {
        try { if (existsSync(r.registry)) await r.cli('stop', '--all'); } catch { /* best effort */ }
      }
      rmSync(dir, { recursive: true, force: true });
      open.delete(work);
    },
  };
  open.add(work);
  return work;
}

/** The floor: an idle Node, started beside the subject and sampled with it. */
function startFloor(work) {
  return work.spawn([process.execPath, '-e', 'setInterval(() => {}, 1e9)'], process.env);
}

/**
 * Sample a subject and its floor at the same instants: after the warm-up, idle CPU over `cpu`
 * seconds, then the RSS at `long` seconds and the peak. `t0` is when both were started.
 */
async function samplePair(subject, floor, t0, t) {
  const at = (s) => sleep(t0 + s * 1000 - Date.now());
  await at(t.warm);
  const warm = { subject: sampleProcess(subject.pid), floor: sampleProcess(floor.pid), load: load() };
  const seconds = Math.min(t.cpu, t.long - t.warm);
  await at(t.warm + seconds);
  const cpuEnd = { subject: sampleProcess(subject.pid), floor: sampleProcess(floor.pid) };
  await at(t.long);
  const long = { subject: sampleProcess(subject.pid), floor: sampleProcess(floor.pid), load: load() };
  if (!warm.subject || !long.subject) throw new Error('the process measured ended early');
  const hz = 100; // USER_HZ on Linux
  const cpu = (side) => round(((cpuEnd[side].ticks - warm[side].ticks) / hz / seconds) * 100, 2);
  const side = (s) => ({
    rss_warm_mb: mb(warm[s].rss_kb), rss_long_mb: mb(long[s].rss_kb), peak_mb: mb(long[s].peak_kb),
    anon_mb: mb(long[s].anon_kb), file_mb: mb(long[s].file_kb), pss_mb: mb(long[s].pss_kb), idle_cpu_percent: cpu(s),
  });
  const ours = side('subject');
  const fl = side('floor');
  return {
    seconds: { warm: t.warm, cpu: seconds, long: t.long },
    ...ours,
    floor: fl,
    ratio: { rss_warm: round(ours.rss_warm_mb / fl.rss_warm_mb, 2), rss_long: round(ours.rss_long_mb / fl.rss_long_mb, 2), peak: round(ours.peak_mb / fl.peak_mb, 2) },
    load: { warm: warm.load, long: long.load },
  };
}

/**
 * The command line of a variant. 'shipped': as users run it, `pguard ...` (bin/pguard.js run as a
 * command: its first line, for sh, starts Node with the long-lived commands' start-up flags). The
 * cuts (--cuts), each without one more: 'node-direct', `node bin/pguard.js ...` (no start-up
 * flags); 'no-v8-trim', nor the V8 flags set from within; 'full-cli', nor the hot bundle (the full
 * CLI, with yargs and the ES module loader, as watch ran before).
 */
function argvOf(command, variant) {
  switch (variant) {
    case 'shipped': return [CLI, ...command];
    case 'node-direct': return [process.execPath, CLI, ...command];
    case 'no-v8-trim': return [process.execPath, '--require', NO_TRIM, CLI, ...command];
    case 'full-cli': return [process.execPath, '--require', NO_TRIM, join(root, 'dist', 'bundle', 'pguard.js'), ...command];
    default: throw new Error(`unknown variant ${variant}`);
  }
}

/**
 * `pguard watch --foreground` with n running processes, beside its floor; then the detection of
 * a process SIGKILLed together with its runner (until watch has started it again).
 */
export async function watchResident({ n = 100, quick = false, variant = 'shipped', detect = true, work: given } = {}) {
  const work = given ?? residentWork();
  try {
    const r = await work.running(n, `watch-${variant}`);
    const loadBefore = load();
    const t0 = Date.now();
    const watch = work.spawn(argvOf(['watch', '--foreground'], variant), r.env);
    const floor = startFloor(work);
    const pair = await samplePair(watch, floor, t0, timings(quick));
    floor.kill('SIGTERM');
    let detection = null;
    if (detect) {
      const rec = r.record('p0');
      const pid = Number(r.runs('p0').trim().split('\n').filter((l) => l.startsWith('start ')).at(-1)?.split(' ')[2]);
      process.kill(rec.runner.pid, 'SIGKILL');
      process.kill(-pid, 'SIGKILL');
      const killedAt = Date.now();
      await waitFor(() => r.runs('p0').trim().split('\n').filter((l) => l.startsWith('start ')).length >= 2, 10_000, 'watch to start p0 again', 2);
      detection = { vanished_recovery_ms: Date.now() - killedAt };
    }
    watch.kill('SIGTERM');
    return { processes: n, variant, ...pair, ...detection, load_before: loadBefore, load_after: load() };
  } finally {
    if (!given) await work.close();
  }
}

/**
 * `pguard dashboard` with n running processes: how soon a page shows every row (median of 5 loads
 * after one that warms the browser), then one page left open, beside the floor started with the
 * dashboard. Null without Chromium.
 */
export async function dashboardResident({ n = 100, quick = false, variant = 'shipped', work: given } = {}) {
  const chromiumPath = process.env.PGUARD_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) return null;
  const work = given ?? residentWork();
  const { chromium } = await import('playwright-core');
  let browser = null;
  try {
    const r = await work.running(n, `dashboard-${variant}`);
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_FLAGS });
    const loadBefore = load();
    const t0 = Date.now();
    const dash = work.spawn(argvOf(['dashboard', '--port', '0'], variant), r.env, ['ignore', 'pipe', 'ignore']);
    const floor = startFloor(work);
    let out = '';
    dash.stdout.on('data', (d) => { out += d; });
    const url = await waitFor(() => /^pguard dashboard: (\S+)/.exec(out)?.[1], 10_000, 'the dashboard');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const loads = [];
    for (let i = 0; i < 6; i++) {
      const page = await context.newPage();
      const s = Date.now();
      await page.goto(url);
      await page.locator(`tr[data-process="p${n - 1}"]`).waitFor();
      if (i > 0) loads.push(Date.now() - s); // the first load warms the browser's caches
      await page.close();
    }
    const page = await context.newPage();
    await page.goto(url);
    await page.locator(`tr[data-process="p${n - 1}"]`).waitFor();
    const t = timings(quick);
    // The warm-up counts from the page's opening: the loads above are not idle.
    const pair = await samplePair(dash, floor, t0, { ...t, warm: Math.max(t.warm, (Date.now() - t0) / 1000 + 2) });
    dash.kill('SIGINT');
    return { processes: n, variant, page_usable_ms_median: median(loads), page_usable_ms: loads, ...pair, load_before: loadBefore, load_after: load() };
  } finally {
    await browser?.close();
    if (!given) await work.close();
  }
}

/** What each cut saved: the same pair for each variant, one after the other in this run. */
export async function residentCuts({ n = 100, quick = false } = {}) {
  const work = residentWork();
  try {
    const rows = [];
    for (const variant of ['full-cli', 'no-v8-trim', 'node-direct', 'shipped']) rows.push(await watchResident({ n, quick, variant, detect: false, work }));
    const dash = [];
    for (const variant of ['no-v8-trim', 'node-direct', 'shipped']) {
      const d = await dashboardResident({ n, quick, variant, work });
      if (d) dash.push(d);
    }
    return { watch: rows, dashboard: dash };
  } finally {
    await work.close();
  }
}

function describe(f) {
  return `RSS ${f.rss_warm_mb} MB warm / ${f.rss_long_mb} MB at ${f.seconds.long} s / peak ${f.peak_mb} MB (${f.ratio.rss_warm}x / ${f.ratio.rss_long}x / ${f.ratio.peak}x the floor: ${f.floor.rss_warm_mb} / ${f.floor.rss_long_mb} / ${f.floor.peak_mb} MB); `
    + `anon ${f.anon_mb} MB, file ${f.file_mb} MB, Pss ${f.pss_mb} MB; idle CPU ${f.idle_cpu_percent}% over ${f.seconds.cpu} s (floor ${f.floor.idle_cpu_percent}%); load ${f.load.warm[0]} -> ${f.load.long[0]}`;
}

async function main() {
  const quick = process.argv.includes('--quick');
  const cuts = process.argv.includes('--cuts');
  if (!existsSync(join(root, 'dist', 'bundle', 'pguard.js'))) throw new Error('build first: npm run build');
  const started = Date.now();
  const result = { date: new Date().toISOString(), node: process.version, quick, machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model }, load_average: { before: load() } };
  process.stderr.write('watch with 100 running processes, beside an idle node...\n');
  result.watch_100 = await watchResident({ quick });
  process.stderr.write(`  ${describe(result.watch_100)}; detection ${result.watch_100.vanished_recovery_ms} ms\n`);
  process.stderr.write('dashboard with 100 running processes and a page open, beside an idle node...\n');
  result.dashboard_100 = await dashboardResident({ quick });
  process.stderr.write(result.dashboard_100 ? `  ${describe(result.dashboard_100)}; page usable ${result.dashboard_100.page_usable_ms_median} ms (median of 5)\n` : '  skipped: no Chromium\n');
  if (cuts) {
    process.stderr.write('what each cut saved (the same pair per variant)...\n');
    result.cuts = await residentCuts({ quick });
    for (const row of [...result.cuts.watch.map((x) => ['watch', x]), ...result.cuts.dashboard.map((x) => ['dashboard', x])]) {
      process.stderr.write(`  ${row[0]} ${row[1].variant}: ${describe(row[1])}\n`);
    }
  }
  result.load_average.after = load();
  result.duration_s = round((Date.now() - started) / 1000);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'resident-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written to bench/results/resident-latest.json (${result.duration_s} s; load average ${result.load_average.before.join(' ')} before, ${result.load_average.after.join(' ')} after)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted: stopping everything the benchmark started...\n');
    Promise.allSettled([...open].map((w) => w.close())).finally(() => process.exit(130));
  });
  main().catch((err) => { console.error(`bench: ${err.message}`); process.exitCode = 1; });
}
