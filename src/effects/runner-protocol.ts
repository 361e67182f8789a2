// The contract between the POSIX runner (bin/pguard-runner.sh) and pguard's TypeScript, owned here
// and documented only here. Every file and variable the two share is encoded and decoded below;
// test/effects/runner-protocol.test.ts checks the script against these names, and
// test/effects/runner-conformance.test.ts runs the real runner against decide().
//
// Files in the process's folder ($PGUARD_PROC_DIR):
//   runs.log    appended by the runner, one printf per line (O_APPEND: lines never interleave):
//                 start ID PID STARTTIME BOOTID STARTED_MS   (BOOTID '-' where the OS has none)
//                 exit ID WAIT_STATUS ENDED_MS ENDED_UPTIME  (WAIT_STATUS as $? reports it: 128+N = signal N;
//                                                             '=N' from the Windows runner: exit code N, never
//                                                             a signal (its 127 and 130 are written bare: not
//                                                             found, and ended by Ctrl-C as by SIGINT);
//                                                             '-' for an adopted run, whose end was seen but
//                                                             not its status: it vanished, without a code.
//                                                             ENDED_UPTIME: /proc/uptime in centiseconds, '-'
//                                                             where there is none: the next run's STARTTIME
//                                                             minus it is the restart, on the kernel's clock)
//                 leftovers ID WAITED_MS SIGKILLED           (after an exit, when the run's group still had
//                                                             members: SIGTERM, SIGKILL after kill_timeout if
//                                                             SIGKILLED is 1, waited for before any restart;
//                                                             ID EPOCH.0: a dead runner's run, before the first)
//               ID is "EPOCH.SEQ"; PID + STARTTIME + BOOTID are the run's identity (effects/identity.ts).
//   arm         written by pguard (temp file + rename), read by the runner with one `read` after an
//               exit and then emptied (`: > arm`, builtins only), so one arm buys at most one restart:
//                 NORMAL_AFTER_MS STABLE_AFTER_MS UNSTABLE_OK NOT_BEFORE_MS FINAL_STATUSES   (core/arm.ts)
//               FINAL_STATUSES is a comma-separated list (126,127, no_restart_exit_codes and success_exit_codes). A second
//               line, where pguard can read the kernel's clock, anchors it to the wall clock (effects/clock.ts):
//                 WALL_MS UPTIME_CS
//               The runner times an exit without a fork: WALL_MS + (uptime at the exit - UPTIME_CS) x 10,
//               from this anchor or its own (each `date` it runs), whichever is newer; the wall clock
//               (date) where the kernel's clock is not readable.
//               The runner restarts at once, without Node, when: the status is not in FINAL_STATUSES,
//               and not (status 0 and NORMAL_AFTER_MS > 0 and ran >= NORMAL_AFTER_MS), and
//               (STABLE_AFTER_MS >= 0 and ran >= STABLE_AFTER_MS, or UNSTABLE_OK = 1 and the exit
//               time >= NOT_BEFORE_MS).
//   stop        exists while a stop is asked for: the runner checks it before every run and after
//               every exit, and then exits without reporting.
//   interrupt   Windows only (no SIGTERM there): written by pguard (temp file + rename) to have the
//               runner send Ctrl-C to a run's console, as stop_signal is sent on Linux; it holds
//               that run's PID. The runner, which looks for it every 100 ms while a run lives,
//               removes it and sends Ctrl-C if the PID is its current run's (effects/kill.ts
//               ends what is left after kill_timeout).
//   pid         the current run's PID, its group's id: the runner ends what is left of that group after
//               the run's exit, and a new runner the group of a dead runner's last run before its first.
//   runner.log  stderr of the runner's on-exit calls.
//   log.pipe    log_writer only: the FIFO the run's stdout and stderr go into, made anew by each
//               runner (mkfifo, 0600), read by its writer, which appends to PGUARD_LOG_FILE and
//               renames it aside at PGUARD_LOG_MAX_BYTES (log -> log.1 ... log.PGUARD_LOG_KEEP;
//               KEEP 0: emptied in place). The runner holds the write end for all its runs; the
//               writer ends at the pipe's end of file (the runner and the run's processes gone), or
//               once the log has not changed for 2 s after the runner's exit (10 s at most). A
//               writer found dead is started again before a run.
// The kernel's clock is /proc/uptime, or the file PGUARD_UPTIME_FILE names (the conformance test's clock).
//
// The runner's report, after every exit: NODE CLI on-exit NAME --registry REGISTRY --run ID
// [--restarted-at ENDED_MS] (the latter when it already restarted alone, in the background). On
// its stdout the slow path reads one instruction line: "restart-at <ms since epoch>" or "done".
//
// The runner's environment (PGUARD_NAME, PGUARD_REGISTRY and PGUARD_HEARTBEAT_FILE stay in the
// user's process; the runner unsets the others before it execs the command): see RUNNER_ENV.
// With `user` (PGUARD_RUN_AS: "UID GID SETPRIV"), the runner, which stays pguard's user, execs the
// command through `SETPRIV --reuid=UID --regid=GID --init-groups --` (the PID stays the run's), and
// exports PGUARD_RUN_AS_HOME/_USER/_LOGNAME/_SHELL as HOME/USER/LOGNAME/SHELL for the command alone.
//
// Adopt mode (PGUARD_ADOPT set, to a run's start line fields: ID PID STARTTIME BOOTID STARTED_MS):
// a live run whose runner died (core/on-check.ts). The new runner starts nothing while it lives:
// it reads /proc/PID/stat every 250 ms (one bash for the whole wait, whose `read -t` waits
// without a fork; without bash, dash and a fork of sleep each time) until that PID is gone, a
// zombie, or names another process (its start time differs), or another boot. Then it
// writes `exit ID - ENDED_MS ENDED_UPTIME` (the run keeps its own, older epoch's ID), ends what is
// left of its group, and goes on as after any exit: the stop marker, then the arm's fast restart
// (run EPOCH.1) or the on-exit report (--run ID, the adopted run's). Its first run is EPOCH.1.
// Where there is no /proc: kill -0, the identity not checked again.
import type { Arm } from '../core/arm.js';
import type { ClockAnchor } from './clock.js';
import type { Decision } from '../core/plan.js';
import type { RunInfo } from '../core/record.js';
import type { RunsView } from '../core/runs.js';

