// Raising, listing and acknowledging alerts. Flag files are written under the alerts lock; the
// slower channels (desktop, webhook, command) run after it, bounded in time, and never before a
// restart has been carried out.
import { acknowledgeAlerts, raiseAlert, type Alert, type AlertIntent, type Delivery } from '../core/alerts.js';
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
import { ledgerAnchor, recordEvents } from './ledger.js';

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

function withAlertsLock<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  return withLock(ctx.store.path('locks'), 'alerts', 'alerts', 15_000, fn);
}

/** Record the intents (with the log's last lines as evidence), update the flag files; returns what to notify. */
async function recordAlerts(ctx: Context, process: string, intents: readonly AlertIntent[]): Promise<Alert[]> {
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

function hasSlowChannels(ctx: Context): boolean {
  const s = ctx.registry.settings;
  return Boolean(s.desktop || s.webhook || s.notifyCommand || s.notify.length > 0);
}

/**
 * A channel failed: said on stderr, and kept in notify.log (the detached notifier has no terminal;
 * `pguard info` shows the last one). At most 1 MB plus one old file.
 */
function noteFailure(ctx: Context, what: string): void {
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
 * The channels beyond the flag files (app/notify.ts). Each failure is said on stderr and kept in
 * notify.log; then each alert records how its sending went (`delivery`; `notified_at` back to null
 * when no channel took it), and the ledger gets a `notify` entry: notified or not, and why.
 */
async function notifyChannels(ctx: Context, alerts: readonly Alert[], onRouted?: () => void): Promise<void> {
  const { sendToChannels } = await import('./notify.js');
  const s = ctx.registry.settings;
  const head = s.webhook || s.notifyCommand || s.notify.some((c) => c.type === 'webhook' || c.type === 'command') ? ledgerAnchor(ctx) : null;
  const sent = await sendToChannels(ctx, alerts.map((a) => (head ? { ...a, ledger_head: head } : a)), (what) => noteFailure(ctx, what), onRouted);
  const outcomes = sent.filter((o) => o.results.length > 0).map(({ alert, results }) => {
    const delivery: Delivery = { at: new Date(ctx.clock.now()).toISOString(), notified: results.some((r) => r.ok || r.held), channels: results };
    return { alert, delivery };
  });
  if (outcomes.length === 0) return;
  try {
    await withAlertsLock(ctx, async () => {
      const byId = new Map(outcomes.map((o) => [o.alert.id, o.delivery]));
      const all = readAlerts(ctx.store.dir);
      if (!all.some((a) => byId.has(a.id))) return;
      writeAlerts(ctx.store.dir, all.map((a) => {
        const delivery = byId.get(a.id);
        return delivery ? { ...a, delivery, ...(delivery.notified ? {} : { notified_at: null }) } : a;
      }));
    });
  } catch (err) {
    ctx.progress(`pguard: could not record how the alerts were sent (${err instanceof Error ? err.message : String(err)})`);
  }
  await recordEvents(ctx, outcomes.map(({ alert, delivery }) => ({
    event: 'notify' as const, process: alert.process, details: { id: alert.id, kind: alert.kind, notified: delivery.notified, channels: delivery.channels },
  })));
}

/** Digests of alerts held during quiet hours, once they are over (healthcheck, watch). */
export async function flushHeldAlerts(ctx: Context): Promise<void> {
  if (!ctx.registry.settings.notify.some((c) => c.quietHours)) return;
  const { flushDigests } = await import('./notify.js');
  await flushDigests(ctx, (what) => noteFailure(ctx, what));
}

/**
 * Raise alerts: recorded at once (alerts.json, the flag files, the ledger), then the channels,
 * either awaited here (`await`: healthcheck, watch, rollback) or from a detached notifier
 * (`detached`: the runner's report, which must exit at once).
 */
export async function announce(ctx: Context, process: string, intents: readonly AlertIntent[], channels: 'await' | 'detached'): Promise<Alert[]> {
  if (intents.length === 0) return [];
  const toNotify = await recordAlerts(ctx, process, intents);
  if (toNotify.length === 0 || !hasSlowChannels(ctx)) return toNotify;
  if (channels === 'detached') defer(ctx, { kind: 'notify', ids: toNotify.map((a) => a.id) });
  else await notifyChannels(ctx, toNotify);
  return toNotify;
}

/**
 * The detached notifier (`pguard notify send <ids>`): the channels for alerts already recorded;
 * then, for a failure pguard is bringing back, it waits for the recovery and sends that too.
 */
export async function notifyByIds(ctx: Context, ids: readonly string[]): Promise<number> {
  const wanted = new Set(ids);
  const alerts = readAlerts(ctx.store.dir).filter((a) => wanted.has(a.id));
  const { awaitRecoveries } = await import('./notify.js');
  // The recovery is looked for as soon as each channel has taken the failure (so that it goes
  // where the failure went), not once it is sent: a channel slow to answer delays no other's recovery.
  let routed!: () => void;
  const taken = new Promise<void>((r) => { routed = r; });
  await Promise.all([
    notifyChannels(ctx, alerts, routed).finally(routed),
    taken.then(() => awaitRecoveries(ctx, alerts, async (name, intents) => { await announce(ctx, name, intents, 'await'); })),
  ]);
  return alerts.length;
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
