// The clock's anchor: the wall clock beside the kernel's clock since boot, which the runner times
// its exits from (bin/pguard-runner.sh, effects/runner-protocol.ts).
import { existsSync } from 'node:fs';
import { uptime } from 'node:os';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/effects/clock.js';

describe.skipIf(!existsSync('/proc/uptime'))('the clock\'s anchor', () => {
  it('pairs the wall clock with /proc/uptime in centiseconds, read together', () => {
    const before = Date.now();
    const up = uptime();
    const anchor = systemClock.anchor!();
    expect(anchor).not.toBeNull();
    expect(anchor!.ms).toBeGreaterThanOrEqual(before);
    expect(anchor!.ms).toBeLessThanOrEqual(Date.now());
    expect(Number.isInteger(anchor!.uptimeCs)).toBe(true);
    expect(Math.abs(anchor!.uptimeCs - up * 100)).toBeLessThan(200);
  });
});
