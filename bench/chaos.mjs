#!/usr/bin/env node
// npm run chaos [-- --seconds 600 --seed 7]: a chaos run against the built CLI. A registry of real
// processes (plain programs, shells with children, a three-level dependency chain) is started, then
// for --seconds, at random (seeded), processes, runners, whole groups and whole sessions (runner and
// group) are SIGKILLed while CLI calls (status, healthcheck, start, stop, restart) run concurrently.
// Then it settles and checks the invariants:
//   - each process runs exactly once (one live run leader per name; no duplicate instances),
//   - nothing is lost (every process is running again),
//   - the registry is byte for byte as it was, and the ledger's chain verifies,
//   - each process's restart count equals the ledger's restart events,
//   - nothing is left after `stop --all` (no process of this registry at all).
// Bounded in time and count; stops everything it started, also on Ctrl-C. Prints a JSON summary;
// exits 1 when an invariant does not hold.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'bin', 'pguard.js');
const RUNNER = join(here, '..', 'bin', 'pguard-runner.sh');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const SECONDS = Number(arg('seconds', '60'));
const SEED = Number(arg('seed', String(Date.now() % 100000)));
const MAX_KILLS = Number(arg('max-kills', '5000'));
const MAX_CALLS = Number(arg('max-calls', '5000'));

// mulberry32: a small seeded PRNG, so a failing run can be replayed.
let seed = SEED >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const work = mkdtempSync(join(os.tmpdir(), 'pguard-chaos-'));
const registry = join(work, '.process-registry.json');
const stateDir = join(work, 'state');
const env = { ...process.env, PGUARD_REGISTRY: registry, PGUARD_STATE_DIR: stateDir, XDG_CONFIG_HOME: join(work, 'config'), XDG_STATE_HOME: join(work, 'xdg-state'), NO_COLOR: '1' };
const common = { restart_cooldown: 0, max_restarts: 100000, min_uptime: 1, kill_timeout: 2, ready_after: 0.2 };
const entries = {};
for (let i = 0; i < 6; i++) entries[`plain${i}`] = { command: 'exec sleep 100000', ...common };
for (let i = 0; i < 3; i++) entries[`shell${i}`] = { command: 'sleep 100000 & sleep 100000 & wait', ...common };
entries.db = { command: 'exec sleep 100000', ...common };
entries.api = { command: 'exec sleep 100000', depends_on: ['db'], ...common };
entries.bot = { command: 'sleep 100000 & wait', depends_on: ['api'], ...common };
const names = Object.keys(entries);
const registryText = `${JSON.stringify(entries, null, 2)}\n`;
writeFileSync(registry, registryText);

const progress = (line) => process.stderr.write(`${line}\n`);
async function cli(...args) {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
const readJson = (file) => { try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return null; } };

