// Detached start through the POSIX runner: a new session (setsid, so the launcher's SIGHUP or a
// kill of its process group never reaches it), stdin /dev/null, stdout and stderr appended to the
// process log. The CLI does not wait for it: it returns the runner's identity and lets go.
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { childProcess } from './lazy-builtins.js';
import { UserError } from '../errors.js';
import type { Identity, RunInfo } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { readIdentity } from './identity.js';
import { checkTrusted } from './registry-file.js';
import { encodeRunnerEnv } from './runner-protocol.js';
import { resolveRunAs, type RunAs } from './run-as.js';
import { detectSession, runnerCommand } from './session-scope.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: dist/effects/ -> ../.. */
export const PACKAGE_ROOT = resolve(here, '..', '..');
/** The runner beside each process: a POSIX shell script; on Windows, a bundled Node script (src/runner-win/). */
export const RUNNER_PATH = process.platform === 'win32' ? join(PACKAGE_ROOT, 'dist', 'bundle', 'runner-win.cjs') : join(PACKAGE_ROOT, 'bin', 'pguard-runner.sh');
export const CLI_PATH = join(PACKAGE_ROOT, 'bin', 'pguard.js');

export interface SpawnRequest {
  readonly def: ProcessDef;
  readonly registryPath: string;
  readonly procDir: string;
  readonly heartbeatFile: string;
  readonly logFile: string;
  readonly epoch: number;
  readonly delayMs: number;
  /** The environment pguard itself runs in; the process inherits it, then env_file, then env. */
  readonly baseEnv: NodeJS.ProcessEnv;
  /** The runner's `pguard on-exit` must use this state directory, whatever the environment says. */
  readonly stateDir: string;
  /** A live run of a dead runner for this one to adopt (watch, not start): runner-protocol.ts. */
  readonly adopt?: RunInfo | null;
}

/** Working directory: relative to the registry's folder, and it must exist. */
export function resolveCwd(def: ProcessDef, registryPath: string): string {
  const base = dirname(registryPath);
  const cwd = def.cwd ? (isAbsolute(def.cwd) ? def.cwd : resolve(base, def.cwd)) : base;
  let ok = false;
  try { ok = statSync(cwd).isDirectory(); } catch { ok = false; }
  if (!ok) throw new UserError(`"${def.name}".cwd: ${cwd} is not a directory. Create it, or change cwd with \`pguard register ${def.name} ... --cwd DIR\`.`);
  return cwd;
}

/**
 * The process's environment: ours, then the account's HOME, USER, LOGNAME and SHELL where it runs
 * as another user (runAs), then env_file (dotenv, parsed by Node's util.parseEnv), then env.
 */
export function buildEnv(def: ProcessDef, registryPath: string, base: NodeJS.ProcessEnv, runAs: RunAs | null = null): Record<string, string> {
  return mergeEnv(base, runAs?.env ?? {}, ownEnv(def, registryPath));
}