/** The files in $PGUARD_PROC_DIR that the runner reads or writes. */
export const RUNNER_FILES = { runs: 'runs.log', arm: 'arm', stop: 'stop', pid: 'pid', runnerLog: 'runner.log', interrupt: 'interrupt', logPipe: 'log.pipe' } as const;
/** The files only the Windows runner uses (the POSIX one is sent stop_signal directly). */
export const WINDOWS_ONLY_RUNNER_FILES: readonly string[] = [RUNNER_FILES.interrupt];

/** Variables the runner reads, with what they carry. */
export const RUNNER_ENV = {
  procDir: 'PGUARD_PROC_DIR',         // the process's private folder (RUNNER_FILES)
  command: 'PGUARD_COMMAND',          // the user's command
  epoch: 'PGUARD_EPOCH',              // this runner's generation; its runs are EPOCH.1, EPOCH.2, ...
  delayMs: 'PGUARD_DELAY_MS',         // wait before the first run (a restart after a cooldown)
  killTimeoutMs: 'PGUARD_KILL_TIMEOUT_MS', // leftovers of a dead run get SIGKILL after this
  node: 'PGUARD_NODE',                // how to call `pguard on-exit`: node binary,
  cli: 'PGUARD_CLI',                  //   pguard's bin/pguard.js,
  stateDir: 'PGUARD_RUNNER_STATE_DIR', //  and the state directory it must use, whatever the user's env says
  name: 'PGUARD_NAME',                // kept in the user's process
  registry: 'PGUARD_REGISTRY',        // kept in the user's process
  heartbeat: 'PGUARD_HEARTBEAT_FILE', // kept: touch it to pass a heartbeat probe
  uptimeFile: 'PGUARD_UPTIME_FILE',   // the kernel's clock, when not /proc/uptime
  adopt: 'PGUARD_ADOPT',              // adopt mode: the live run to watch (encodeAdopt)
  runAs: 'PGUARD_RUN_AS',             // `user`: "UID GID SETPRIV" (encodeRunAs); absent: run as the runner
  runAsHome: 'PGUARD_RUN_AS_HOME',    //   and the program's HOME, USER, LOGNAME, SHELL (each where the
  runAsUser: 'PGUARD_RUN_AS_USER',    //   entry's env and env_file do not set it); the runner itself
  runAsLogname: 'PGUARD_RUN_AS_LOGNAME', // keeps pguard's (its on-exit finds pguard's files by HOME)
  runAsShell: 'PGUARD_RUN_AS_SHELL',
  logFile: 'PGUARD_LOG_FILE',         // log_writer: the log the writer appends to (absent: the run
  logMaxBytes: 'PGUARD_LOG_MAX_BYTES', //  writes to the log itself), renamed aside at this size,
  logKeep: 'PGUARD_LOG_KEEP',         //   keeping this many (log_keep)
} as const;

