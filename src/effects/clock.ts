// The one place that reads the time: everything else receives `now` as a number (ms since epoch).
import { readFileSync } from 'node:fs';

export interface Clock {
  now(): number;
  /** The wall clock beside the kernel's clock since boot, read together; null where there is none. */
  anchor?(): ClockAnchor | null;
}

/** A wall-clock time and the kernel's uptime (centiseconds, /proc/uptime) at the same moment. */
export interface ClockAnchor {
  readonly ms: number;
  readonly uptimeCs: number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  anchor: () => {
    let text: string;
    try {
      text = readFileSync('/proc/uptime', 'latin1');
    } catch {
      return null;
    }
    const ms = Date.now();
    const m = /^(\d+)\.(\d\d)\s/.exec(text);
    return m ? { ms, uptimeCs: Number(m[1]) * 100 + Number(m[2]) } : null;
  },
};
