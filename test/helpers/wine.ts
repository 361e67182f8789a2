// The Windows tests' ground: the real pguard CLI run by Windows Node under Wine, set up by
// scripts/wine-setup.sh (which .ci/run runs before `npm test`). Without Wine or that setup, WINE is
// null and WINE_MISSING says why: the Windows tests skip with that one message.
//
// Under Wine, Windows Node cannot write to a Linux pipe (process.stdout: "open EBADF"): every
// call's output goes to files. Registries and state live inside the prefix's profile folder
// (C:\users\<user>), in folders of mode 0700: Wine derives a file's Windows ACL from its Unix mode,
// and pguard rightly refuses state that others could change (/tmp's 1777 reads as "Everyone may
// delete"). The wineserver creates the files, so it runs with umask 077 (startWineServer).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach } from 'vitest';
import type { Identity } from '../../src/core/record.js';
import { decodeRuns } from '../../src/effects/runner-protocol.js';
import { runJobName } from '../../src/effects/win/kernel32.js';
import { CLI, type CliResult } from './run-cli.js';

export interface WineSetup {
  /** Linux paths: the prefix, Windows Node, the profile folder (C:\users\<user>). */
  readonly prefix: string;
  readonly node: string;
  readonly profile: string;
  /** What every Wine call runs with (WINEPREFIX, WINEDEBUG, NODE_PATH for koffi, ...). */
  readonly env: Record<string, string>;
  readonly version: string;
}

export const WINE_HOME = process.env.PGUARD_WINE_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pguard-wine');
export const WIN_TOOL = new URL('../win/fixtures/win-tool.cjs', import.meta.url).pathname;

function loadSetup(): { setup: WineSetup | null; why: string } {
  const fix = 'run scripts/wine-setup.sh (Debian: apt-get install wine wine64 first)';
  if (spawnSync('sh', ['-c', 'command -v wine && command -v wineserver'], { stdio: 'ignore' }).status !== 0) return { setup: null, why: `no wine on PATH; ${fix}` };
  const file = join(WINE_HOME, 'wine.env');
  let vars: Record<string, string>;
  try { vars = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>; } catch { return { setup: null, why: `no ${file}; ${fix}` }; }
  const { WINEPREFIX, PGUARD_WINE_NODE, PGUARD_WINE_NODE_PATH, PGUARD_WINE_PROFILE } = vars;
  for (const [k, v] of Object.entries({ WINEPREFIX, PGUARD_WINE_NODE, PGUARD_WINE_NODE_PATH, PGUARD_WINE_PROFILE })) {
    if (!v) return { setup: null, why: `${file} has no ${k}; ${fix}` };
  }
  if (!existsSync(join(WINEPREFIX!, '.pguard-ready')) || !existsSync(PGUARD_WINE_NODE!)) return { setup: null, why: `the setup in ${WINE_HOME} is incomplete; ${fix}` };
  // Only what Wine and Windows Node need: not this process's NODE_OPTIONS (vitest's), PGUARD_* or XDG_*.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? homedir(), LANG: process.env.LANG ?? 'C.UTF-8',
    WINEPREFIX: WINEPREFIX!, WINEDEBUG: vars.WINEDEBUG ?? '-all', WINEDLLOVERRIDES: vars.WINEDLLOVERRIDES ?? '', NODE_PATH: PGUARD_WINE_NODE_PATH!, NO_COLOR: '1',
  };
  return { setup: { prefix: WINEPREFIX!, node: PGUARD_WINE_NODE!, profile: PGUARD_WINE_PROFILE!, env, version: vars.PGUARD_WINE_VERSION ?? 'wine' }, why: '' };
}

const loaded = loadSetup();
export const WINE = loaded.setup;
export const WINE_MISSING = loaded.why;

/** Windows' name for a Linux path: C:\... inside the prefix's drive_c, else Z:\... (Z: is /). */
export function winPath(path: string): string {
  const driveC = join(WINE!.prefix, 'drive_c');
  const rel = relative(driveC, path);
  if (!rel.startsWith('..')) return `C:\\${rel.split(sep).join('\\')}`;
  return `Z:${path.split(sep).join('\\')}`;
}

let io: string | null = null;
let ioSeq = 0;

/** `wine node.exe ARGS`: its exit code and output (through files). */
export async function runWindowsNode(args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  io ??= mkdtempSync(join(tmpdir(), 'pguard-wine-io-'));
  const n = ++ioSeq;
  const out = join(io, `${n}.out`);
  const err = join(io, `${n}.err`);
  const outFd = openSync(out, 'w', 0o600);
  const errFd = openSync(err, 'w', 0o600);
  try {
    const child = spawn('wine', [WINE!.node, ...args], { cwd: opts.cwd ?? WINE!.profile, env: { ...WINE!.env, ...opts.env }, stdio: ['ignore', outFd, errFd] });
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const code = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
      child.on('exit', (c, signal) => { clearTimeout(timer); resolve(c ?? (signal ? 128 : -1)); });
      child.on('error', () => { clearTimeout(timer); resolve(-1); });
    });
    const res = { code, stdout: readFileSync(out, 'utf8').replace(/\r\n/g, '\n'), stderr: readFileSync(err, 'utf8').replace(/\r\n/g, '\n') };
    rmSync(out, { force: true });
    rmSync(err, { force: true });
    return res;
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
}

