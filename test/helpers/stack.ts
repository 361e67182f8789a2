// The real stack (test/fixtures/stack/stack.mjs) under pguard for the stack tests: its own private
// folder /tmp/pguard-stack-*, registry, state directory and ledger key; `pguard watch --foreground`
// as a child of the test; and a cleanup that kills, by PID, everything the registry started (each
// run's whole group: postgres's and nginx's children), every pguard job still running for it, and
// the watch, then checks that the ports are free again.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { decodeRuns } from '../../src/effects/runner-protocol.js';
import { isOurs } from '../../src/effects/identity.js';
import type { Identity } from '../../src/core/record.js';
import { CLI, runCli, type CliResult } from './run-cli.js';
import { waitFor } from './wait-for.js';
// @ts-ignore: plain JavaScript (no types), shared with bench/stack.mjs
import * as fixture from '../fixtures/stack/stack.mjs';

export const { missing, makeStack, pguardRegistry, select1, httpStatus, groupMembers, procState, portFree, FIXTURE_DIR, PYTHON } = fixture as {
  missing(): string[];
  makeStack(): Promise<StackFiles>;
  pguardRegistry(s: StackFiles): Record<string, Record<string, unknown>>;
  select1(port: number): Promise<boolean>;
  httpStatus(url: string, timeoutMs?: number): Promise<number>;
  groupMembers(pgid: number): number[];
  procState(pid: number): string | null;
  portFree(port: number): Promise<boolean>;
  FIXTURE_DIR: string;
  PYTHON: string;
};

export interface StackFiles {
  readonly root: string;
  readonly ports: { pg: number; redis: number; api: number; nginx: number };
  readonly pgDir: string;
  readonly pgData: string;
  readonly state: string;
  readonly commands: Record<'postgres' | 'redis' | 'api' | 'nginx', string>;
  readonly apiEnv: Record<string, string>;
}

export const CHAIN = ['postgres', 'redis', 'api', 'nginx'] as const;

export interface LedgerEntry { seq: number; at: string; event: string; process: string; details: Record<string, any> }
export interface Alert { id: string; kind: string; severity: string; process: string; message: string }

