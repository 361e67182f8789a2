// Every exit is classified in one place (supervisord's "exited too quickly / expected / stopped").
import type { ProcessDef } from './schema.js';

/** How one run ended, as the runner recorded it (or as healthcheck inferred it). */
export interface RunExit {
  /** ms since epoch */
  readonly startedAt: number;
  /** ms since epoch */
  readonly endedAt: number;
  /** Exit code, or null when the process was killed by a signal or vanished. */
  readonly code: number | null;
  /** Signal name (SIGKILL), or null. */
  readonly signal: string | null;
  /** The runner died with it: nobody saw how it ended (SIGKILL of the group, OOM killer, reboot). */
  readonly vanished?: boolean;
  /** Vanished from a runner that adopted it: that runner saw it end, but is not its parent, so no code. */
  readonly adopted?: boolean;
}

export type ExitClass = 'completed' | 'premature' | 'final' | 'user-stopped';

/** The shell's statuses for a command that was not found (127) or could not be executed (126). */
export const NOT_FOUND = 127;
export const CANNOT_EXECUTE = 126;

/** Exit codes never restarted, whatever the definition says: the command itself is broken. */
export function finalExitCodes(def: Pick<ProcessDef, 'noRestartExitCodes'>): number[] {
  return [...new Set([...def.noRestartExitCodes, CANNOT_EXECUTE, NOT_FOUND])].sort((a, b) => a - b);
}

/** A normal completion needs exit 0 after at least this share of duration_min. */
export const COMPLETION_SHARE = 0.8;

export function classifyExit(def: Pick<ProcessDef, 'durationMin' | 'noRestartExitCodes' | 'successExitCodes'> & Partial<Pick<ProcessDef, 'schedule'>>, run: RunExit, stopRequested: boolean): ExitClass {
  if (stopRequested) return 'user-stopped';
  // success_exit_codes: the work is done, however long it took (supervisord's expected exitcodes).
  if (run.code !== null && def.successExitCodes.includes(run.code)) return 'completed';
  // A job's run (`schedule`) completes with exit 0 at any length; duration_min is its overrun limit.
  if (def.schedule !== undefined) return run.code === 0 ? 'completed' : 'final';
  if (run.code === 0 && def.durationMin > 0 && runMs(run) >= completionThresholdMs(def)) return 'completed';
  return run.code !== null && finalExitCodes(def).includes(run.code) ? 'final' : 'premature';
}

export function completionThresholdMs(def: Pick<ProcessDef, 'durationMin'>): number {
  return Math.round(def.durationMin * 60_000 * COMPLETION_SHARE);
}

export function runMs(run: Pick<RunExit, 'startedAt' | 'endedAt'>): number {
  return Math.max(0, run.endedAt - run.startedAt);
}

/** How long a run lasted, in seconds to a tenth, as `ran_s` is shown everywhere. */
export function ranSeconds(run: Pick<RunExit, 'startedAt' | 'endedAt'>): number {
  return Math.round(runMs(run) / 100) / 10;
}

const SIGNAL_NUMBERS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  24: 'SIGXCPU', 25: 'SIGXFSZ', 31: 'SIGSYS',
};

/**
 * A POSIX shell reports a child killed by signal N as status 128+N, which is all the runner can see.
 * A program that itself calls exit(137) is indistinguishable; we read 129..159 as signals, as shells do.
 */
export function decodeWaitStatus(status: number, codeOnly = false): { code: number | null; signal: string | null } {
  // codeOnly: a Windows runner's exit code (runner-protocol.ts, "=N"), where 143 is a program's own exit 143.
  if (!codeOnly && status > 128 && status < 160) {
    const signal = SIGNAL_NUMBERS[status - 128];
    if (signal) return { code: null, signal };
  }
  return { code: status, signal: null };
}

/** "exited with code 1 after 3.2 s", "killed by SIGKILL after 2 min 5 s". */
export function describeExit(run: RunExit): string {
  const ran = describeDuration(runMs(run));
  if (run.vanished && run.adopted) return `ended after ${ran}, how unknown (its runner had died; the one that adopted it is not its parent, so it sees no exit status)`;
  if (run.vanished) return `vanished with its runner after ${ran} (killed with its whole group, OOM killer, or reboot)`;
  if (run.signal) return `killed by ${run.signal} after ${ran}`;
  return `exited with code ${run.code ?? '?'} after ${ran}`;
}

/**
 * How long it was down, as "after 40 ms" or "after 2.1 s": milliseconds below a second (a restart
 * by the runner takes a few), else as durations are; below 10 ms, "within 10 ms" (the runner's
 * clock on the restart path counts in 10 ms steps, so a smaller figure would not be measured).
 */
export function describeDowntime(ms: number): string {
  return ms < 10 ? 'within 10 ms' : `after ${downtimeAmount(ms)}`;
}

/** "40 ms", "2.1 s", "3 min 5 s". */
export function downtimeAmount(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : describeDuration(ms);
}

export function describeDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}