/** The test's own Windows-side eyes and hands (test/win/fixtures/win-tool.cjs): its JSON answer. */
export async function winTool(...args: string[]): Promise<any> {
  const res = await runWindowsNode([winPath(WIN_TOOL), ...args]);
  if (res.code !== 0) throw new Error(`win-tool ${args.join(' ')}: exit ${res.code}: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

export interface WinProcess { readonly pid: number; readonly ppid: number; readonly exe: string; readonly start: string }

/**
 * One wineserver for the whole file (`wineserver -p`: it stays up between calls, which saves each
 * call its start), with umask 077. stop() ends it with every Windows process of the prefix, only
 * when it was started here; a server already running is used as it is.
 */
export function startWineServer(): { stop(): void } {
  const res = spawnSync('sh', ['-c', 'umask 077 && exec wineserver -p'], { env: WINE!.env, stdio: 'ignore' });
  const ours = res.status === 0;
  return {
    stop() {
      if (!ours) return;
      spawnSync('wineserver', ['-k'], { env: WINE!.env, stdio: 'ignore' });
      spawnSync('wineserver', ['-w'], { env: WINE!.env, stdio: 'ignore', timeout: 30_000 });
      if (io) rmSync(io, { recursive: true, force: true });
      io = null;
    },
  };
}

export interface WinRegistry {
  /** Linux paths of the test's folder and state directory. */
  readonly dir: string;
  readonly stateDir: string;
  /** Windows paths, as pguard sees them. */
  readonly registry: string;
  readonly env: Record<string, string>;
  cli(args: readonly string[], opts?: { env?: Record<string, string> }): Promise<CliResult>;
  status(name: string): Promise<Record<string, any>>;
  runs(name: string): ReturnType<typeof decodeRuns>;
  record(name: string): Record<string, any>;
  logOf(name: string): string;
  /** Identities of every runner and run this registry has started. */
  identities(): Identity[];
  cleanup(): Promise<void>;
}

const live: WinRegistry[] = [];

/** A registry from an object literal in a private folder of the Windows profile, with its own state, config and index. */
export function tmpWinRegistry(entries: Record<string, unknown>): WinRegistry {
  const dir = mkdtempSync(join(WINE!.profile, 'pguard-test-')); // 0700
  writeFileSync(join(dir, 'registry.json'), `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  const stateDir = join(dir, 'state');
  const win = winPath(dir);
  const env = {
    PGUARD_REGISTRY: `${win}\\registry.json`, PGUARD_STATE_DIR: `${win}\\state`, XDG_CONFIG_HOME: `${win}\\config`, XDG_STATE_HOME: `${win}\\xdg-state`,
  };
  const procDir = join(stateDir, 'procs');
  const t: WinRegistry = {
    dir, stateDir, registry: env.PGUARD_REGISTRY, env,
    cli: (args, o = {}) => runWindowsNode([winPath(CLI), ...args], { cwd: dir, env: { ...env, ...o.env } }),
    async status(name) {
      const res = await t.cli(['status', name, '--json']);
      if (res.code !== 0) throw new Error(`status failed: ${res.stderr}`);
      return (JSON.parse(res.stdout) as Record<string, any>[])[0]!;
    },
    runs: (name) => {
      try { return decodeRuns(readFileSync(join(procDir, name, 'runs.log'), 'utf8')); } catch { return decodeRuns(''); }
    },
    record: (name) => JSON.parse(readFileSync(join(procDir, name, 'state.json'), 'utf8')),
    logOf: (name) => { try { return readFileSync(join(stateDir, 'logs', `${name}.log`), 'utf8').replace(/\r\n/g, '\n'); } catch { return ''; } },
    identities() {
      const ids: Identity[] = [];
      let names: string[] = [];
      try { names = readdirSync(procDir); } catch { return ids; }
      for (const name of names) {
        for (const run of t.runs(name).starts.values()) ids.push(run.identity);
        try { const rec = t.record(name); if (rec.runner) ids.push(rec.runner); } catch { /* none */ }
      }
      return ids;
    },
    async cleanup() {
      // Stop markers first, so no runner restarts what is ended; then every run's job (its whole
      // tree) and every runner and run still the process it was.
      try { for (const name of readdirSync(procDir)) writeFileSync(join(procDir, name, 'stop'), 'test cleanup\n'); } catch { /* none */ }
      const ids = t.identities();
      if (ids.length > 0) await winTool('end', ...ids.map((id) => runJobName(id.pid, id.startTime)), ...ids.map((id) => `${id.pid}:${id.startTime}`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.push(t);
  return t;
}

afterEach(async () => {
  while (live.length > 0) await live.pop()!.cleanup();
});
