// The notification channels carried out: which channels there are ($settings.notify and the older
// webhook, notify_command and desktop), their secrets (the environment over notify_env_file),
// what each one does with each alert (core/channels.ts routeAlert, under the notify lock, so that
// two notifiers never send one alert twice), the sending itself (bounded, in parallel across
// channels, in order within one), quiet-hours digests, `pguard notify test`, and the wait for a
// recovery that lets the notifier of a crash also send its `recovered`.
import { hostname } from 'node:os';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parseEnv } from 'node:util';
import { readFileSync } from 'node:fs';
import { DOWN_KINDS, type Alert, type AlertIntent, type ChannelResult, type Delivery } from '../core/alerts.js';
import {
  channelsOf as channelsFrom, describeChannel, dueDigest, emptyChannelState, isChannelIssue, resolveOptions, routeAlert,
  type ChannelDef, type ChannelState, type HeldAlert, type Route,
} from '../core/channels.js';
import { discordRequest, ntfyRequest, pagerdutyRequest, pagerdutyResolve, slackRequest, telegramRequest, type ServiceRequest } from '../core/channel-formats.js';
import { alertMessage, digestMessage, testMessage, type ChannelAnswer, type NotifyMessage } from '../core/notify-message.js';
import { isUp } from '../core/states.js';
import { writeFileAtomic } from '../effects/atomic-write.js';
import { deliverCommand } from '../effects/channels/command.js';
import { deliverDesktop } from '../effects/channels/desktop.js';
import { deliverWebhook, postWithRetries, redactSecrets } from '../effects/channels/webhook.js';
import { crypto } from '../effects/lazy-builtins.js';
import { withLock } from '../effects/lock.js';
import { readEnvFile } from '../effects/spawn.js';
import { readAlerts, writeAlerts } from '../effects/alert-store.js';
import { hasSlowChannels, noteFailure, recordAlerts, withAlertsLock } from './alerts.js';
import { requireDef, type Context } from './context.js';
import { ledgerAnchor, recordEvents } from './ledger.js';
import { observe } from './observe.js';

/** Every channel: $settings.notify, then the older settings as channels of their own. */
export function channelsOf(ctx: Pick<Context, 'registry'>): ChannelDef[] {
  return channelsFrom(ctx.registry.settings);
}

/**
 * The variables a channel's `$NAME` may name: notify_env_file, then the environment over it (a
 * cron job's environment is bare: the file is what reaches it). The file is trusted as an
 * env_file is, or refused.
 */
export function notifyEnv(ctx: Pick<Context, 'registry' | 'env'>): Record<string, string | undefined> {
  const file = ctx.registry.settings.notifyEnvFile;
  const fromFile = file ? parseEnv(readEnvFile('$settings.notify_env_file', isAbsolute(file) ? file : resolve(dirname(ctx.registry.path), file))) : {};
  return { ...fromFile, ...ctx.env };
}

/** The channels as `pguard info` shows them: secrets never, where each comes from and whether it is set. */
export function describeChannels(ctx: Context): string[] {
  let env: Record<string, string | undefined>;
  try { env = notifyEnv(ctx); } catch { env = { ...ctx.env }; }
  return channelsOf(ctx).map((c) => describeChannel(c, env));
}

// ---- what each channel has sent (notify.json) ----

type NotifyState = Record<string, ChannelState>;

function readState(ctx: Context): NotifyState {
  try {
    const parsed: unknown = JSON.parse(readFileSync(ctx.store.path('notifyState'), 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as NotifyState) : {};
  } catch {
    return {};
  }
}

function withNotifyLock<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  return withLock(ctx.store.path('locks'), 'notify', 'notify', 15_000, fn);
}

/** Minutes after local midnight, for quiet hours. */
const minuteOfDay = (ms: number) => { const d = new Date(ms); return d.getHours() * 60 + d.getMinutes(); };

// ---- sending ----

