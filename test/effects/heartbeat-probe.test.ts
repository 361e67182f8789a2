import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeHeartbeat } from '../../src/effects/probes/heartbeat.js';

const dir = mkdtempSync(join(tmpdir(), 'pguard-beat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the heartbeat probe', () => {
  const now = Date.now();
  it('fails for a run that never beat, however young (never-beat regression: it passed for max_age)', () => {
    expect(probeHeartbeat(join(dir, 'none'), 30, now - 1_000, now)).toEqual({ ok: false, detail: 'no heartbeat since it started 1.0 s ago', ms: 0 });
  });

  it('does not count a beat of an earlier run', () => {
    const file = join(dir, 'old');
    writeFileSync(file, '');
    utimesSync(file, new Date(now - 10_000), new Date(now - 10_000));
    expect(probeHeartbeat(file, 30, now - 5_000, now).ok).toBe(false);
  });

  it('passes within max_age of the last beat of this run, and fails past it', () => {
    const file = join(dir, 'beat');
    writeFileSync(file, '');
    utimesSync(file, new Date(now - 2_000), new Date(now - 2_000));
    expect(probeHeartbeat(file, 30, now - 5_000, now)).toEqual({ ok: true, detail: 'beat 2.0 s ago', ms: 0 });
    expect(probeHeartbeat(file, 1, now - 5_000, now)).toEqual({ ok: false, detail: 'no heartbeat for 2.0 s (max_age 1 s)', ms: 0 });
  });
});
