// Running one probe of a process against its live run: the probes themselves are effects that
// only report {ok, detail, ms}; core/on-probe.ts decides on what they report.
import type { ProbeDef, ProbeResult } from '../core/probes.js';
import type { RunInfo } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { probeExec } from '../effects/probes/exec.js';
import { probeHeartbeat } from '../effects/probes/heartbeat.js';
import { probeHttp } from '../effects/probes/http.js';
import { probeTcp } from '../effects/probes/tcp.js';
import { resolveRunAs } from '../effects/run-as.js';
import { buildEnv, resolveCwd } from '../effects/spawn.js';
import { UserError } from '../errors.js';
import type { Context } from './context.js';

/** Every probe of a process against its live run, at once. */
export function runProbes(ctx: Context, def: ProcessDef, run: RunInfo): Promise<ProbeResult[]> {
  return Promise.all(def.health.map((p) => runProbe(ctx, def, p, run)));
}

export function runProbe(ctx: Context, def: ProcessDef, probe: ProbeDef, run: RunInfo): Promise<ProbeResult> {
  const timeoutMs = probe.timeoutS * 1000;
  switch (probe.type) {
    case 'http': return probeHttp(probe.url, probe.expectStatus, timeoutMs);
    case 'tcp': return probeTcp(probe.host, probe.port, timeoutMs);
    case 'exec': {
      // As the process runs: its user (who may no longer resolve: the probe fails, saying why).
      let runAs;
      try { runAs = resolveRunAs(def, ctx.env); } catch (err) {
        if (err instanceof UserError) return Promise.resolve({ ok: false, detail: err.message, ms: 0 });
        throw err;
      }
      return probeExec(probe.command, resolveCwd(def, ctx.registry.path), buildEnv(def, ctx.registry.path, ctx.env, runAs), timeoutMs, runAs);
    }
    case 'heartbeat': return Promise.resolve(probeHeartbeat(ctx.store.procFile(def.name, 'heartbeat'), probe.maxAgeS, run.startedAt, ctx.clock.now()));
  }
}