/** One message through one channel, bounded; never throws, never says a secret. */
export async function sendMessage(ctx: Context, ch: ChannelDef, msg: NotifyMessage, incident: string | null, env: Record<string, string | undefined>): Promise<ChannelAnswer> {
  const { values, secrets, missing } = resolveOptions(ch, env);
  if (missing.length > 0) {
    const file = ctx.registry.settings.notifyEnvFile;
    const where = file ? `in the environment or ${isAbsolute(file) ? file : resolve(dirname(ctx.registry.path), file)}` : 'in the environment; or name a dotenv file with $settings.notify_env_file';
    return { ok: false, attempts: 0, detail: `not sent: ${missing.map((m) => `$${m}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set (${where})` };
  }
  const clean = (a: ChannelAnswer): ChannelAnswer => ({ ...a, detail: redactSecrets(a.detail, secrets) });
  const post = (req: ServiceRequest) => postWithRetries({ ...req, secrets }, { timeoutMs: 5000, attempts: 3 });
  try {
    switch (ch.type) {
      case 'telegram': return clean(await post(telegramRequest(values, msg)));
      case 'slack': return clean(await post(slackRequest(values, msg)));
      case 'discord': return clean(await post(discordRequest(values, msg)));
      case 'ntfy': return clean(await post(ntfyRequest(values, msg)));
      case 'pagerduty': {
        const res = await post(pagerdutyRequest(values, msg, incident));
        // A test leaves no incident open: resolved at once.
        if (res.ok && msg.event === 'test') await post(pagerdutyResolve(values, msg.key));
        return clean(res);
      }
      case 'webhook': return clean(await deliverWebhook(values.url as string, payloadOf(msg), { secrets, ...(msg.alert ? {} : { key: msg.key }) }));
      case 'command': {
        const r = await deliverCommand(values.command as string, payloadOf(msg), dirname(ctx.registry.path));
        return clean({ ok: r.ok, attempts: 1, detail: r.detail });
      }
      case 'desktop': {
        const r = await deliverDesktop(msg.title, msg.text, ctx.env);
        return { ok: r.ok, attempts: r.skipped ? 0 : 1, detail: r.detail, ...(r.skipped ? { skipped: true } : {}) };
      }
      case 'email': {
        const { deliverEmail } = await import('../effects/channels/email.js');
        const to = values.to;
        return clean(await deliverEmail({
          smtp: values.smtp as string, from: values.from as string, to: typeof to === 'string' ? [to] : (to ?? []),
          ...(values.password ? { password: values.password as string } : {}),
        }, msg));
      }
    }
  } catch (err) {
    return clean({ ok: false, attempts: 0, detail: err instanceof Error ? err.message : String(err) });
  }
}

/** What the webhook and command channels send: the alert whole, or a digest's or a test's message. */
function payloadOf(msg: NotifyMessage): Alert | { event: string; process: string; kind: string; title: string; text: string; severity: string; host: string; at: string } {
  return msg.alert ?? { event: msg.event, process: msg.process ?? '', kind: msg.kind, title: msg.title, text: msg.text, severity: msg.severity, host: msg.host, at: msg.at };
}

/** One channel's answer as an alert records it. */
const resultOf = (ch: ChannelDef, a: ChannelAnswer): ChannelResult => ({
  channel: ch.name, type: ch.type, ok: a.ok, detail: a.detail, attempts: a.attempts, ...(a.skipped ? { skipped: true } : {}),
});

export interface ChannelOutcome {
  readonly alert: Alert;
  readonly results: ChannelResult[];
}

/**
 * The alerts through every channel. Under the notify lock, each channel decides what it does with
 * each alert (send, hold, or not) and records it as taken before anything is sent: a second
 * notifier for the same alert finds it taken. Then each channel sends its messages in order (a
 * failure before its recovery), all channels at once; and any digest whose quiet hours are over.
 */
export async function sendToChannels(
  ctx: Context, alerts: readonly (Alert & { ledger_head?: string })[], onFailure: (what: string) => void, onRouted: () => void = () => {},
): Promise<ChannelOutcome[]> {
  const channels = channelsOf(ctx);
  if (channels.length === 0) { onRouted(); return alerts.map((alert) => ({ alert, results: [] })); }
  const minute = minuteOfDay(ctx.clock.now());
  const plans = await withNotifyLock(ctx, async () => {
    const state = readState(ctx);
    const out = channels.map((ch) => {
      let st = state[ch.name] ?? emptyChannelState();
      const sends: { alert: Alert & { ledger_head?: string }; route: Route }[] = [];
      for (const alert of alerts) {
        // What a digest needs of it, if held: not its log lines or the ledger's head.
        const { ledger_head: _head, ...rest } = alert;
        const { log_tail: _tail, ...evidence } = rest.evidence;
        const r = routeAlert(ch, st, { ...rest, evidence } as HeldAlert, minute);
        st = r.state;
        sends.push({ alert, route: r.route });
      }
      const digest = dueDigest(ch, st, minute);
      if (digest) st = digest.state;
      state[ch.name] = st;
      return { ch, sends, digest: digest?.held ?? null };
    });
    writeState(ctx, state);
    return out;
  }).finally(onRouted);
  let env: Record<string, string | undefined> = {};
  let envError: string | null = null;
  try { env = notifyEnv(ctx); } catch (err) { envError = err instanceof Error ? err.message : String(err); }
  const host = hostname();
  const byAlert = new Map<string, ChannelResult[]>(alerts.map((a) => [a.id, []]));
  await Promise.all(plans.map(({ ch, sends, digest }) => inLane(ch.name, async () => {
    const send = async (msg: NotifyMessage, incident: string | null) =>
      (envError ? { ok: false, attempts: 0, detail: `not sent: ${envError}` } : await sendMessage(ctx, ch, msg, incident, env));
    if (digest) {
      const answer = await send(digestMessage(digest as Alert[], host, ch.name, new Date(ctx.clock.now()).toISOString()), null);
      if (!answer.ok && !answer.skipped) onFailure(`${ch.name} (${ch.type}) digest of ${digest.length} held alert${digest.length === 1 ? '' : 's'} ${answer.attempts === 0 ? 'not sent' : 'failed'} (${answer.detail})`);
    }
    for (const { alert, route } of sends) {
      if (!route.send) {
        if (route.why === 'held') byAlert.get(alert.id)!.push({ channel: ch.name, type: ch.type, ok: false, skipped: true, held: true, detail: `held for the digest after quiet hours ${ch.quietHours?.text ?? ''}`.trim() });
        continue;
      }
      const answer = await send(alertMessage(alert, host, ch.name, dirname(ctx.registry.path)), route.incident);
      const result = resultOf(ch, answer);
      byAlert.get(alert.id)!.push(result);
      if (!answer.ok && !answer.skipped) onFailure(describeFailure(alert, result));
    }
  })));
  // In the channels' order, whichever answered first.
  const order = new Map(channels.map((c, i) => [c.name, i]));
  return alerts.map((alert) => ({ alert, results: (byAlert.get(alert.id) ?? []).sort((a, b) => order.get(a.channel)! - order.get(b.channel)!) }));
}

/** One lane a channel: within this process, its messages go out in order (a failure before its recovery). */
const lanes = new Map<string, Promise<unknown>>();
function inLane<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const run = (lanes.get(name) ?? Promise.resolve()).then(fn, fn);
  lanes.set(name, run.catch(() => undefined));
  return run;
}

function writeState(ctx: Context, state: NotifyState): void {
  writeFileAtomic(ctx.store.path('notifyState'), `${JSON.stringify(state)}\n`, 0o600, { durable: false });
}

/** One channel's failure in words (`slack (slack) for bot crashed failed after 3 attempts (HTTP 500)`). */
export function describeFailure(alert: Pick<Alert, 'process' | 'kind'>, r: ChannelResult): string {
  const what = `${r.channel === r.type ? r.channel : `${r.channel} (${r.type})`} for ${alert.process} ${alert.kind}`;
  if (!r.attempts) return `${what} not sent (${r.detail})`;
  return `${what} failed after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} (${r.detail})`;
}

/** `pguard notify test`: one test message through each channel (or the one named), filters aside. */
export async function testChannels(ctx: Context, only?: string): Promise<{ channel: string; type: string; ok: boolean; detail: string; attempts: number }[]> {
  const { UserError } = await import('../errors.js');
  const all = channelsOf(ctx);
  // A channel that is written wrong is left out of sending: said here, as a failure of its own.
  const invalid = ctx.registry.issues.filter(isChannelIssue)
    .map((i) => ({ channel: i.field, type: 'invalid', ok: false, detail: `${i.message} (this channel is left out until it is fixed)`, attempts: 0 }));
  if (all.length === 0 && invalid.length === 0) throw new UserError(`no notification channels in ${ctx.registry.path}: add $settings.notify (README: Notifications).`);
  const channels = only === undefined ? all : all.filter((c) => c.name === only);
  if (only !== undefined && channels.length === 0) throw new UserError(`no channel named "${only}". Channels: ${all.map((c) => c.name).join(', ') || 'none valid'}${invalid.length ? ` (${invalid.length} written wrong: pguard notify test names them)` : ''}.`, 2);
  const env = notifyEnv(ctx);
  const nonce = crypto().randomBytes(4).toString('hex');
  const at = new Date(ctx.clock.now()).toISOString();
  const sent = await Promise.all(channels.map(async (ch) => {
    const a = await sendMessage(ctx, ch, testMessage(hostname(), ch.name, at, nonce, dirname(ctx.registry.path)), null, env);
    return { channel: ch.name, type: ch.type, ok: a.ok, detail: a.detail, attempts: a.attempts, ...(a.skipped ? { skipped: true } : {}) };
  }));
  return only === undefined ? [...sent, ...invalid] : sent;
}

/**
 * After a failure went out: while pguard brings the process back, look at it as healthcheck does
 * until the outage closes (its `recovered` is then raised and sent from here), it stops coming
 * back, or the time a start may take has passed (healthcheck and watch close it later).
 */
async function awaitRecoveries(ctx: Context, alerts: readonly Alert[]): Promise<void> {
  const names = [...new Set(alerts.filter((a) => DOWN_KINDS.includes(a.kind) && ctx.registry.defs.has(a.process)).map((a) => a.process))];
  if (names.length === 0) return;
  const { checkProcess } = await import('./check.js');
  const { readyTimeoutMs } = await import('./ready.js');
  await Promise.all(names.map(async (name) => {
    const def = requireDef(ctx, name);
    const first = observe(ctx, name).record;
    const deadline = Date.now() + Math.min(600_000, readyTimeoutMs(ctx, name) + Math.max(0, (first.nextRestartAt ?? 0) - ctx.clock.now()));
    for (;;) {
      const rec = observe(ctx, name).record;
      if (!rec.outage) return;
      if (!(isUp(rec.status) || rec.status === 'crashed' || rec.status === 'waiting') || Date.now() > deadline) return;
      try {
        const res = await checkProcess(ctx, def, { sample: false });
        if (res.kill) await res.kill;
        if (res.alerts.length > 0) await announceAndSend(ctx, name, res.alerts);
      } catch { /* a look failed (a lock held long): the next one, or healthcheck */ }
      await new Promise((r) => setTimeout(r, 250));
    }
  }));
}

// ---- raising alerts and sending them (app/alerts.ts records them) ----

/**
 * The channels beyond the flag files (app/notify.ts). Each failure is said on stderr and kept in
 * notify.log; then each alert records how its sending went (`delivery`; `notified_at` back to null
 * when no channel took it), and the ledger gets a `notify` entry: notified or not, and why.
 */
async function notifyChannels(ctx: Context, alerts: readonly Alert[], onRouted?: () => void): Promise<void> {
  const head = channelsOf(ctx).some((c) => c.type === 'webhook' || c.type === 'command') ? ledgerAnchor(ctx) : null;
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
  if (!channelsOf(ctx).some((c) => c.quietHours)) return;
  await sendToChannels(ctx, [], (what) => noteFailure(ctx, what));
}

/**
 * Raise alerts and wait for the channels (healthcheck, watch, a schedule's fire): recorded at
 * once (alerts.json, the flag files, the ledger), then sent. The runner's report uses
 * app/alerts.ts's announce, which leaves the sending to a detached notifier.
 */
export async function announceAndSend(ctx: Context, process: string, intents: readonly AlertIntent[]): Promise<Alert[]> {
  if (intents.length === 0) return [];
  const toNotify = await recordAlerts(ctx, process, intents);
  if (toNotify.length > 0 && hasSlowChannels(ctx)) await notifyChannels(ctx, toNotify);
  return toNotify;
}

/**
 * The detached notifier (`pguard notify send <ids>`): the channels for alerts already recorded;
 * then, for a failure pguard is bringing back, it waits for the recovery and sends that too.
 */
export async function notifyByIds(ctx: Context, ids: readonly string[]): Promise<number> {
  const wanted = new Set(ids);
  const alerts = readAlerts(ctx.store.dir).filter((a) => wanted.has(a.id));
  // The recovery is looked for as soon as each channel has taken the failure (so that it goes
  // where the failure went), not once it is sent: a channel slow to answer delays no other's recovery.
  let routed!: () => void;
  const taken = new Promise<void>((r) => { routed = r; });
  await Promise.all([
    notifyChannels(ctx, alerts, routed).finally(routed),
    taken.then(() => awaitRecoveries(ctx, alerts)),
  ]);
  return alerts.length;
}