/** The account variables of `user`, by the environment variable the program gets. */
const RUN_AS_ENV: Readonly<Record<string, string>> = {
  HOME: RUNNER_ENV.runAsHome, USER: RUNNER_ENV.runAsUser, LOGNAME: RUNNER_ENV.runAsLogname, SHELL: RUNNER_ENV.runAsShell,
};

/** The variables the runner removes before it execs the user's command. */
export const RUNNER_ONLY_ENV = [
  RUNNER_ENV.command, RUNNER_ENV.epoch, RUNNER_ENV.delayMs, RUNNER_ENV.killTimeoutMs, RUNNER_ENV.node, RUNNER_ENV.cli, RUNNER_ENV.procDir, RUNNER_ENV.stateDir,
  RUNNER_ENV.uptimeFile, RUNNER_ENV.adopt, RUNNER_ENV.runAs, RUNNER_ENV.runAsHome, RUNNER_ENV.runAsUser, RUNNER_ENV.runAsLogname,
  RUNNER_ENV.runAsShell, RUNNER_ENV.logFile, RUNNER_ENV.logMaxBytes, RUNNER_ENV.logKeep,
] as const;

/**
 * `user` for the runner: it starts (and restarts) the program through setpriv with these ids and
 * the user's supplementary groups (`setpriv --reuid=UID --regid=GID --init-groups -- COMMAND`, an
 * exec: the PID stays the run's), and sets these variables in the program's environment alone.
 */
export interface RunnerRunAs {
  readonly uid: number;
  readonly gid: number;
  /** setpriv's absolute path (it may hold spaces: the last field, taken whole). */
  readonly setpriv: string;
  /** HOME, USER, LOGNAME, SHELL: only those the program gets from the account. */
  readonly env: Readonly<Record<string, string>>;
}

export interface RunnerLaunch {
  readonly name: string;
  readonly registryPath: string;
  readonly procDir: string;
  readonly heartbeatFile: string;
  readonly command: string;
  readonly epoch: number;
  readonly delayMs: number;
  readonly killTimeoutMs: number;
  readonly nodePath: string;
  readonly cliPath: string;
  readonly stateDir: string;
  /** The kernel's clock, when not /proc/uptime. */
  readonly uptimeFile?: string;
  /** Adopt mode: this live run of a dead runner is watched, not started. */
  readonly adopt?: RunInfo | null;
  /** `user`: the account the program runs as (effects/run-as.ts); absent or null: the runner's. */
  readonly runAs?: RunnerRunAs | null;
  /** log_writer: the log, rotated by the runner's writer at maxBytes (keeping `keep`); absent: appended directly. */
  readonly logWriter?: { readonly file: string; readonly maxBytes: number; readonly keep: number } | null;
}

export function encodeRunnerEnv(l: RunnerLaunch): Record<string, string> {
  return {
    [RUNNER_ENV.name]: l.name,
    [RUNNER_ENV.registry]: l.registryPath,
    [RUNNER_ENV.procDir]: l.procDir,
    [RUNNER_ENV.command]: l.command,
    [RUNNER_ENV.epoch]: String(l.epoch),
    [RUNNER_ENV.delayMs]: String(Math.max(0, Math.round(l.delayMs))),
    [RUNNER_ENV.killTimeoutMs]: String(Math.max(0, Math.round(l.killTimeoutMs))),
    [RUNNER_ENV.node]: l.nodePath,
    [RUNNER_ENV.cli]: l.cliPath,
    [RUNNER_ENV.stateDir]: l.stateDir,
    [RUNNER_ENV.heartbeat]: l.heartbeatFile,
    ...(l.uptimeFile !== undefined ? { [RUNNER_ENV.uptimeFile]: l.uptimeFile } : {}),
    ...(l.adopt ? { [RUNNER_ENV.adopt]: encodeAdopt(l.adopt) } : {}),
    ...(l.runAs ? encodeRunAs(l.runAs) : {}),
    ...(l.logWriter ? {
      [RUNNER_ENV.logFile]: l.logWriter.file,
      [RUNNER_ENV.logMaxBytes]: String(Math.max(1, Math.round(l.logWriter.maxBytes))),
      [RUNNER_ENV.logKeep]: String(l.logWriter.keep),
    } : {}),
  };
}

/** PGUARD_RUN_AS ("UID GID SETPRIV") and the account's variables the program is to get. */
export function encodeRunAs(r: RunnerRunAs): Record<string, string> {
  const vars = Object.entries(r.env).flatMap(([k, v]) => (RUN_AS_ENV[k] ? [[RUN_AS_ENV[k], v] as const] : []));
  return { [RUNNER_ENV.runAs]: `${r.uid} ${r.gid} ${r.setpriv}`, ...Object.fromEntries(vars) };
}

