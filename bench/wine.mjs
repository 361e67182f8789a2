#!/usr/bin/env node
// npm run bench's Wine section (issue 23): crash recovery of the Windows runner, run for real
// under Wine (the built CLI and dist/bundle/runner-win.cjs started by Windows Node). Its current run
// (cmd.exe, with ping as its child) is killed KILLS times from the Windows side
// (bench/apps/wine-kill-loop.cjs); each restart is timed two ways:
//   runner_restart       runs.log: the exit's ENDED_MS to the next start's STARTED_MS (the runner's
//                        own clock: ending the leftovers of the run included)
//   kill_to_new_process  wall clock: just before TerminateProcess to the new run's creation time
//                        (GetProcessTimes), on the clock both share; and its parts: kill_to_exit_line
//                        (until the runner saw the exit and wrote it) and start_line_to_process
// Only where scripts/wine-setup.sh's setup is (~/.cache/pguard-wine, or PGUARD_WINE_HOME); never
// asserted in a test. `node bench/wine.mjs [--kills N]` prints the figure alone, with the load average.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const spread = (xs) => ({ p50_ms: round(pct(xs, 50)), p95_ms: round(pct(xs, 95)), max_ms: round(Math.max(...xs)), samples: xs });

/** The Wine setup (scripts/wine-setup.sh's wine.env), or null with why. */
export function readWineSetup() {
  const home = process.env.PGUARD_WINE_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(os.homedir(), '.cache'), 'pguard-wine');
  if (spawnSync('sh', ['-c', 'command -v wine && command -v wineserver'], { stdio: 'ignore' }).status !== 0) return { setup: null, why: 'no wine on PATH' };
  let vars;
  try { vars = parseEnv(readFileSync(join(home, 'wine.env'), 'utf8')); } catch { return { setup: null, why: `no ${join(home, 'wine.env')} (run scripts/wine-setup.sh)` }; }
  if (!existsSync(join(vars.WINEPREFIX ?? '/nonexistent', '.pguard-ready')) || !existsSync(vars.PGUARD_WINE_NODE ?? '/nonexistent')) return { setup: null, why: `the setup in ${home} is incomplete (run scripts/wine-setup.sh)` };
  const env = {
    PATH: process.env.PATH, HOME: os.homedir(), LANG: process.env.LANG ?? 'C.UTF-8', NO_COLOR: '1',
    WINEPREFIX: vars.WINEPREFIX, WINEDEBUG: vars.WINEDEBUG, WINEDLLOVERRIDES: vars.WINEDLLOVERRIDES, NODE_PATH: vars.PGUARD_WINE_NODE_PATH,
  };
  return { setup: { env, node: vars.PGUARD_WINE_NODE, profile: vars.PGUARD_WINE_PROFILE, prefix: vars.WINEPREFIX, version: vars.PGUARD_WINE_VERSION }, why: '' };
}

export async function wineRecovery({ kills = 10, progress = () => {} } = {}) {
  const { setup, why } = readWineSetup();
  if (!setup) { progress(`  skipped: ${why}`); return null; }
  const win = (p) => { const rel = relative(join(setup.prefix, 'drive_c'), p); return rel.startsWith('..') ? `Z:${p.split(sep).join('\\')}` : `C:\\${rel.split(sep).join('\\')}`; };
  // Windows Node writes only to files (not to a Linux pipe).
  const windowsNode = (args, env = {}) => new Promise((resolve) => {
    const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(out, 'w', 0o600);
    const child = spawn('wine', [setup.node, ...args], { cwd: work, env: { ...setup.env, ...env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('exit', (code) => { const text = readFileSync(out, 'utf8'); rmSync(out, { force: true }); resolve({ code, text }); });
  });
  // One wineserver for the whole measurement, umask 077 (it creates the files, and pguard refuses
  // state others could change); ended after, only when started here.
  const ours = spawnSync('sh', ['-c', 'umask 077 && exec wineserver -p'], { env: setup.env, stdio: 'ignore' }).status === 0;
  const work = mkdtempSync(join(setup.profile, 'pguard-bench-'));
  try {
    writeFileSync(join(work, 'registry.json'), JSON.stringify({ prog: { command: 'ping -n 100000 127.0.0.1', max_restarts: 1000, restart_cooldown: 0 } }));
    const env = { PGUARD_REGISTRY: win(join(work, 'registry.json')), PGUARD_STATE_DIR: win(join(work, 'state')), XDG_CONFIG_HOME: win(join(work, 'config')), XDG_STATE_HOME: win(join(work, 'xdg-state')) };
    const cli = (...args) => windowsNode([win(join(root, 'bin', 'pguard.js')), ...args], env);
    const started = await cli('start', 'prog');
    if (started.code !== 0) throw new Error(`start under Wine failed: ${started.text}`);
    const loop = await windowsNode([win(join(here, 'apps', 'wine-kill-loop.cjs')), win(join(work, 'state', 'procs', 'prog')), String(kills)]);
    await cli('stop', 'prog');
    if (loop.code !== 0) throw new Error(loop.text.trim());
    const samples = JSON.parse(loop.text.trim().split('\n').at(-1));
    return {
      wine: setup.version, kills,
      runner_restart: spread(samples.map((s) => s.start_started - s.exit_ended)),
      kill_to_new_process: spread(samples.filter((s) => s.created_ms !== null).map((s) => s.created_ms - s.kill_at)),
      // Its parts: the kill until the runner wrote the exit, and the start line until the process existed.
      kill_to_exit_line: spread(samples.map((s) => s.exit_ended - s.kill_at)),
      start_line_to_process: spread(samples.filter((s) => s.created_ms !== null).map((s) => s.created_ms - s.start_started)),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (ours) spawnSync('wineserver', ['-k'], { env: setup.env, stdio: 'ignore' });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--kills');
  const kills = i > 0 ? Number(process.argv[i + 1]) : 10;
  const before = os.loadavg().map((x) => round(x, 2));
  const r = await wineRecovery({ kills, progress: (l) => process.stderr.write(`${l}\n`) });
  console.log(JSON.stringify(r === null ? null : { ...r, load: { before, after: os.loadavg().map((x) => round(x, 2)) } }, null, 2));
}
