// "Is this process ours?" A PID alone is not an identity: the OS reuses PIDs, and after a reboot a
// recorded PID may name anything. The identity is (PID, OS start time, boot ID).
import { readFileSync } from 'node:fs';
import { childProcess } from './lazy-builtins.js';
import type { Identity } from '../core/record.js';
import { processCreationTime } from './win/kernel32.js';

const isLinux = process.platform === 'linux';
const isWindows = process.platform === 'win32';

let bootIdCache: string | undefined;
/** Linux: a random ID the kernel makes at each boot. '' elsewhere. */
export function readBootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = isLinux ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';
    } catch {
      bootIdCache = '';
    }
  }
  return bootIdCache;
}

/**
 * The identity of a live process, or null when there is none (or it is a zombie).
 * Linux: field 22 of /proc/PID/stat, the start time in clock ticks since boot; it survives exec,
 * so the runner's child records the same value before it execs the user's command.
 */
export function readIdentity(pid: number): Identity | null {
  return readIdentityAndParent(pid)?.identity ?? null;
}

/**
 * readIdentity(), with the process's parent PID from the same read where the OS gives it (Linux:
 * field 4 of /proc/PID/stat; null elsewhere).
 */
/**
 * The fields of /proc/PID/stat after the command name, state first (so field N of proc(5) is at
 * N - 3: ppid 1, pgrp 2, session 3, utime 11, stime 12, num_threads 17, starttime 19, rss 21);
 * null when it is gone. comm (field 2) may hold spaces and parentheses: split after the last ')'.
 */
export function procStatFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export function readIdentityAndParent(pid: number): { identity: Identity; ppid: number | null } | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (isLinux) {
    const rest = procStatFields(pid);
    if (!rest) return null;
    const state = rest[0];
    const startTime = rest[19];
    if (!startTime || state === 'Z' || state === 'X') return null;
    return { identity: { pid, startTime, bootId: readBootId() }, ppid: Number(rest[1]) };
  }
  if (isWindows) {
    // PID + creation time (100 ns since 1601): unique across boots too; Windows has no boot ID.
    const startTime = processCreationTime(pid); // kernel32 through koffi, loaded at the first call
    return startTime === null ? null : { identity: { pid, startTime, bootId: '' }, ppid: null };
  }
  try {
    const out = childProcess().execFileSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    if (!out || out.startsWith('Z')) return null;
    return { identity: { pid, startTime: out.replace(/^\S+\s+/, '').replace(/\s+/g, '_'), bootId: '' }, ppid: null };
  } catch {
    return null;
  }
}

/** A process's argv (Linux /proc/PID/cmdline), or null when it is gone or unreadable. */
export function readCommandLine(pid: number): string[] | null {
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** True only when the recorded identity names the same live process (same PID, start time and boot). */
export function isOurs(recorded: Identity | null | undefined): boolean {
  // PID 1 (init) is never one of ours, whatever a record says; nor 0 or below (groups, everyone).
  if (!recorded || !Number.isInteger(recorded.pid) || recorded.pid <= 1) return false;
  const live = readIdentity(recorded.pid);
  return live !== null && live.startTime === recorded.startTime && live.bootId === recorded.bootId;
}
