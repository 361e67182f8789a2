// A temporary registry from an object literal, its own state directory, and a cleanup that kills
// every process it saw (runner and managed process), by PID, after checking its identity.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { decodeRuns } from '../../src/effects/runner-protocol.js';
import { isOurs } from '../../src/effects/identity.js';
import type { Identity } from '../../src/core/record.js';
import { runCli, type CliResult } from './run-cli.js';

export interface TmpRegistry {
  readonly dir: string;
  readonly registry: string;
  readonly stateDir: string;
  readonly env: Record<string, string>;
  /** Run the CLI against this registry. */
  cli(args: readonly string[], opts?: { env?: Record<string, string>; input?: string }): Promise<CliResult>;
  status(name: string): Promise<Record<string, any>>;
  runs(name: string): ReturnType<typeof decodeRuns>;
  logOf(name: string): string;
  /** The ledger's entries, oldest first ([] before the first). */
  ledger(): { seq: number; at: string; event: string; process: string; details: Record<string, any> }[];
  /** Identities of every runner and process this registry has started. */
  identities(): Identity[];
  cleanup(): Promise<void>;
}

const live: TmpRegistry[] = [];

/** Live processes whose environment holds this exact NAME=value (Linux's /proc; none elsewhere). */
export function pidsWithEnv(entry: string): number[] {
  let pids: string[] = [];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return []; }
  const found: number[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry)) found.push(Number(pid));
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

export function tmpRegistry(entries: Record<string, unknown>, opts: { raw?: string } = {}): TmpRegistry {
  // The test's temp folder is private (mkdtemp makes it 0700); state lives inside it.
  const dir = mkdtempSync(join(tmpdir(), 'pguard-test-'));
  const registry = join(dir, '.process-registry.json');
  writeFileSync(registry, opts.raw ?? `${JSON.stringify(entries, null, 2)}\n`);
  const stateDir = join(dir, 'state');
  // Its own ledger key too ($XDG_CONFIG_HOME/pguard/ledger.key), never the user's.
  const env = { PGUARD_STATE_DIR: stateDir, PGUARD_REGISTRY: registry, XDG_CONFIG_HOME: join(dir, 'config') };
  const procDir = join(stateDir, 'procs');
  const t: TmpRegistry = {
    dir, registry, stateDir, env,
    cli: (args, o = {}) => runCli(args, { cwd: dir, env: { ...env, ...o.env }, input: o.input }),
    async status(name) {
      const res = await t.cli(['status', name, '--json']);
      if (res.code !== 0) throw new Error(`status failed: ${res.stderr}`);
      return (JSON.parse(res.stdout) as Record<string, any>[])[0]!;
    },
    runs: (name) => {
      let text = '';
      try { text = readFileSync(join(procDir, name, 'runs.log'), 'utf8'); } catch { /* none */ }
      return decodeRuns(text);
    },
    ledger: () => {
      try { return readFileSync(join(stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)); } catch { return []; }
    },
    logOf: (name) => { try { return readFileSync(join(stateDir, 'logs', `${name}.log`), 'utf8'); } catch { return ''; } },
    identities() {
      const ids: Identity[] = [];
      let names: string[] = [];
      try { names = readdirSync(procDir); } catch { return ids; }
      for (const name of names) {
        for (const run of t.runs(name).starts.values()) ids.push(run.identity);
        try {
          const rec = JSON.parse(readFileSync(join(procDir, name, 'state.json'), 'utf8'));
          if (rec.runner) ids.push(rec.runner);
        } catch { /* none */ }
      }
      return ids;
    },
    async cleanup() {
      // Stop markers first, so no runner restarts what we kill.
      try { for (const name of readdirSync(procDir)) writeFileSync(join(procDir, name, 'stop'), 'test cleanup\n'); } catch { /* none */ }
      // Whole groups first: a run's group outlives its leader when the leader alone was killed.
      for (const id of t.identities()) { try { process.kill(-id.pid, 'SIGKILL'); } catch { /* no such group */ } }
      for (let round = 0; round < 3; round++) {
        const ids = t.identities().filter(isOurs);
        if (ids.length === 0) break;
        for (const id of ids) {
          try { process.kill(-id.pid, 'SIGKILL'); } catch { /* not a group leader */ }
          try { process.kill(id.pid, 'SIGKILL'); } catch { /* gone */ }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      // Then what no record names: background jobs (a dependents' restart, a notify, a rollback)
      // are pguard processes of their own, found by the state directory in their environment.
      for (let round = 0; round < 20; round++) {
        const pids = pidsWithEnv(`PGUARD_STATE_DIR=${stateDir}`);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try { process.kill(-pid, 'SIGKILL'); } catch { /* not a group leader */ }
          try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  live.push(t);
  return t;
}

afterEach(async () => {
  while (live.length > 0) await live.pop()!.cleanup();
});
