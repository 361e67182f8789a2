// Healthy while the process's heartbeat file (PGUARD_HEARTBEAT_FILE, touched by the process or by
// `pguard heartbeat <name>`) was touched within max_age. Not yet touched: its age counts from the start.
import { statSync } from 'node:fs';
import type { ProbeResult } from '../../core/probes.js';

export function probeHeartbeat(file: string, maxAgeS: number, runStartedAt: number, now: number): ProbeResult {
  let last = runStartedAt;
  try {
    last = Math.max(runStartedAt, statSync(file).mtimeMs);
  } catch {
    /* never touched in this run */
  }
  const age = (now - last) / 1000;
  const ok = age <= maxAgeS;
  return { ok, detail: ok ? `beat ${age.toFixed(1)} s ago` : `no heartbeat for ${age.toFixed(1)} s (max_age ${maxAgeS} s)`, ms: 0 };
}
