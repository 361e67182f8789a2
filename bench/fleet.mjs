// The fleet curve of `npm run bench` (bench/run.mjs passes its helpers in): n small shell programs
// (bench/apps/shell-prog.sh), for each n of the curve, as users run them:
//   start --all --no-wait (command back, and every program's first line), beside its floor (one sh
//   starting the same n programs detached, each in its own session, with nothing recorded) and,
//   with --vs pm2, PM2 starting the same n from an ecosystem file;
//   status --json and healthcheck --json with all n running (medians of 3), and pm2 jlist;
//   what each runner costs (Pss, RSS), and PM2's daemon RSS with the same n;
//   stop --all, and what is left of the processes it stopped (runners and programs, by PID and start time).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How long PM2 may take to start a fleet (PM2_BUDGET_MIN minutes; 10 by default). */
const PM2_BUDGET_MS = (Number(process.env.PM2_BUDGET_MIN) || 10) * 60_000;

/** A process's start time (clock ticks since boot), or null when it is gone (a zombie counts as gone). */
function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' || f[0] === 'X' ? null : f[19];
  } catch {
    return null;
  }
}

/**
 * @param {number} n
 * @param {object} h the bench's helpers: makeRegistry, waitFor, firstLinesOf, wallMs, median, round,
 *   pssKb, rssKb, progress, here (bench/), work (its temporary folder), pm2 (or null), interrupted()
 */
export async function fleetScale(n, h) {
  const prog = join(h.here, 'apps', 'shell-prog.sh');
  const entries = {};
  for (let i = 0; i < n; i++) entries[`p${i}`] = { command: `exec sh ${prog}` };
  const r = h.makeRegistry(`fleet-${n}`, entries);
  const names = Object.keys(entries);
  const logs = names.map((p) => join(r.stateDir, 'logs', `${p}.log`));
  const out = { processes: n };

  h.progress(`  floor: one sh starting ${n} programs detached...`);
  out.floor_start = await floorStart(n, h, prog);

  h.progress(`  pguard start --all --no-wait of ${n}...`);
  const t0 = h.wallMs();
  const start = await r.cli('start', '--all', '--no-wait');
  const returned = h.wallMs() - t0;
  if (start.code !== 0) throw new Error(`start --all of ${n} failed: ${start.stderr.slice(0, 500)}`);
  const first = await h.firstLinesOf(logs, `${n} first lines`, t0, 600_000);
  out.start_all = { command_returned_ms: h.round(returned), all_first_lines_ms: h.round(Math.max(...first) - t0) };
  await h.waitFor(() => names.every((p) => r.runs(p).includes('start ')), 120_000, `${n} runs recorded`, 50);

  h.progress(`  status --json and healthcheck --json with ${n} running (3 each, interleaved)...`);
  const status = [];
  const health = [];
  let summary = null;
  for (let i = 0; i < 3; i++) {
    let s0 = performance.now();
    const st = await r.cli('status', '--json');
    status.push(performance.now() - s0);
    if (i === 0) out.status_running = JSON.parse(st.stdout).filter((p) => p.status === 'running').length;
    s0 = performance.now();
    const hc = await r.cli('healthcheck', '--json');
    health.push(performance.now() - s0);
    summary = JSON.parse(hc.stdout);
  }
  out.status_json_ms = h.round(h.median(status));
  out.healthcheck_ms = h.round(h.median(health));
  out.samples = { status_json: status.map((x) => h.round(x)), healthcheck: health.map((x) => h.round(x)) };
  out.healthcheck_running = summary.counts.running ?? 0;
  out.healthcheck_actions = summary.actions.length;

  // What each runner costs, and who is to be gone after stop --all.
  const ours = [];
  const pss = [];
  const rss = [];
  for (const p of names) {
    const rec = r.record(p);
    const runnerPid = rec.runner?.pid;
    const progPid = h.latestRunPid(r, p);
    for (const pid of [runnerPid, progPid]) {
      const st = pid ? startTimeOf(pid) : null;
      if (st) ours.push({ pid, st });
    }
    if (runnerPid) {
      const kb = h.pssKb(runnerPid);
      if (kb !== null) pss.push(kb);
      const r2 = h.rssKb(runnerPid);
      if (r2 !== null) rss.push(r2);
    }
  }
  out.runner = {
    measured: pss.length,
    pss_kb_median: h.median(pss), pss_kb_mean: h.round(pss.reduce((a, b) => a + b, 0) / Math.max(1, pss.length)),
    rss_kb_median: h.median(rss),
  };

  h.progress(`  pguard stop --all of ${n}...`);
  const s1 = performance.now();
  const stop = await r.cli('stop', '--all');
  out.stop_all_ms = h.round(performance.now() - s1);
  out.stop_exit_code = stop.code;
  // Gone means gone: each runner and program recorded before the stop, by PID and start time.
  const left = () => ours.filter(({ pid, st }) => startTimeOf(pid) === st).length;
  out.left_after_stop = left();
  out.processes_checked_after_stop = ours.length;

  if (h.pm2 && !h.interrupted()) out.pm2 = await pm2Fleet(n, h, prog);
  return out;
}

/**
 * The floor of starting n programs: one sh starts them all, each detached in its own session
 * (setsid) with its log appended, as a runner's program is; nothing recorded, nothing watched.
 */
