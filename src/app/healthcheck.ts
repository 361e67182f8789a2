// One pass over the registry (what cron runs every few minutes): find processes that died with
// their runner, pending restarts whose runner is gone, failed processes due a retry, overruns;
// apply the same decide() as the runner's on-exit path. A singleton: overlapping passes never
// restart one death twice.
import { decide, type AlertIntent } from '../core/policy.js';
import type { Status } from '../core/states.js';
import { lockKey, readLockHolder, tryLock } from '../effects/lock.js';
import { rotateLog } from '../effects/log-file.js';
import { raiseAndNotify } from './alerts.js';
import { withProcessLock, type Context } from './context.js';
import { observe } from './observe.js';
import { launchRunner, writeArmFor } from './runner-control.js';

export interface HealthAction {
  readonly name: string;
  readonly action: 'restarted' | 'restart-scheduled' | 'gave-up' | 'alerted';
  readonly detail: string;
}

export interface HealthSummary {
  readonly ok: boolean;
  readonly skipped?: string;
  readonly checked: number;
  readonly counts: Partial<Record<Status, number>>;
  readonly actions: readonly HealthAction[];
  readonly problems: readonly { name: string; status: Status; reason: string }[];
  readonly errors: readonly { name: string; error: string }[];
  readonly duration_ms: number;
}

export async function healthcheck(ctx: Context, opts: { waitMs?: number } = {}): Promise<HealthSummary> {
  const started = Date.now();
  const key = lockKey(ctx.store.dir, 'healthcheck');
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let lock = await tryLock(key, 'healthcheck', ctx.store.dir);
  while (!lock && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    lock = await tryLock(key, 'healthcheck', ctx.store.dir);
  }
  if (!lock) {
    const holder = await readLockHolder(key, ctx.store.dir);
    return {
      ok: true, skipped: `another healthcheck is running${holder ? ` (pid ${holder.pid}, since ${holder.since})` : ''}`,
      checked: 0, counts: {}, actions: [], problems: [], errors: [], duration_ms: Date.now() - started,
    };
  }
  try {
    const counts: Partial<Record<Status, number>> = {};
    const actions: HealthAction[] = [];
    const problems: { name: string; status: Status; reason: string }[] = [];
    const errors: { name: string; error: string }[] = [];
    const pendingAlerts: { name: string; alerts: readonly AlertIntent[] }[] = [];
    for (const def of ctx.registry.defs.values()) {
      try {
        const status = await withProcessLock(ctx, def.name, async () => {
          const obs = observe(ctx, def.name);
          if (obs.processAlive) rotateLog(ctx.store.logFile(def.name), def.logMaxMb, def.logKeep);
          const outcome = decide(def, ctx.registry.settings, obs.record, {
            kind: 'checked', processAlive: obs.processAlive, runnerAlive: obs.runnerAlive,
          }, ctx.clock.now());
          let record = outcome.record;
          if (outcome.decision.action === 'spawn') {
            record = launchRunner(ctx, def, record, outcome.decision.delayMs);
            actions.push({ name: def.name, action: outcome.decision.delayMs > 0 ? 'restart-scheduled' : 'restarted', detail: record.reason });
          } else if (record !== obs.record) {
            ctx.store.writeRecord(def.name, record);
            writeArmFor(ctx, def, record);
            if (record.status === 'failed' && obs.record.status !== 'failed') actions.push({ name: def.name, action: 'gave-up', detail: record.reason });
          }
          if (outcome.alerts.length > 0) {
            pendingAlerts.push({ name: def.name, alerts: outcome.alerts });
            if (outcome.decision.action === 'none' && !actions.some((a) => a.name === def.name)) {
              actions.push({ name: def.name, action: 'alerted', detail: outcome.alerts.map((a) => a.message).join('; ') });
            }
          }
          return record;
        }, 10_000);
        counts[status.status] = (counts[status.status] ?? 0) + 1;
        if (status.status === 'crashed' || status.status === 'failed') {
          problems.push({ name: def.name, status: status.status, reason: status.reason });
        }
      } catch (err) {
        errors.push({ name: def.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const p of pendingAlerts) await raiseAndNotify(ctx, p.name, p.alerts);
    return {
      ok: problems.length === 0 && errors.length === 0,
      checked: ctx.registry.defs.size, counts, actions, problems, errors, duration_ms: Date.now() - started,
    };
  } finally {
    await lock.release();
  }
}
