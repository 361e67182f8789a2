// The real side of the model test: one run's private registry and state directory under
// /tmp/pguard-model-*, the built CLI called as users call it, /proc for what is really alive, a
// sampler that looks for two instances of one process every 100 ms while the run goes on, and a
// cleanup that kills every process of the registry by PID (identity checked), also on failure.
import { execa, type ResultPromise } from 'execa';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRuns } from '../../src/effects/runner-protocol.js';
import type { RunsView } from '../../src/core/runs.js';
import type { Config, Kind, Model } from './model.js';
import { describeProcs, instancesOf, isRunnerLeader, isWatch, ProcScanner, type Proc } from './procs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APPS = fileURLToPath(new URL('../fixtures/apps/', import.meta.url));
const MODEL_APPS = fileURLToPath(new URL('../fixtures/model/', import.meta.url));

export interface StatusRow {
  readonly name: string;
  readonly status: string;
  readonly pid: number | null;
  readonly uptime_s: number | null;
  readonly restarts: number;
  readonly budget_used: number;
  readonly max_restarts: number;
  readonly command: string;
  readonly next_restart_at: string | null;
  readonly memory_mb: number | null;
  readonly health: readonly { probe: string; ok: boolean | null; failures: number; detail: string; at: string | null }[];
  /** When this run's tree was last sampled against its limits (absent before a84c4c8). */
  readonly limits_checked_at?: string | null;
  readonly reason: string;
  readonly waiting_for: readonly string[];
  readonly last_exit: Record<string, unknown> | null;
}

export interface AlertRow {
  readonly id: string;
  readonly at: string;
  readonly last_at: string;
  readonly process: string;
  readonly kind: string;
  readonly message: string;
  readonly count: number;
}

export interface LedgerRow {
  readonly seq: number;
  readonly at: string;
  readonly event: string;
  readonly process: string;
  readonly details: Record<string, any>;
}

export interface CliResult { readonly code: number; readonly stdout: string; readonly stderr: string }

/** A violated invariant: its id (PGUARD_MODEL_IGNORE takes ids) and what was seen. */
export class Violation extends Error {
  constructor(readonly id: string, message: string) {
    super(`[${id}] ${message}`);
  }
}

export const ignored = new Set((process.env.PGUARD_MODEL_IGNORE ?? '').split(',').map((s) => s.trim()).filter(Boolean));

async function freePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 40000 + Math.floor(Math.random() * 10000);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free TCP port in 40000-49999');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI every history runs: a private copy of the build (snapshotBuild), else the checkout's. */
export let CLI = join(ROOT, 'bin', 'pguard.js');
let snapshot: string | null = null;

/**
 * Others rebuild dist/ while this runs (tsc and the bundler rewrite it in place), and a runner's
 * report that finds half a build fails. So the histories run a copy of the build taken at the
 * start (bin, dist/bundle, templates, package.json; node_modules linked): the real CLI and runner,
 * as built when the test began. Checked to load before use.
 */
