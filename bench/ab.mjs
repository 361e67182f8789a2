#!/usr/bin/env node
// npm run bench:ab -- --base REV [--rounds N] [--kills N]: this checkout against another revision,
// in one run, interleaved (A, B, A, B...), so that a noisy machine weighs on both alike. Measures
// crash recovery of a shell program (runner-driven: SIGKILL to its new first line) and
// `status --json` with 10 running processes. REV is checked out into a temporary git worktree,
// built there with this checkout's node_modules, and removed at the end (also on Ctrl-C), with
// every process either side started.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const BASE = arg('base', 'HEAD~1');
const ROUNDS = Number(arg('rounds', '21'));
const KILLS = Number(arg('kills', '15'));

const work = mkdtempSync(join(os.tmpdir(), 'pguard-ab-')); // 0700
const baseTree = join(work, 'base');
const registries = [];
let worktreeAdded = false;
let interrupted = false;

const progress = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function waitFor(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function side(label, tree) {
  const cli = join(tree, 'bin', 'pguard.js');
  const make = (name, entries) => {
    const dir = join(work, `${label}-${name}`);
    mkdirSync(dir, { recursive: true });
    const registry = join(dir, '.process-registry.json');
    writeFileSync(registry, JSON.stringify(entries, null, 2));
    const env = { ...process.env, PGUARD_REGISTRY: registry, PGUARD_STATE_DIR: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'xdg-state'), NO_COLOR: '1' };
    const r = {
      dir, registry,
      cli: async (...args) => {
        if (interrupted && args[0] !== 'stop') throw new Error('interrupted');
        return run(process.execPath, [cli, ...args], { env, maxBuffer: 64 << 20 });
      },
      file: (...p) => { try { return readFileSync(join(dir, 'state', ...p), 'utf8'); } catch { return ''; } },
    };
    registries.push(r);
    return r;
  };
  return { label, tree, make };
}

// The programs print µs since the epoch; in ms, against a µs clock (Date.now() is too coarse).
const startLines = (text) => [...text.matchAll(/^START (\d+)$/gm)].map((m) => Number(m[1]) / 1000);
const wallMs = () => performance.timeOrigin + performance.now();
const latestPid = (r) => Number(r.file('procs', 'prog', 'runs.log').trim().split('\n').filter((l) => l.startsWith('start ')).at(-1)?.split(' ')[2]);
const totalRestarts = (r) => { try { return JSON.parse(r.file('procs', 'prog', 'state.json')).totalRestarts; } catch { return -1; } };

async function recoveryRig(s) {
  const r = s.make('recovery', { prog: { command: `sh ${join(here, 'apps', 'shell-prog.sh')}`, max_restarts: 1000, restart_cooldown: 0 } });
  await r.cli('start', 'prog', '--no-wait');
  await waitFor(() => startLines(r.file('logs', 'prog.log')).length >= 1, 10_000, `${s.label}: the first START line`);
  let kills = 0;
  return async () => {
    const before = startLines(r.file('logs', 'prog.log')).length;
    const killAt = wallMs();
    process.kill(latestPid(r), 'SIGKILL');
    const line = await waitFor(() => { const l = startLines(r.file('logs', 'prog.log')); return l.length > before ? l.at(-1) : null; }, 10_000, `${s.label}: the new instance`);
    kills++;
    // Kill when up and recorded, as PM2's figures are taken.
    await waitFor(() => totalRestarts(r) === kills, 10_000, `${s.label}: the restart to be recorded`);
    return line - killAt;
  };
}

async function statusRig(s) {
  const entries = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, { command: 'sleep 100000' }]));
  const r = s.make('status', entries);
  await r.cli('start', '--all', '--no-wait');
  await waitFor(async () => JSON.parse((await r.cli('status', '--json')).stdout).filter((v) => v.status === 'running' && v.pid).length === 10, 20_000, `${s.label}: 10 running`);
  return async () => {
    const t0 = performance.now();
    await r.cli('status', '--json');
    return performance.now() - t0;
  };
}

/** Measure both sides in turn, alternating which goes first. */
async function interleave(n, a, b) {
  const xs = { a: [], b: [] };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) { xs.a.push(await a()); xs.b.push(await b()); } else { xs.b.push(await b()); xs.a.push(await a()); }
  }
  return xs;
}

async function cleanup() {
  for (const r of registries) {
    try { if (existsSync(r.registry)) await r.cli('stop', '--all'); } catch { /* best effort */ }
  }
  if (worktreeAdded) {
    try { execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', baseTree], { stdio: 'ignore' }); } catch { /* best effort */ }
  }
  rmSync(work, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  interrupted = true;
  progress('\ninterrupted: stopping everything this run started...');
  cleanup().finally(() => process.exit(130));
});

async function main() {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('build first: npm run build');
  const rev = execFileSync('git', ['-C', root, 'rev-parse', '--short', BASE], { encoding: 'utf8' }).trim();
  const headRev = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'bin'], { encoding: 'utf8' }).trim() !== '';
  progress(`checking out ${BASE} (${rev}) into a temporary worktree and building it...`);
  execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', baseTree, rev], { stdio: 'ignore' });
  worktreeAdded = true;
  symlinkSync(join(root, 'node_modules'), join(baseTree, 'node_modules'));
  execFileSync('npm', ['run', 'build'], { cwd: baseTree, stdio: 'ignore' });

  const load = () => os.loadavg().map((x) => round(x, 2));
  const loadBefore = load();
  const head = side('head', root);
  const base = side('base', baseTree);
  progress(`crash recovery, shell program: ${KILLS} kills each, interleaved...`);
  const rec = await interleave(KILLS, await recoveryRig(head), await recoveryRig(base));
  progress(`status --json with 10 running processes: ${ROUNDS} calls each, interleaved...`);
  const st = await interleave(ROUNDS, await statusRig(head), await statusRig(base));
  const loadAfter = load();

  const figures = {
    recovery_shell_p50_ms: { head: round(median(rec.a)), base: round(median(rec.b)), ratio: round(median(rec.a) / median(rec.b), 2) },
    status_json_10_ms: { head: round(median(st.a)), base: round(median(st.b)), ratio: round(median(st.a) / median(st.b), 2) },
  };
  const result = {
    date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model,
    head: `${headRev}${dirty ? ' (with uncommitted changes)' : ''}`, base: `${BASE} (${rev})`,
    load_average: { before: loadBefore, after: loadAfter }, figures,
    samples: { recovery_shell_ms: { a: rec.a.map((x) => round(x, 2)), b: rec.b.map((x) => round(x, 2)) }, status_json_10_ms: { a: st.a.map((x) => round(x)), b: st.b.map((x) => round(x)) } },
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'ab-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nhead ${result.head} vs base ${result.base}, ${result.date}, Node ${result.node}, ${result.cpus} x ${result.cpu}`);
  console.log(`load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}`);
  console.log(`crash recovery, shell p50     head ${figures.recovery_shell_p50_ms.head} ms   base ${figures.recovery_shell_p50_ms.base} ms   head/base ${figures.recovery_shell_p50_ms.ratio}x`);
  console.log(`status --json, 10 running     head ${figures.status_json_10_ms.head} ms   base ${figures.status_json_10_ms.base} ms   head/base ${figures.status_json_10_ms.ratio}x`);
  console.log('written to bench/results/ab-latest.json');
}

main()
  .catch((err) => { console.error(`bench:ab: ${err.message}`); process.exitCode = 1; })
  .finally(() => { if (!interrupted) return cleanup(); });
