// Raising, listing and acknowledging alerts. Flag files are written under the alerts lock; the
// notification channels run after it, from app/notify.ts (awaited, or in a detached notifier),
// bounded in time, and never before a restart has been carried out.
import { acknowledgeAlerts, raiseAlert, type AckedBy, type Alert, type AlertIntent } from '../core/alerts.js';
import { channelsOf } from '../core/channels.js';
import { readAlerts, writeAlerts } from '../effects/alert-store.js';
import { writeFlagFiles } from '../effects/channels/flag-files.js';
import { syncUserAlertFlag } from '../effects/user-index.js';
import { redactWebhook } from '../effects/channels/webhook.js';
import { crypto } from '../effects/lazy-builtins.js';
import { withLock } from '../effects/lock.js';
import { appendFileSync } from 'node:fs';
import { readLogTail, rotateLog } from '../effects/log-file.js';
import { UserError } from '../errors.js';
import type { Context } from './context.js';
import { defer } from './jobs.js';
import { recordEvents } from './ledger.js';

const LOG_TAIL_LINES = 10;
/** Each evidence line is cut at this many bytes: alerts travel to webhooks and agents. */
const LOG_LINE_MAX = 500;

/** At most `max` bytes of UTF-8, cut on a character boundary, with an ellipsis when cut. */
export function cutToBytes(line: string, max: number): string {
  const buf = Buffer.from(line, 'utf8');
  if (buf.length <= max) return line;
  let end = max - 3; // the ellipsis is 3 bytes
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}…`;
}

/** The per-user flag (any registry with an unacknowledged alert): never in the way of the registry's own. */
function noteOpenAlerts(ctx: Context, alerts: readonly Alert[]): void {
  try {
    syncUserAlertFlag(ctx.env, ctx.registry.path, alerts.filter((a) => !a.acknowledged).length);
  } catch (err) {
    ctx.progress(`pguard: could not update the per-user alert flag (${err instanceof Error ? err.message : String(err)})`);
  }
}

export function withAlertsLock<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  return withLock(ctx.store.path('locks'), 'alerts', 'alerts', 15_000, fn);
}

/** Record the intents (with the log's last lines as evidence), update the flag files; returns what to notify. */
export async function recordAlerts(ctx: Context, process: string, intents: readonly AlertIntent[]): Promise<Alert[]> {
  if (intents.length === 0) return [];
  const tail = readLogTail(ctx.store.logFile(process), LOG_TAIL_LINES).map((l) => cutToBytes(l, LOG_LINE_MAX));
  const cooldown = ctx.registry.settings.alertCooldownS;
  const raised: Alert[] = [];
  const toNotify = await withAlertsLock(ctx, async () => {
    let alerts = readAlerts(ctx.store.dir);
    const toNotify: Alert[] = [];
    for (const intent of intents) {
      const res = raiseAlert(
        alerts, process, { ...intent, evidence: { ...intent.evidence, log_tail: tail } } as AlertIntent,
        ctx.clock.now(), cooldown, () => crypto().randomBytes(4).toString('hex'),
      );
      alerts = [...res.alerts];
      raised.push(res.alert);
      if (res.notify) toNotify.push(res.alert);
    }
    writeAlerts(ctx.store.dir, alerts);
    writeFlagFiles(ctx.alertFlag, ctx.alertText, alerts);
    noteOpenAlerts(ctx, alerts);
    return toNotify;
  });
  // Not "notified" yet: whether it was is the `notify` entry written once the channels answer.
  const notify = (a: Alert) => (!toNotify.includes(a) ? 'within-cooldown' : hasSlowChannels(ctx) ? 'queued' : 'flag-files');
  await recordEvents(ctx, raised.map((a) => ({
    event: 'alert' as const, process, details: { id: a.id, kind: a.kind, severity: a.severity, message: a.message, count: a.count, notify: notify(a) },
  })));
  return toNotify;
}

export function hasSlowChannels(ctx: Context): boolean {
  return channelsOf(ctx.registry.settings).length > 0;
}

/**
 * A channel failed: said on stderr, and kept in notify.log (the detached notifier has no terminal;
 * `pguard info` shows the last one). At most 1 MB plus one old file.
 */
export function noteFailure(ctx: Context, what: string): void {
  ctx.progress(`pguard: ${what}`);
  try {
    const file = ctx.store.path('notifyLog');
    rotateLog(file, 1, 1);
    appendFileSync(file, `${new Date(ctx.clock.now()).toISOString()} ${what}\n`, { mode: 0o600 });
  } catch { /* the failure was said on stderr */ }
}

/** The last channel failure, or null. Lines written before webhook URLs were kept out of it are cleaned as they are read. */
export function lastNotifyFailure(ctx: Context): string | null {
  const line = readLogTail(ctx.store.path('notifyLog'), 1)[0];
  return line === undefined ? null : redactWebhook(line, ctx.registry.settings.webhook);
}

/**
 * Raise alerts: recorded at once (alerts.json, the flag files, the ledger); the channels then run
 * in a detached notifier (`pguard notify send`: the runner's report and a rollback, which must not
 * wait for them). Those who wait for the channels (healthcheck, watch) use app/notify.ts's
 * announceAndSend; this module stays free of the channels' code, so the runner's report and
 * `pguard alerts` load none of it.
 */
export async function announce(ctx: Context, process: string, intents: readonly AlertIntent[]): Promise<Alert[]> {
  if (intents.length === 0) return [];
  const toNotify = await recordAlerts(ctx, process, intents);
  if (toNotify.length > 0 && hasSlowChannels(ctx)) defer(ctx, { kind: 'notify', ids: toNotify.map((a) => a.id) });
  return toNotify;
}

export function listAlerts(ctx: Context, opts: { all: boolean; process?: string | undefined }): Alert[] {
  return readAlerts(ctx.store.dir).filter((a) => (opts.all || !a.acknowledged) && (!opts.process || a.process === opts.process));
}

export async function ackAlerts(ctx: Context, ids: readonly string[] | 'all'): Promise<{ acknowledged: number; remaining: number }> {
  return withAlertsLock(ctx, async () => {
    const res = acknowledgeAlerts(readAlerts(ctx.store.dir), ids);
    if (res.unknown.length > 0) {
      throw new UserError(`no alert with id ${res.unknown.join(', ')}. List them with \`pguard alerts --all\`.`);
    }
    writeAlerts(ctx.store.dir, res.alerts);
    writeFlagFiles(ctx.alertFlag, ctx.alertText, res.alerts);
    noteOpenAlerts(ctx, res.alerts);
    return { acknowledged: res.acknowledged, remaining: res.alerts.filter((a) => !a.acknowledged).length };
  });
}

/**
 * Close every open alert of one process (deregister: nothing is left to act on), chosen under the
 * alerts lock so that none raised or trimmed meanwhile is missed or refused; each records `by`.
 * The flag files and the per-user flag follow, as for any ack.
 */
export async function closeAlertsOf(ctx: Context, process: string, by: AckedBy): Promise<{ acknowledged: number; remaining: number }> {
  return withAlertsLock(ctx, async () => {
    const before = readAlerts(ctx.store.dir);
    const ids = before.filter((a) => a.process === process && !a.acknowledged).map((a) => a.id);
    if (ids.length === 0) return { acknowledged: 0, remaining: before.filter((a) => !a.acknowledged).length };
    const res = acknowledgeAlerts(before, ids, by);
    writeAlerts(ctx.store.dir, res.alerts);
    writeFlagFiles(ctx.alertFlag, ctx.alertText, res.alerts);
    noteOpenAlerts(ctx, res.alerts);
    return { acknowledged: res.acknowledged, remaining: res.alerts.filter((a) => !a.acknowledged).length };
  });
}