async function floorStart(n, h, prog) {
  const dir = join(h.work, `floor-fleet-${n}`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const script = join(dir, 'start.sh');
  writeFileSync(script, `i=0\nwhile [ $i -lt ${n} ]; do setsid sh ${prog} >>${dir}/logs/$i.log 2>&1 </dev/null & echo $! >>${dir}/pids; i=$((i+1)); done\n`);
  const logs = Array.from({ length: n }, (_, i) => join(dir, 'logs', `${i}.log`));
  const t0 = h.wallMs();
  await new Promise((res, rej) => { const c = spawn('sh', [script], { stdio: 'ignore' }); c.on('exit', res); c.on('error', rej); });
  const returned = h.wallMs() - t0;
  const first = await h.firstLinesOf(logs, `the floor's ${n} first lines`, t0, 600_000);
  for (const pid of readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number)) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
  return { command_returned_ms: h.round(returned), all_first_lines_ms: h.round(Math.max(...first) - t0) };
}

/**
 * PM2 with the same n programs: `pm2 start` of an ecosystem file (its daemon up and warm), every
 * first line, `pm2 jlist` (3, median), the daemon's RSS, then `pm2 kill` (the daemon stops them all)
 * and a fresh daemon for what follows.
 */
async function pm2Fleet(n, h, prog) {
  const { pm2 } = h;
  const dir = join(pm2.dir, `fleet-${n}`);
  mkdirSync(dir, { recursive: true });
  const apps = [];
  const logs = [];
  for (let i = 0; i < n; i++) {
    const log = join(dir, `p${i}.log`);
    logs.push(log);
    apps.push({ name: `f${i}`, script: prog, interpreter: 'sh', out_file: log, error_file: log });
  }
  const eco = join(dir, 'fleet.config.json');
  writeFileSync(eco, JSON.stringify({ apps }));
  h.progress(`  PM2 start of ${n} (at most ${PM2_BUDGET_MS / 60_000} min)...`);
  const t0 = h.wallMs();
  // PM2 slows down as its list grows: past the budget, what it had started by then is the figure.
  let returned = null;
  const cmd = pm2.cli('start', eco).then(() => { returned = h.wallMs() - t0; });
  const daemonPid = Number(readFileSync(join(pm2.env.PM2_HOME, 'pm2.pid'), 'utf8'));
  let daemonDied = false;
  const firstLine = await h.firstLinesOf(logs, `PM2's ${n} first lines`, t0, PM2_BUDGET_MS + 60_000, {
    intervalMs: 200,
    enough: (all) => {
      daemonDied = startTimeOf(daemonPid) === null;
      return (returned !== null && all) || daemonDied || h.wallMs() - t0 > PM2_BUDGET_MS || h.interrupted();
    },
  });
  const started = firstLine.filter((x) => x !== undefined);
  if (daemonDied) {
    // Its daemon gone (it died of EMFILE at about 2,860 programs with 20,000 descriptors allowed,
    // 2026-12-05): what it started runs on, orphaned. Say why, from its log, and end them.
    let why = 'unknown';
    try { why = /PM2 error: (Error: [^\n]*)/.exec(readFileSync(join(pm2.env.PM2_HOME, 'pm2.log'), 'utf8'))?.[1] ?? why; } catch { /* no log */ }
    h.progress(`  PM2's daemon died after starting ${started.length} of ${n} (${why}); ending what it left running`);
    const orphans = killPm2Apps(pm2.env.PM2_HOME);
    await cmd.catch(() => {});
    await pm2.cli('ping');
    return { finished: false, daemon_died: true, why, started_before_death: started.length, seconds_to_death: h.round((h.wallMs() - t0) / 1000), orphans_ended: orphans };
  }
  if (returned === null || started.length < n) {
    h.progress(`  PM2 had started ${started.length} of ${n} after ${Math.round((h.wallMs() - t0) / 1000)} s: stopping it (pm2 kill)`);
    const k0 = performance.now();
    await pm2.cli('kill');
    const killMs = performance.now() - k0;
    await cmd.catch(() => {});
    await pm2.cli('ping');
    return { finished: false, budget_ms: PM2_BUDGET_MS, started_within_budget: started.length, start_command_returned_ms: returned === null ? null : h.round(returned), kill_ms: h.round(killMs) };
  }
  const first = firstLine;
  const jlist = [];
  for (let i = 0; i < 3; i++) {
    const j0 = performance.now();
    await pm2.cli('jlist');
    jlist.push(performance.now() - j0);
  }
  const daemonRssKb = h.rssKb(daemonPid);
  h.progress(`  pm2 kill (stops all ${n})...`);
  const k0 = performance.now();
  await pm2.cli('kill');
  const killMs = performance.now() - k0;
  await pm2.cli('ping'); // a fresh daemon, warm, for what follows
  return {
    finished: true, start_command_returned_ms: h.round(returned), all_first_lines_ms: h.round(Math.max(...first) - t0),
    jlist_ms: h.round(h.median(jlist)), daemon_rss_mb: h.round(daemonRssKb / 1024), kill_ms: h.round(killMs),
  };
}

/**
 * Every live process PM2 started from this PM2_HOME (its apps carry PM2_HOME in their environment),
 * SIGKILLed: what a daemon that died left behind. Returns how many.
 */
export function killPm2Apps(home) {
  let ended = 0;
  let entries = [];
  try { entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e)); } catch { return 0; }
  for (const e of entries) {
    let env;
    try { env = readFileSync(`/proc/${e}/environ`, 'utf8'); } catch { continue; }
    if (!env.split('\0').includes(`PM2_HOME=${home}`)) continue;
    try { process.kill(Number(e), 'SIGKILL'); ended++; } catch { /* gone */ }
  }
  return ended;
}