/** PGUARD_ADOPT: the adopted run as its start line gives it (ID PID STARTTIME BOOTID STARTED_MS). */
export function encodeAdopt(run: RunInfo): string {
  return encodeStartLine(run).trim().split(' ').slice(1).join(' ');
}

/** The arm file's text (the arm, and the clock's anchor where there is one), or null: no arm (the file is removed). */
export function encodeArm(arm: Arm | null, anchor: ClockAnchor | null = null): string | null {
  if (!arm) return null;
  const line = `${arm.normalAfterMs} ${arm.stableAfterMs} ${arm.unstableOk ? 1 : 0} ${arm.notBefore} ${arm.finalStatuses.join(',') || '-'}\n`;
  return anchor ? `${line}${Math.round(anchor.ms)} ${Math.round(anchor.uptimeCs)}\n` : line;
}

export function decodeArm(text: string): Arm | null {
  const f = (text.split('\n')[0] ?? '').trim().split(/\s+/);
  const n = f.slice(0, 4).map(Number);
  if (f.length !== 5 || n.some((x) => !Number.isFinite(x))) return null;
  const finalStatuses = f[4] === '-' ? [] : f[4]!.split(',').map(Number);
  return { normalAfterMs: n[0]!, stableAfterMs: n[1]!, unstableOk: n[2] === 1, notBefore: n[3]!, finalStatuses };
}

export function encodeStartLine(run: RunInfo): string {
  return `start ${run.id} ${run.identity.pid} ${run.identity.startTime} ${run.identity.bootId || '-'} ${run.startedAt}\n`;
}

/** waitStatus null: an adopted run's end, whose status its runner cannot see ('-'). codeOnly: '=N', an exit code that is never a signal. */
export function encodeExitLine(id: string, waitStatus: number | null, endedAt: number, endedUptimeCs: number | null = null, codeOnly = false): string {
  return `exit ${id} ${waitStatus === null ? '-' : codeOnly ? `=${waitStatus}` : waitStatus} ${endedAt} ${endedUptimeCs ?? '-'}\n`;
}

export function encodeLeftoversLine(id: string, waitedMs: number, sigkilled: boolean): string {
  return `leftovers ${id} ${waitedMs} ${sigkilled ? 1 : 0}\n`;
}

/** runs.log as a view: every start and exit by run id, and the latest start. Unknown lines are skipped. */
export function decodeRuns(text: string): RunsView {
  const starts = new Map<string, RunInfo>();
  const exits = new Map<string, { status: number | null; endedAt: number; endedUptimeCs?: number; codeOnly?: true }>();
  const leftovers = new Map<string, { waitedMs: number; sigkilled: boolean }>();
  let latest: RunInfo | null = null;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'start' && f.length === 6) {
      const bootId = f[4] === '-' ? '' : f[4]!;
      const run: RunInfo = { id: f[1]!, identity: { pid: Number(f[2]), startTime: f[3]!, bootId }, startedAt: Number(f[5]) };
      starts.set(run.id, run);
      latest = run;
    } else if (f[0] === 'exit' && f.length >= 4) {
      const up = f[4] !== undefined && /^\d+$/.test(f[4]) ? Number(f[4]) : undefined;
      const codeOnly = f[2]!.startsWith('=');
      exits.set(f[1]!, { status: f[2] === '-' ? null : Number(codeOnly ? f[2]!.slice(1) : f[2]), endedAt: Number(f[3]), ...(up !== undefined ? { endedUptimeCs: up } : {}), ...(codeOnly ? { codeOnly: true as const } : {}) });
    } else if (f[0] === 'leftovers' && f.length === 4) {
      leftovers.set(f[1]!, { waitedMs: Number(f[2]), sigkilled: f[3] === '1' });
    }
  }
  return { starts, exits, leftovers, latest };
}

/** What the runner's slow path is told: restart at an absolute time, or stop reporting and exit. */
export function encodeInstruction(decision: Decision, now: number): string {
  // An absolute time: however long the report took, the runner waits until then, no longer.
  return decision.action === 'restart' ? `restart-at ${now + decision.delayMs}` : 'done';
}

export function decodeInstruction(line: string): { restartAt: number } | 'done' {
  const m = /^restart-at (\d+)$/.exec(line.trim());
  return m ? { restartAt: Number(m[1]) } : 'done';
}

/** The on-exit call's arguments after `NODE CLI` (the runner builds the same in sh: on_exit()). */
export function onExitArgs(name: string, registryPath: string, runId: string, restartedAt: number | null): string[] {
  return ['on-exit', name, '--registry', registryPath, '--run', runId, ...(restartedAt !== null ? ['--restarted-at', String(restartedAt)] : [])];
}
