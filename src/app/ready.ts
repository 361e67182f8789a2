// Readiness, for dependency order: a process is ready when its probes all pass, or, without
// probes, once it has run for ready_after seconds.
import { describeProbe } from '../core/probes.js';
import { requireDef, type Context } from './context.js';
import { runProbes } from './probes.js';
import { observe } from './observe.js';

export interface Readiness {
  readonly ready: boolean;
  readonly detail: string;
}

/** Wait until `name` is ready, or it dies, or timeoutMs passes. */
export async function waitReady(ctx: Context, name: string, timeoutMs: number): Promise<Readiness> {
  const def = requireDef(ctx, name);
  const deadline = Date.now() + timeoutMs;
  let detail = 'not started';
  for (;;) {
    const obs = observe(ctx, name);
    const run = obs.liveRun;
    if (!run && !obs.runnerAlive) return { ready: false, detail: `${name} is not running (${obs.record.reason || obs.record.status})` };
    if (run) {
      if (def.health.length === 0) {
        const ran = ctx.clock.now() - run.startedAt;
        if (ran >= def.readyAfterS * 1000) return { ready: true, detail: `running for ${def.readyAfterS} s` };
        detail = `running for ${(ran / 1000).toFixed(1)} s of ready_after ${def.readyAfterS} s`;
      } else {
        const results = await runProbes(ctx, def, run);
        const failing = results.map((r, i) => (r.ok ? null : `${describeProbe(def.health[i]!)}: ${r.detail}`)).filter(Boolean);
        if (failing.length === 0) return { ready: true, detail: 'probes pass' };
        detail = failing.join('; ');
      }
    }
    if (Date.now() >= deadline) return { ready: false, detail: `${name} not ready after ${Math.round(timeoutMs / 1000)} s (${detail})` };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** How long to wait for a dependency: its probes' grace and threshold, or ready_after, plus slack. */
export function readyTimeoutMs(ctx: Context, name: string): number {
  const def = requireDef(ctx, name);
  const probeBound = Math.max(0, ...def.health.map((p) => p.graceS + p.failureThreshold * (p.intervalS + p.timeoutS)));
  return Math.max(def.readyAfterS * 1000 + 5_000, probeBound * 1000, 30_000);
}
