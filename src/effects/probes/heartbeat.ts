// Healthy while the process's heartbeat file (PGUARD_HEARTBEAT_FILE, touched by the process or by
// `pguard heartbeat <name>`) was touched within max_age. A run that has not beaten yet is not
// healthy (nor ready, nor proof of a known-good definition): the probe's grace covers start-up.
import { statSync } from 'node:fs';
import type { ProbeResult } from '../../core/probes.js';

export function probeHeartbeat(file: string, maxAgeS: number, runStartedAt: number, now: number): ProbeResult {
  let last: number | null = null;
  try {
    const mtime = statSync(file).mtimeMs;
    // A beat from an earlier run does not count for this one. File times come from the kernel's
    // coarse clock, which may lag the run's start stamp by a tick: 20 ms of slack.
    if (mtime >= runStartedAt - 20) last = mtime;
  } catch {
    /* never touched */
  }
  if (last === null) {
    return { ok: false, detail: `no heartbeat since it started ${((now - runStartedAt) / 1000).toFixed(1)} s ago`, ms: 0 };
  }
  const age = (now - last) / 1000;
  const ok = age <= maxAgeS;
  return { ok, detail: ok ? `beat ${age.toFixed(1)} s ago` : `no heartbeat for ${age.toFixed(1)} s (max_age ${maxAgeS} s)`, ms: 0 };
}