function mergeEnv(base: NodeJS.ProcessEnv, ...over: Record<string, string>[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  return Object.assign(env, ...over);
}

/** What the entry itself sets: env_file, then env. */
function ownEnv(def: ProcessDef, registryPath: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (def.envFile) {
    const file = isAbsolute(def.envFile) ? def.envFile : resolve(dirname(registryPath), def.envFile);
    Object.assign(env, parseEnv(readEnvFile(`"${def.name}".env_file`, file)));
  }
  return Object.assign(env, def.env);
}

/**
 * An env_file sets what the process runs with (PATH, LD_PRELOAD): it is trusted as the registry
 * is (registry-file.ts), or refused. Checked on the descriptor that is then read (fstat), so the
 * file cannot be swapped between the check and the read; O_NONBLOCK, so a FIFO is refused, not
 * waited on.
 */
export function readEnvFile(field: string, file: string): string {
  const key = field.replace(/^.*\./, '');
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch {
    throw new UserError(`${field}: cannot read ${file}. Create it, or remove ${key}.`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${field}: ${file} is not a regular file (a dotenv file of KEY=VALUE lines). Point ${key} at one.`, 2);
    checkTrusted(file, st, { subject: `${field}: `, use: 'use' });
    return readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${field}: cannot read ${file}. Create it, or remove ${key}.`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether this process's runner rotates its log itself (log_writer, with a size to rotate at):
 * the POSIX runner only; the Windows runner's log is rotated at start and by the healthcheck.
 */
export function writesOwnLog(def: ProcessDef): boolean {
  return def.logWriter && def.logMaxMb > 0 && process.platform !== 'win32';
}

/** The healthcheck's copytruncate of a log its runner's writer rotates: only past this (a backstop). */
export const WRITER_LOG_SLACK = 1.1;

export function spawnRunner(req: SpawnRequest): Identity {
  const { def } = req;
  const cwd = resolveCwd(def, req.registryPath);
  // An unknown user, or one pguard cannot switch to, refuses this process alone, before anything starts.
  const runAs = resolveRunAs(def, req.baseEnv);
  // The runner runs as pguard, with pguard's HOME (its `pguard on-exit` finds pguard's own files
  // there): the account's variables are handed over for the program alone, unless the entry sets them.
  const own = ownEnv(def, req.registryPath);
  const env = mergeEnv(req.baseEnv, own);
  Object.assign(env, encodeRunnerEnv({
    name: def.name, registryPath: req.registryPath, procDir: req.procDir, heartbeatFile: req.heartbeatFile,
    command: def.command, epoch: req.epoch, delayMs: req.delayMs, killTimeoutMs: def.killTimeoutS * 1000, nodePath: process.execPath, cliPath: CLI_PATH,
    stateDir: req.stateDir, adopt: req.adopt ?? null,
    logWriter: writesOwnLog(def) ? { file: req.logFile, maxBytes: def.logMaxMb * 1024 * 1024, keep: def.logKeep } : null,
    runAs: runAs && {
      uid: runAs.uid, gid: runAs.gid, setpriv: runAs.setpriv,
      env: Object.fromEntries(Object.entries(runAs.env).filter(([k]) => !Object.hasOwn(own, k))),
    },
  }));
  if (!existsSync(RUNNER_PATH)) throw new UserError(`the runner ${RUNNER_PATH} is missing: reinstall pguard.`);
  const log = openSync(req.logFile, 'a', 0o600);
  try {
    // node:child_process rather than execa here: the runner must get the log's file descriptor
    // itself. execa's {file} target pipes through this process (which is about to exit), and its
    // types refuse a descriptor number held in a variable.
    // Windows: Node runs the runner, detached from this console and with no window of its own.
    const { file, args } = process.platform === 'win32'
      ? { file: process.execPath, args: [RUNNER_PATH] }
      : runnerCommand(detectSession(req.baseEnv), RUNNER_PATH, { procDir: req.procDir, name: def.name, epoch: req.epoch });
    const child = childProcess().spawn(file, args, {
      cwd,
      env,
      detached: true, // setsid(): its own session and process group
      windowsHide: true,
      stdio: ['ignore', log, log],
    });
    child.on('error', () => {}); // reported below through the missing identity
    const pid = child.pid;
    if (pid === undefined) throw new UserError(`could not start the runner for "${def.name}".`);
    child.unref();
    const identity = readIdentity(pid);
    if (!identity) throw new UserError(`"${def.name}": its runner exited at once; see ${req.logFile}.`);
    return identity;
  } finally {
    closeSync(log);
  }
}

/**
 * Run `pguard <args>` detached (its own session, not waited for) against a registry and state
 * directory: the notifier, dependents' restarts, automatic rollbacks and the watch daemon. Output
 * goes to `logFile` (appended) or nowhere.
 */
export function spawnDetachedCli(args: readonly string[], opts: { registryPath: string; stateDir: string; env: NodeJS.ProcessEnv; logFile?: string; nodeFlags?: readonly string[] }): void {
  const fd = opts.logFile ? openSync(opts.logFile, 'a', 0o600) : null;
  try {
    const child = childProcess().spawn(process.execPath, [...(opts.nodeFlags ?? []), CLI_PATH, ...args, '--registry', opts.registryPath], {
      detached: true,
      stdio: fd === null ? 'ignore' : ['ignore', fd, fd],
      env: { ...opts.env, PGUARD_STATE_DIR: opts.stateDir },
    });
    child.on('error', () => {}); // best effort: the callers' work is already recorded
    child.unref();
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