export async function snapshotBuild(): Promise<string> {
  const bundle = join(ROOT, 'dist', 'bundle', 'pguard.js');
  const newest = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
  if (existsSync(bundle) && newest(join(ROOT, 'src')) > statSync(bundle).mtimeMs) {
    console.warn('model test: dist/ is older than src/: run `npm run build` for the histories to test the current source');
  }
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync('/tmp/pguard-model-build-');
    try {
      for (const part of ['bin', join('dist', 'bundle'), 'templates', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const cli = join(dir, 'bin', 'pguard.js');
      const hot = readdirSync(join(dir, 'dist', 'bundle')).filter((f) => f.startsWith('hot-') && f.endsWith('.cjs'));
      for (const f of hot) await execa(process.execPath, ['-e', `require(${JSON.stringify(join(dir, 'dist', 'bundle', f))})`]);
      await execa(process.execPath, [cli, '--version']);
      CLI = cli;
      snapshot = dir;
      return dir;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      if (attempt >= 30) throw new Error(`could not take a working copy of the build: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(2000); // a build in progress
    }
  }
}

export function dropSnapshot(): void {
  if (snapshot) rmSync(snapshot, { recursive: true, force: true });
  snapshot = null;
  CLI = join(ROOT, 'bin', 'pguard.js');
}

/**
 * A process on its way somewhere: a pguard call (a runner's report, a background job; not the
 * watch), or a runner's fork (a run before its exec, a report in the background, a command
 * substitution). A runner's own sleeps are not: a cooldown shows in status (a restart pending), a
 * reap as an exit being decided, and an adopting runner sleeps for as long as the run lives.
 */
function isBusy(p: Proc): boolean {
  if (p.kind === 'cli') return !isWatch(p);
  return p.kind === 'runner' && !isRunnerLeader(p);
}

export class System {
  readonly registry: string;
  readonly stateDir: string;
  readonly env: Record<string, string>;
  readonly scanner: ProcScanner;
  readonly failFile: string;
  readonly trace: string[] = [];
  /** What the sampler saw between two checks (two instances, two runners). */
  readonly sampled: Violation[] = [];
  readonly t0 = Date.now();
  /** The step being carried out, for the sampler's reports. */
  step = 'setup';
  /** Past it (while exploring, not while shrinking), the remaining commands of a run are skipped. */
  deadline = Infinity;
  private sampler: NodeJS.Timeout | null = null;
  private watchChild: ResultPromise | null = null;
  private cleaned = false;

  private constructor(readonly dir: string, readonly config: Config, readonly port: number) {
    this.registry = join(dir, '.process-registry.json');
    this.stateDir = join(dir, 'state');
    this.failFile = join(dir, 'web.fail');
    this.env = {
      PGUARD_REGISTRY: this.registry,
      PGUARD_STATE_DIR: this.stateDir,
      // Its own ledger key and per-user index, never the user's; runners in plain sessions.
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_STATE_HOME: join(dir, 'xdg-state'),
      PGUARD_SESSION: 'setsid',
      NO_COLOR: '1',
    };
    this.scanner = new ProcScanner(this.registry, this.stateDir);
  }

  static async create(config: Config): Promise<System> {
    const dir = mkdtempSync('/tmp/pguard-model-');
    const sys = new System(dir, config, await freePort());
    writeFileSync(sys.registry, `${JSON.stringify(sys.entries(), null, 2)}\n`, { mode: 0o600 });
    live.add(sys);
    return sys;
  }

  /** The command each process runs when its definition is its own. */
  goodCommand(name: Kind): string {
    switch (name) {
      case 'sleeper': return 'exec sleep 100000';
      case 'stubborn': return `sh ${APPS}ignore-term.sh`;
      case 'spawner': return "sh -c 'sleep 1000 & exec sleep 1001'";
      case 'web': return `exec node ${MODEL_APPS}web.mjs`;
      case 'client': return 'exec sleep 100001';
    }
  }

  private entries(): Record<string, unknown> {
    const c = this.config;
    const common = { restart_cooldown: c.cooldown, min_uptime: c.minUptime, max_restarts: c.maxRestarts, kill_timeout: 1, ready_after: 0.3 };
    const out: Record<string, unknown> = {};
    for (const name of c.procs) {
      const entry: Record<string, unknown> = { command: this.goodCommand(name), ...common };
      if (name === 'web') {
        entry.env = { PORT: String(this.port), MODEL_FAIL_FILE: this.failFile, MODEL_IGNORE_TERM: c.webIgnoresTerm ? '1' : '0' };
        entry.health = [{ type: 'http', url: `http://127.0.0.1:${this.port}/health`, interval: 1, timeout: 1, failure_threshold: 2, grace: 1 }];
        entry.max_memory_mb = 120;
      }
      if (name === 'client') entry.depends_on = [c.clientRestart ? 'sleeper' : { name: 'sleeper', restart: false }];
      out[name] = entry;
    }
    return out;
  }

  log(line: string): void {
    this.trace.push(`+${((Date.now() - this.t0) / 1000).toFixed(2)}s ${line}`);
  }

  async cli(args: readonly string[], opts: { quiet?: boolean } = {}): Promise<CliResult> {
    const t = Date.now();
    const res = await execa(process.execPath, [CLI, ...args], { cwd: this.dir, env: this.env, reject: false, timeout: 90_000 });
    const out = { code: res.exitCode ?? -1, stdout: String(res.stdout), stderr: String(res.stderr) };
    if (!opts.quiet) {
      const said = (out.stdout || out.stderr).trim().split('\n').slice(0, 3).join(' | ').slice(0, 300);
      this.log(`  pguard ${args.join(' ')} -> ${out.code} (${Date.now() - t} ms) ${said}`);
    }
    if (/internal error|unexpected error/i.test(out.stderr) || out.code === 70) {
      throw new Violation('cli', `pguard ${args.join(' ')} failed inside pguard (exit ${out.code}): ${out.stderr.trim().slice(0, 800)}`);
    }
    return out;
  }

  async statusAll(): Promise<StatusRow[]> {
    const res = await this.cli(['status', '--json'], { quiet: true });
    if (res.code !== 0) throw new Violation('cli', `status --json exited ${res.code}: ${res.stderr.trim()}`);
    return JSON.parse(res.stdout) as StatusRow[];
  }

  async alerts(): Promise<AlertRow[]> {
    const res = await this.cli(['alerts', '--json'], { quiet: true });
    if (res.code !== 0) throw new Violation('cli', `alerts --json exited ${res.code}: ${res.stderr.trim()}`);
    return JSON.parse(res.stdout) as AlertRow[];
  }

  /** The ledger, every segment, oldest first (a line cut short at the end is left out). */
  ledger(): LedgerRow[] {
    let files: string[] = [];
    try { files = readdirSync(this.stateDir).filter((f) => /^ledger(\.\d+-\d+)?\.jsonl$/.test(f)); } catch { return []; }
    const first = (f: string) => (f === 'ledger.jsonl' ? Infinity : Number(f.split('.')[1]!.split('-')[0]));
    const rows: LedgerRow[] = [];
    for (const f of files.sort((a, b) => first(a) - first(b))) {
      for (const line of readFileSync(join(this.stateDir, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try { rows.push(JSON.parse(line) as LedgerRow); } catch { /* torn last line */ }
      }
    }
    return rows;
  }

  procDir(name: string): string {
    return join(this.stateDir, 'procs', name);
  }

  runs(name: string): RunsView {
    let text = '';
    for (const f of ['runs.log.1', 'runs.log']) {
      try { text += readFileSync(join(this.procDir(name), f), 'utf8'); } catch { /* none */ }
    }
    return decodeRuns(text);
  }

  /**
   * When web's limits were last checked: status --json's limits_checked_at, or (a build without
   * it) state.json's last CPU/memory sample, white-box. undefined: neither can say.
   */
  limitsCheckedAt(row: StatusRow): number | null | undefined {
    if ('limits_checked_at' in row) return row.limits_checked_at ? Date.parse(row.limits_checked_at) : null;
    const rec = this.record(row.name);
    if (!rec || !('cpu' in rec)) return undefined;
    return rec.cpu ? Number(rec.cpu.at) : null;
  }

  /** state.json, as pguard wrote it (white-box: only where status --json does not say it). */
  record(name: string): Record<string, any> | null {
    try { return JSON.parse(readFileSync(join(this.procDir(name), 'state.json'), 'utf8')) as Record<string, any>; } catch { return null; }
  }

  registryEntry(name: string): Record<string, any> | null {
    try { return (JSON.parse(readFileSync(this.registry, 'utf8')) as Record<string, any>)[name] ?? null; } catch { return null; }
  }

  scan(): Proc[] {
    return this.scanner.scan();
  }

  /** The live run's main process of `name` (from runs.log), if it is alive. */
  mainOf(name: string, procs = this.scan()): Proc | null {
    const latest = this.runs(name).latest;
    if (!latest) return null;
    return procs.find((p) => p.pid === latest.identity.pid && p.startTime === latest.identity.startTime) ?? null;
  }

  runnerOf(name: string, procs = this.scan()): Proc | null {
    return procs.find((p) => isRunnerLeader(p) && p.name === name) ?? null;
  }

  /** Every live process of `name` but pguard's own CLI calls (runner, its sleeps, the user's processes). */
  membersOf(name: string, procs = this.scan()): Proc[] {
    return procs.filter((p) => p.name === name && p.kind !== 'cli');
  }

  runPids(name: string): Set<number> {
    return new Set([...this.runs(name).starts.values()].map((r) => r.identity.pid));
  }

  // ---- the sampler: two instances, or two runners, of one process at any moment

  startSampler(): void {
    const reported = new Set<string>();
    const look = () => {
      if (this.cleaned) return;
      const procs = this.scan();
      for (const name of this.config.procs) {
        const inst = instancesOf(procs, name, this.runPids(name));
        if (inst.size > 1) {
          const key = `dup:${name}:${[...inst.keys()].sort().join(',')}`;
          if (!reported.has(key)) {
            reported.add(key);
            this.sampled.push(new Violation('duplicates', `two instances of ${name} at once (sessions ${[...inst.keys()].join(', ')}) during "${this.step}": ${describeProcs([...inst.values()].flat())}`));
          }
        }
        const runners = procs.filter((p) => isRunnerLeader(p) && p.name === name);
        if (runners.length > 1) {
          const key = `runners:${name}:${runners.map((r) => r.pid).sort().join(',')}`;
          if (!reported.has(key)) {
            reported.add(key);
            this.sampled.push(new Violation('duplicates', `two runners of ${name} at once during "${this.step}": ${describeProcs(runners)}`));
          }
        }
      }
    };
    this.sampler = setInterval(look, 100);
  }

  takeSampled(): Violation[] {
    return this.sampled.splice(0).filter((v) => !ignored.has(v.id));
  }

  // ---- watch

  async startWatch(): Promise<void> {
    if (this.watchChild) return;
    const child = execa(process.execPath, [CLI, 'watch', '--foreground'], { cwd: this.dir, env: this.env, reject: false });
    this.watchChild = child;
    const marker = join(this.stateDir, 'watch.expected');
    const deadline = Date.now() + 10_000;
    while (!existsSync(marker) && Date.now() < deadline) {
      if (child.exitCode !== null) break;
      await sleep(25);
    }
    this.log(`  watch --foreground started (pid ${child.pid})`);
  }

  async stopWatch(): Promise<void> {
    const child = this.watchChild;
    if (!child) return;
    this.watchChild = null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await child;
    clearTimeout(timer);
    this.log(`  watch stopped (pid ${child.pid})`);
  }

  get watching(): boolean {
    return this.watchChild !== null;
  }

  // ---- settling

  /**
   * Wait until nothing is on its way: no pguard call of ours running (a runner's report, a
   * background job; the watch excepted), no runner busy (a fork, a cooldown's sleep, a report in
   * the background, a group being reaped), no status in passing (stopping, an exit being decided),
   * and, with watch on, no death it has still to see; then two looks alike in a row. Returns the
   * last status. A deadline, never a fixed sleep.
   */
  async settle(model: Model, timeoutMs = 40_000): Promise<StatusRow[]> {
    const deadline = Date.now() + timeoutMs;
    let prev: string | null = null;
    let why = '';
    for (;;) {
      const procs = this.scan();
      const busy = procs.filter(isBusy);
      const rows = await this.statusAll();
      const now = Date.now();
      const passing = rows.filter((r) => r.status === 'stopping' || (r.status === 'crashed' && /deciding/.test(r.reason))
        // A restart pending after the cooldown, its runner waiting it out (one that died leaves it to a look).
        || (r.status === 'crashed' && r.next_restart_at !== null && Date.parse(r.next_restart_at) > now - 1000 && !!this.runnerOf(r.name, procs))
        || (model.watch && this.watching && r.status === 'crashed' && /died with its runner/.test(r.reason)));
      const key = rows.map((r) => `${r.name}:${r.status}:${r.pid}:${r.restarts}`).join(' ');
      if (busy.length === 0 && passing.length === 0) {
        if (key === prev) return rows;
        prev = key;
        why = '';
      } else {
        prev = null;
        why = `busy: ${describeProcs(busy).slice(0, 600)}; in passing: ${passing.map((r) => `${r.name} ${r.status} (${r.reason})`).join('; ')}`;
      }
      if (Date.now() > deadline) {
        throw new Violation('settle', `did not settle within ${timeoutMs / 1000} s after "${this.step}": ${why || 'status kept changing'}; last: ${key}`);
      }
      await sleep(100);
    }
  }

  // ---- cleanup: every process of this registry, by PID, identity checked; then the folder

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    if (this.sampler) clearInterval(this.sampler);
    if (this.watchChild) {
      try { this.watchChild.kill('SIGKILL'); } catch { /* gone */ }
      await this.watchChild.catch(() => undefined);
      this.watchChild = null;
    }
    // Stop markers first, so that no runner restarts what is killed.
    try {
      for (const name of readdirSync(join(this.stateDir, 'procs'))) writeFileSync(join(this.procDir(name), 'stop'), 'model test cleanup\n');
    } catch { /* none */ }
    for (let round = 0; round < 20; round++) {
      const procs = this.scan();
      if (procs.length === 0) break;
      for (const p of procs) {
        // Runners first in each round matter little: every one is SIGKILLed, and the next round
        // takes what a runner forked meanwhile.
        try {
          const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
          if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] !== p.startTime) continue; // not the same process any more
          process.kill(p.pid, 'SIGKILL');
        } catch { /* gone */ }
      }
      await sleep(50);
    }
    const left = this.scan();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`cleanup could not end: ${describeProcs(left)}`);
  }
}

/** Every System not cleaned up yet (the test's afterAll ends them, whatever happened). */
export const live = new Set<System>();
