// `pguard wait`: poll each process's status until every one reaches the wanted state, one of them
// cannot reach it any more, or the time is up. Status comes from the same describeStatus as `status`.
import type { Context } from './context.js';
import { observe } from './observe.js';
import { runProbes } from './probes.js';
import { describeStatus, type StatusView } from './status.js';

export const WAIT_STATES = ['running', 'healthy', 'stopped', 'completed', 'failed'] as const;
export type WaitState = (typeof WAIT_STATES)[number];

export type Verdict = 'reached' | 'pending' | 'unreachable';

/**
 * Where one process stands against the wanted state. `running`: up (running, or up but failing a
 * probe); `healthy`: up with every probe passing, run at the time (at once, without probes); `stopped`: not
 * running for any reason but a pending restart. Unreachable: a state nothing will leave by itself
 * (stopped by the user, an invalid entry, completed) while waiting for it to come up. never-started
 * is pending (a `pguard start` may be on its way).
 */
export function judgeWait(v: Pick<StatusView, 'status' | 'health'> & Partial<Pick<StatusView, 'schedule'>>, until: WaitState): Verdict {
  const s = v.status;
  // An armed job's completed or failed run is not the end: its next time runs it again.
  const settled = (x: typeof s) => x === 'stopped' || x === 'invalid' || ((x === 'completed' || x === 'failed') && v.schedule?.armed !== true);
  switch (until) {
    case 'running':
    case 'healthy': {
      if (s === 'running' || s === 'unhealthy') {
        if (until === 'running') return 'reached';
        return v.health.every((h) => h.ok === true) ? 'reached' : 'pending';
      }
      return s !== 'failed' && settled(s) ? 'unreachable' : 'pending';
    }
    case 'stopped':
      return s === 'stopped' || s === 'completed' || s === 'failed' || s === 'never-started' || s === 'scheduled' || s === 'invalid' ? 'reached' : 'pending';
    case 'completed':
      return s === 'completed' ? 'reached' : settled(s) ? 'unreachable' : 'pending';
    case 'failed':
      return s === 'failed' ? 'reached' : settled(s) ? 'unreachable' : 'pending';
  }
}

export interface WaitResult {
  readonly until: WaitState;
  /** true when every process reached it. */
  readonly reached: boolean;
  /** Why it ended otherwise: the time ran out, or a process can no longer get there. */
  readonly outcome: 'reached' | 'timed-out' | 'unreachable';
  readonly waited_s: number;
  readonly processes: readonly { name: string; status: StatusView['status']; reached: boolean; reason: string }[];
}

/**
 * For `--until healthy`: the probes of a process that is up, run now (as a dependency's readiness
 * is judged), not the last results watch or healthcheck stored, which may be minutes old or none.
 */
async function probedNow(ctx: Context, name: string, view: StatusView): Promise<StatusView> {
  const def = ctx.registry.defs.get(name);
  if (!def || def.health.length === 0 || (view.status !== 'running' && view.status !== 'unhealthy')) return view;
  const run = observe(ctx, name).liveRun;
  if (!run) return view;
  const results = await runProbes(ctx, def, run);
  return { ...view, health: view.health.map((h, i) => ({ ...h, ok: results[i]!.ok, detail: results[i]!.detail })) };
}

export async function waitFor(ctx: Context, names: readonly string[], until: WaitState, timeoutMs: number, pollMs = 200): Promise<WaitResult> {
  const started = Date.now();
  for (;;) {
    const views = await Promise.all(names.map(async (n) => {
      const v = describeStatus(ctx, n);
      return until === 'healthy' ? probedNow(ctx, n, v) : v;
    }));
    const verdicts = views.map((v) => judgeWait(v, until));
    const done = verdicts.every((x) => x === 'reached');
    const stuck = verdicts.includes('unreachable');
    const late = Date.now() - started >= timeoutMs;
    if (done || stuck || late) {
      return {
        until,
        reached: done,
        outcome: done ? 'reached' : stuck ? 'unreachable' : 'timed-out',
        waited_s: Math.round((Date.now() - started) / 100) / 10,
        processes: views.map((v, i) => ({ name: v.name, status: v.status, reached: verdicts[i] === 'reached', reason: v.reason })),
      };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