/** Every live process of this registry: pid, pgid, whether it is a runner, and its process name. */
function ours() {
  const out = [];
  for (const f of readdirSync('/proc')) {
    if (!/^\d+$/.test(f)) continue;
    try {
      const stat = readFileSync(`/proc/${f}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const environ = readFileSync(`/proc/${f}/environ`, 'utf8').split('\0');
      if (!environ.includes(`PGUARD_REGISTRY=${registry}`)) continue;
      const name = environ.find((e) => e.startsWith('PGUARD_NAME='))?.slice(12);
      const argv = readFileSync(`/proc/${f}/cmdline`, 'utf8').split('\0');
      out.push({ pid: Number(f), pgid: Number(fields[2]), runner: argv[1] === RUNNER, name, argv: argv.filter(Boolean).join(' ').slice(0, 200) });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

function target(name) {
  const rec = readJson(join(stateDir, 'procs', name, 'state.json'));
  let runPid = null;
  try {
    const starts = readFileSync(join(stateDir, 'procs', name, 'runs.log'), 'utf8').trim().split('\n').filter((l) => l.startsWith('start '));
    runPid = Number(starts.at(-1)?.split(' ')[2]) || null;
  } catch { /* none yet */ }
  return { runner: rec?.runner?.pid ?? null, run: runPid };
}

function kill(pid, signal) {
  if (!pid || Math.abs(pid) <= 1) return false;
  try { process.kill(pid, signal); return true; } catch { return false; }
}

const counts = { kills: { process: 0, runner: 0, group: 0, session: 0 }, calls: 0, callFailures: [] };
let stopping = false;
let interrupted = false;

async function chaos() {
  const until = Date.now() + SECONDS * 1000;
  const stoppedByUs = new Set();
  const calls = [];
  let kills = 0;
  while (Date.now() < until && !interrupted) {
    // A kill.
    if (kills < MAX_KILLS) {
      const name = pick(names);
      const t = target(name);
      const how = pick(['process', 'process', 'runner', 'group', 'session']);
      let done = false;
      if (how === 'process') done = kill(t.run, 'SIGKILL');
      if (how === 'runner') done = kill(t.runner, 'SIGKILL');
      if (how === 'group') done = t.run ? kill(-t.run, 'SIGKILL') : false;
      if (how === 'session') { done = kill(t.runner, 'SIGKILL'); if (t.run) done = kill(-t.run, 'SIGKILL') || done; }
      if (done) { counts.kills[how]++; kills++; }
    }
    // A CLI call now and then, at most two in flight.
    if (counts.calls < MAX_CALLS && calls.length < 2 && random() < 0.6) {
      const name = pick(names);
      const verb = pick(['status', 'status', 'healthcheck', 'healthcheck', 'start', 'restart', 'stop']);
      const args = verb === 'status' ? ['status', '--json'] : verb === 'healthcheck' ? ['healthcheck', '--json'] : verb === 'restart' ? ['restart', name, '--no-wait'] : [verb, name, ...(verb === 'start' ? ['--no-wait'] : [])];
      if (verb === 'stop') stoppedByUs.add(name);
      if (verb === 'start' || verb === 'restart') stoppedByUs.delete(name);
      counts.calls++;
      const p = cli(...args).then((r) => {
        // healthcheck exits 1 while something is down: that is its job. Anything else is a failure.
        if (r.code !== 0 && !(args[0] === 'healthcheck' && r.code === 1) && !(args[0] === 'start' && r.code === 1) && !(args[0] === 'restart' && r.code === 1)) {
          counts.callFailures.push({ args, code: r.code, stderr: r.stderr.trim().split('\n').slice(-2).join(' | ') });
        }
        if (/unexpected error|internal error/.test(r.stderr)) counts.callFailures.push({ args, code: r.code, stderr: r.stderr.trim() });
      }).finally(() => calls.splice(calls.indexOf(p), 1));
      calls.push(p);
    }
    await new Promise((r) => setTimeout(r, 50 + random() * 150));
  }
  await Promise.all(calls);
  return stoppedByUs;
}

async function settle() {
  // What the chaos stopped is started again; then looks until every process runs exactly once.
  await cli('start', '--all', '--no-wait');
  const deadline = Date.now() + 60_000;
  let last = null;
  while (Date.now() < deadline) {
    await cli('healthcheck');
    const status = JSON.parse((await cli('status', '--json')).stdout || '[]');
    const leaders = ours().filter((p) => !p.runner && p.pid === p.pgid);
    const perName = Object.fromEntries(names.map((n) => [n, leaders.filter((p) => p.name === n).length]));
    last = { status: Object.fromEntries(status.map((s) => [s.name, s.status])), perName };
    if (status.every((s) => s.status === 'running') && names.every((n) => perName[n] === 1)) return { settled: true, ...last };
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { settled: false, ...last };
}

async function cleanup() {
  await cli('stop', '--all');
  for (const p of ours()) kill(p.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  interrupted = true;
  progress('\ninterrupted: stopping everything the chaos run started...');
  if (!stopping) cleanup().finally(() => process.exit(130));
});

async function main() {
  const t0 = Date.now();
  progress(`pguard chaos: ${names.length} processes, ${SECONDS} s, seed ${SEED}`);
  const started = await cli('start', '--all', '--wait', '1');
  if (started.code !== 0) throw new Error(`start --all failed: ${started.stderr}`);
  await chaos();
  if (interrupted) return;
  progress('settling...');
  const settled = await settle();
  const duplicates = Object.entries(settled.perName ?? {}).filter(([, n]) => n > 1).map(([name, n]) => ({ name, instances: n }));
  const lost = Object.entries(settled.status ?? {}).filter(([, s]) => s !== 'running').map(([name, s]) => ({ name, status: s }));
  const registryIntact = readFileSync(registry, 'utf8') === registryText;
  const audit = await cli('audit', 'verify', '--json');
  const ledger = readFileSync(join(stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const status = JSON.parse((await cli('status', '--json')).stdout || '[]');
  const restartMismatch = status
    .map((s) => ({ name: s.name, status: s.restarts, ledger: ledger.filter((e) => e.event === 'restart' && e.process === s.name).length }))
    .filter((x) => x.status !== x.ledger);
  stopping = true;
  await cli('stop', '--all');
  const orphans = ours().map((p) => ({ pid: p.pid, name: p.name ?? null, runner: p.runner, argv: p.argv }));
  const summary = {
    seed: SEED, seconds: SECONDS, processes: names.length, load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
    kills: counts.kills, cli_calls: counts.calls, cli_failures: counts.callFailures.slice(0, 20),
    settled: settled.settled, duplicates, lost, orphans, registry_intact: registryIntact,
    ledger_ok: audit.code === 0, ledger_entries: ledger.length, restart_mismatch: restartMismatch,
    duration_s: Math.round((Date.now() - t0) / 100) / 10,
  };
  const ok = summary.settled && duplicates.length === 0 && lost.length === 0 && orphans.length === 0 && registryIntact
    && summary.ledger_ok && restartMismatch.length === 0 && counts.callFailures.length === 0;
  console.log(JSON.stringify({ ok, ...summary }, null, 2));
  if (!ok) process.exitCode = 1;
  for (const p of orphans) kill(p.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
  if (existsSync(work)) progress(`could not remove ${work}`);
}

main().catch(async (err) => {
  console.error(`chaos: ${err.message}`);
  process.exitCode = 1;
  await cleanup();
});