export interface Stack extends StackFiles {
  readonly registry: string;
  readonly env: Record<string, string>;
  cli(args: readonly string[]): Promise<CliResult>;
  status(name: string): Promise<Record<string, any>>;
  runs(name: string): ReturnType<typeof decodeRuns>;
  logOf(name: string): string;
  ledger(): LedgerEntry[];
  alerts(): Promise<Alert[]>;
  /** Every runner and run identity the registry has started. */
  identities(): Identity[];
  /** Each run's process group (its PID: the run called setsid). */
  groups(): number[];
  /** pguard processes working for this state directory (background jobs, on-exit reports), not the watch. */
  jobs(): number[];
  startWatch(): Promise<void>;
  stopWatch(): Promise<void>;
  /** Everything up, every probe passing, nginx answering 200 through the chain, no pguard job left. */
  settled(names?: readonly string[]): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** The stack's files, its registry (extra entries added), and the watch; nothing started yet. */
export async function makeStackRegistry(extra: Record<string, unknown> = {}): Promise<Stack> {
  const files = await makeStack();
  const registry = join(files.root, '.process-registry.json');
  writeFileSync(registry, `${JSON.stringify({ ...pguardRegistry(files), ...extra }, null, 2)}\n`);
  const env = {
    PGUARD_STATE_DIR: files.state, PGUARD_REGISTRY: registry,
    XDG_CONFIG_HOME: join(files.root, 'config'), XDG_STATE_HOME: join(files.root, 'xdg-state'),
  };
  const procDir = join(files.state, 'procs');
  let watch: ResultPromise | null = null;
  const s: Stack = {
    ...files, registry, env,
    cli: (args) => runCli(args, { cwd: files.root, env }),
    async status(name) {
      const res = await s.cli(['status', name, '--json']);
      if (res.code !== 0) throw new Error(`status failed: ${res.stderr}`);
      return (JSON.parse(res.stdout) as Record<string, any>[])[0]!;
    },
    runs(name) {
      let text = '';
      try { text = readFileSync(join(procDir, name, 'runs.log'), 'utf8'); } catch { /* none */ }
      return decodeRuns(text);
    },
    logOf: (name) => { try { return readFileSync(join(files.state, 'logs', `${name}.log`), 'utf8'); } catch { return ''; } },
    ledger() {
      try { return readFileSync(join(files.state, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LedgerEntry); } catch { return []; }
    },
    async alerts() { return JSON.parse((await s.cli(['alerts', '--json'])).stdout) as Alert[]; },
    identities() {
      const ids: Identity[] = [];
      let names: string[] = [];
      try { names = readdirSync(procDir); } catch { return ids; }
      for (const name of names) {
        for (const run of s.runs(name).starts.values()) ids.push(run.identity);
        try {
          const rec = JSON.parse(readFileSync(join(procDir, name, 'state.json'), 'utf8'));
          if (rec.runner) ids.push(rec.runner);
        } catch { /* none */ }
      }
      return ids;
    },
    groups() {
      const out: number[] = [];
      let names: string[] = [];
      try { names = readdirSync(procDir); } catch { return out; }
      for (const name of names) for (const run of s.runs(name).starts.values()) out.push(run.identity.pid);
      return out;
    },
    jobs() {
      const out: number[] = [];
      for (const e of readdirSync('/proc')) {
        if (!/^\d+$/.test(e) || Number(e) === watch?.pid) continue;
        try {
          if (!readFileSync(`/proc/${e}/cmdline`, 'utf8').includes('pguard.js')) continue;
          if (procState(Number(e)) === 'Z') continue;
          const environ = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
          if (environ.includes(`PGUARD_STATE_DIR=${files.state}`) || environ.includes(`PGUARD_REGISTRY=${registry}`)) out.push(Number(e));
        } catch { /* gone */ }
      }
      return out;
    },
    async startWatch() {
      if (watch) return;
      watch = execa(process.execPath, [CLI, 'watch', '--foreground'], { env: { NO_COLOR: '1', ...env }, cwd: files.root, reject: false, stdio: 'ignore' });
      await waitFor(() => existsSync(join(files.state, 'watch.expected')), { timeoutMs: 15_000, what: 'watch to start' });
    },
    async stopWatch() {
      const w = watch;
      watch = null;
      if (!w) return;
      w.kill('SIGKILL');
      await w;
    },
    async settled(names = CHAIN) {
      if (s.jobs().length > 0) return false;
      for (const n of names) {
        const v = await s.status(n);
        if (v.status !== 'running' || !(v.health as { ok: boolean | null }[]).every((h) => h.ok === true)) return false;
      }
      return names.includes('nginx') ? (await httpStatus(`http://127.0.0.1:${files.ports.nginx}/health`)) === 200 : true;
    },
    async cleanup() {
      await s.stopWatch();
      // Stop markers first, so no runner restarts what is killed; then the jobs, the runners, each
      // run's group and each run, by PID, each after checking its identity (runner, run) or its group.
      try { for (const name of readdirSync(procDir)) writeFileSync(join(procDir, name, 'stop'), 'test cleanup\n'); } catch { /* none */ }
      for (let round = 0; round < 5; round++) {
        for (const pid of s.jobs()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
        const ids = s.identities().filter(isOurs);
        const groups = s.groups().filter((g) => groupMembers(g).length > 0);
        if (ids.length === 0 && groups.length === 0 && s.jobs().length === 0) break;
        for (const id of ids) { try { process.kill(id.pid, 'SIGKILL'); } catch { /* gone */ } }
        for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch { /* empty */ } }
        await new Promise((r) => setTimeout(r, 100));
      }
      rmSync(files.root, { recursive: true, force: true });
    },
  };
  return s;
}

/** Wait until `s.settled()` (default 45 s). */
export async function waitSettled(s: Stack, names: readonly string[] = CHAIN, timeoutMs = 45_000): Promise<void> {
  await waitFor(() => s.settled(names), { timeoutMs, intervalMs: 200, what: `${names.join(', ')} running with every probe passing and no pguard job pending` });
}

/** A ms clock for figures. */
export const nowMs = (): number => performance.timeOrigin + performance.now();
