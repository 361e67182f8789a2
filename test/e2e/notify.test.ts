// The notification channels end to end: the CLI against local stand-ins of each service
// (test/helpers/fake-services.ts checks every request against the service's documented API), and
// the real crash -> restart -> recovered path of a real process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeServices, PD_ROUTING_KEY, TELEGRAM_TOKEN, type FakeServices } from '../helpers/fake-services.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRETS = { TG_TOKEN: TELEGRAM_TOKEN, PD_KEY: PD_ROUTING_KEY, SLACK_URL: '', DISCORD_URL: '', NTFY_TOPIC: 'pguard-sekrit-topic-4711' };

let svc: FakeServices;
beforeEach(async () => { svc = await fakeServices(); });
afterEach(async () => { await svc.close(); });

/** Every HTTP channel, its secrets in notify_env_file (as a cron job would read them). */
function channels(over: Record<string, Record<string, unknown>> = {}): Record<string, unknown>[] {
  return [
    { type: 'telegram', name: 'tg', bot_token: '$TG_TOKEN', chat_id: -1001234567890, api_url: `${svc.url}/telegram`, ...over.tg },
    { type: 'slack', url: '$SLACK_URL', ...over.slack },
    { type: 'discord', url: '$DISCORD_URL', ...over.discord },
    { type: 'pagerduty', name: 'pd', routing_key: '$PD_KEY', api_url: `${svc.url}/pagerduty/v2/enqueue`, ...over.pd },
    { type: 'ntfy', topic: '$NTFY_TOPIC', url: `${svc.url}/ntfy`, ...over.ntfy },
  ];
}

function registry(t: TmpRegistry, entries: Record<string, unknown>, chans: Record<string, unknown>[], settings: Record<string, unknown> = {}): void {
  const env = { ...SECRETS, SLACK_URL: `${svc.url}/slack/services/T0/B0/sekritslack`, DISCORD_URL: `${svc.url}/discord/api/webhooks/1/sekritdiscord` };
  writeFileSync(join(t.dir, 'notify.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n'));
  writeFileSync(t.registry, JSON.stringify({ $settings: { notify: chans, notify_env_file: 'notify.env', ...settings }, ...entries }, null, 2));
}

const secretsIn = (text: string) => ['sekrit', TELEGRAM_TOKEN, PD_ROUTING_KEY, 'pguard-sekrit-topic'].filter((s) => text.includes(s));
const of = (service: string) => svc.received.filter((r) => r.service === service);

describe('notify test', () => {
  it('sends one well-formed message through each channel and says what each answered; PagerDuty\'s test incident is resolved at once', async () => {
    const t = tmpRegistry({});
    registry(t, {}, channels());
    const res = await t.cli(['notify', 'test']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')).toEqual([
      '✓ tg (telegram): sent; HTTP 200',
      '✓ slack: sent; HTTP 200 ok',
      '✓ discord: sent; HTTP 204',
      '✓ pd (pagerduty): sent; HTTP 202 Event processed',
      '✓ ntfy: sent; HTTP 200',
    ]);
    expect(svc.received.map((r) => r.service).sort()).toEqual(['discord', 'ntfy', 'pagerduty', 'pagerduty', 'slack', 'telegram']);
    expect(of('telegram')[0]).toMatchObject({ path: `/bot${TELEGRAM_TOKEN}/sendMessage`, body: { chat_id: '-1001234567890' } });
    expect(of('telegram')[0]!.body.text).toMatch(new RegExp(`^pguard test notification on ${hostname()}\\n\\nThis is a test of the channel "tg"`));
    expect(of('slack')[0]!.path).toBe('/services/T0/B0/sekritslack');
    expect(of('pagerduty').map((r) => r.body.event_action)).toEqual(['trigger', 'resolve']);
    expect(of('pagerduty')[1]!.body.dedup_key).toBe(of('pagerduty')[0]!.body.dedup_key);
    expect(of('ntfy')[0]!.body).toMatchObject({ topic: SECRETS.NTFY_TOPIC, priority: 3, title: `pguard test notification on ${hostname()}` });
    expect(secretsIn(res.stdout + res.stderr)).toEqual([]);
  });

  it('--channel sends through that one alone; an unknown one is one line naming the channels; --json', async () => {
    const t = tmpRegistry({});
    registry(t, {}, channels());
    const one = await t.cli(['notify', 'test', '--channel', 'slack', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ test: [{ channel: 'slack', type: 'slack', ok: true, detail: 'HTTP 200 ok', attempts: 1 }] });
    expect(svc.received.map((r) => r.service)).toEqual(['slack']);
    const typo = await t.cli(['notify', 'test', '--channel', 'slak']);
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim().split('\n')).toEqual(['pguard: no channel named "slak". Channels: tg, slack, discord, pd, ntfy.']);
    const bad = await t.cli(['notify', 'tset']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown notify action "tset"/);
  });

  it('says what the service answered when it refuses, and a secret that is not set, without the secret; exit 1', async () => {
    const t = tmpRegistry({});
    registry(t, {}, [
      { type: 'telegram', name: 'tg', bot_token: '123:wrong-token-sekrit', chat_id: 5, api_url: `${svc.url}/telegram` },
      { type: 'pagerduty', name: 'pd', routing_key: '$PD_MISSING', api_url: `${svc.url}/pagerduty/v2/enqueue` },
      { type: 'ntfy', topic: 'bad topic!', url: `${svc.url}/ntfy` },
    ]);
    const res = await t.cli(['notify', 'test']);
    expect(res.code).toBe(1);
    expect(res.stdout.split('\n')).toEqual([
      '✗ tg (telegram): not delivered; HTTP 401: Unauthorized',
      `✗ pd (pagerduty): not sent: $PD_MISSING is not set (in the environment or ${join(t.dir, 'notify.env')})`,
      '✗ ntfy: not delivered; HTTP 400: invalid request: topic invalid',
    ]);
    expect(secretsIn(res.stdout + res.stderr)).toEqual([]);
  });

  it('names each channel written wrong as a failure of its own (exit 1), while the others are tested; start is not held up by it', async () => {
    const t = tmpRegistry({});
    registry(t, { api: { command: 'exec sleep 1000' } }, [
      { type: 'slack', url: '$SLACK_URL' }, { type: 'telegrm', chat_id: 1 }, { type: 'ntfy', topic: '$NTFY_TOPIC', url: `${svc.url}/ntfy`, quiet_hours: '22-07' },
    ]);
    const res = await t.cli(['notify', 'test']);
    expect(res.code).toBe(1);
    expect(res.stdout.split('\n')).toEqual([
      '✓ slack: sent; HTTP 200 ok',
      '✗ notify[1].type: expected one of telegram, slack, discord, pagerduty, ntfy, email, webhook, command, desktop, got "telegrm" (this channel is left out until it is fixed)',
      '✗ notify[2].quiet_hours: expected "HH:MM-HH:MM" in local time, such as "22:00-07:00" (this channel is left out until it is fixed)',
    ]);
    const start = await t.cli(['start', 'api', '--no-wait']);
    expect(start.code).toBe(0);
    expect(start.stderr).toContain('notify[1].type: expected one of');
    expect(start.stderr).toContain('(left out of the notifications until it is fixed)');
  });

  it('info shows each channel with where its secrets come from, never their values', async () => {
    const t = tmpRegistry({});
    registry(t, {}, channels({ slack: { min_severity: 'warning', quiet_hours: '22:00-07:00' } }));
    const res = await t.cli(['info', '--json']);
    const info = JSON.parse(res.stdout);
    expect(info.notify_channels).toEqual([
      `tg (telegram): bot_token $TG_TOKEN (set); chat_id -1001234567890; api_url ${svc.url}/telegram`,
      'slack (slack): url $SLACK_URL (set) [min_severity warning; quiet_hours 22:00-07:00]',
      'discord (discord): url $DISCORD_URL (set)',
      `pd (pagerduty): routing_key $PD_KEY (set); api_url ${svc.url}/pagerduty/v2/enqueue [min_severity critical]`,
      `ntfy (ntfy): topic $NTFY_TOPIC (set); url ${svc.url}/ntfy`,
    ]);
    const text = await t.cli(['info']);
    expect(secretsIn(text.stdout + res.stdout)).toEqual([]);
  });

  it('waits out a 429 for its Retry-After (header or body), then delivers once', async () => {
    const t = tmpRegistry({});
    registry(t, {}, channels());
    svc.rateLimit('telegram', 1, 1);
    svc.rateLimit('discord', 1, 1);
    const t0 = Date.now();
    const res = await t.cli(['notify', 'test', '--json']);
    const answers = JSON.parse(res.stdout).test as { channel: string; ok: boolean; attempts: number }[];
    expect(answers.filter((a) => a.channel === 'tg' || a.channel === 'discord').map((a) => [a.channel, a.ok, a.attempts])).toEqual([['tg', true, 2], ['discord', true, 2]]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(of('telegram')).toHaveLength(1);
  });
});

/** A mail relay on 127.0.0.1 (smtp-server, nodemailer's own) that takes mail only after STARTTLS, with a certificate made here. */
const SMTP_PASSWORD = 'sekrit-smtp-password';
let certDir = '';
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'pguard-smtp-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-days', '1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'pipe' });
});
afterAll(() => { rmSync(certDir, { recursive: true, force: true }); });

async function mailRelay(): Promise<{ port: number; mails: { secure: boolean; to: string[]; raw: string }[]; close(): Promise<void> }> {
  const mails: { secure: boolean; to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')), logger: false, closeTimeout: 500,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth: (auth, session, cb) => (session.secure && auth.username === 'pguard' && auth.password === SMTP_PASSWORD ? cb(null, { user: 'pguard' }) : cb(new Error('Invalid username or password'))),
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => { mails.push({ secure: session.secure, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') }); cb(null); });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.server.address() as AddressInfo).port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('a real crash, restarted and recovered', () => {
  it('sends, per channel, exactly one failure and one recovery, with the category, the action and the recovery time', async () => {
    const relay = await mailRelay();
    const t = tmpRegistry({});
    registry(t, { api: { command: 'exec sleep 1000', ready_after: 0.5, restart_cooldown: 0 } }, [
      ...channels({ pd: { min_severity: 'warning' } }),
      { type: 'email', name: 'mail', smtp: `smtp://pguard@127.0.0.1:${relay.port}`, password: '$SMTP_PASSWORD', from: 'pguard@example.com', to: ['ops@example.com', 'oncall@example.com'] },
    ], {});
    writeFileSync(join(t.dir, 'notify.env'), `${readFileSync(join(t.dir, 'notify.env'), 'utf8')}\nSMTP_PASSWORD=${SMTP_PASSWORD}\n`);
    // The relay's certificate is trusted as a private relay's would be: Node's NODE_EXTRA_CA_CERTS, inherited by the notifier.
    await t.cli(['start', 'api', '--no-wait'], { env: { NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem') } });
    const pid = await waitFor(async () => (await t.status('api')).pid as number | null);
    process.kill(pid, 'SIGKILL');
    // The runner restarts it; the notifier sends the crash, then waits for it to be ready and sends the recovery.
    await waitFor(() => ['telegram', 'slack', 'discord', 'pagerduty', 'ntfy'].every((s) => of(s).length >= 2) && relay.mails.length >= 2, { timeoutMs: 20_000, what: 'a failure and a recovery on every channel' });
    // Nothing more comes: a healthcheck (the cron backstop) sends neither again.
    await t.cli(['healthcheck']);
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout) as { kind: string; delivery?: { channels: { channel: string; ok: boolean }[] } }[];
    expect(alerts.map((a) => a.kind)).toEqual(['crashed', 'recovered']);
    for (const a of alerts) expect(a.delivery!.channels.map((c) => [c.channel, c.ok])).toEqual([['tg', true], ['slack', true], ['discord', true], ['pd', true], ['ntfy', true], ['mail', true]]);
    for (const s of ['telegram', 'slack', 'discord', 'pagerduty', 'ntfy']) expect(of(s)).toHaveLength(2);
    expect(relay.mails).toHaveLength(2);
    const subjects = relay.mails.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]);
    expect(subjects[0]).toBe(`[pguard] api crashed on ${hostname()}`);
    expect(subjects[1]).toMatch(new RegExp(`^\\[pguard\\] api back on ${hostname()} (within 10 ms|after \\d+ ms)$`));
    expect(relay.mails.every((m) => m.secure && m.to.join() === 'ops@example.com,oncall@example.com')).toBe(true);
    await relay.close();

    const host = hostname();
    const [crashTg, backTg] = of('telegram').map((r) => r.body.text as string);
    expect(crashTg).toMatch(new RegExp(`^api crashed on ${host}\\n\\nkilled by SIGKILL after [\\d.]+ s; restarted`));
    expect(crashTg).not.toContain('action:'); // the message says it: restarted at once
    expect(crashTg).toContain(`host: ${host}`);
    // Down from the exit to the new run's start, on the runner's 10 ms clock: a restart by the runner is within 10 ms here, or a few tens of ms under load.
    expect(backTg).toMatch(/^api back on .+ (within 10 ms|after \d+ ms)\n\nback (within 10 ms of|\d+ ms after) a crash: running for [\d.]+ s\nhost: .+ · .+\nalert: \w+$/);
    const [trigger, resolve] = of('pagerduty').map((r) => r.body);
    expect(trigger).toMatchObject({ event_action: 'trigger', payload: { severity: 'warning', source: host, component: 'api', class: 'crashed' } });
    expect(resolve).toEqual({ routing_key: PD_ROUTING_KEY, event_action: 'resolve', dedup_key: trigger.dedup_key });
    expect(of('slack')[0]!.body.text).toBe(`api crashed on ${host}`);
    expect(of('slack')[1]!.body.blocks[0].text.text).toMatch(/^\*api back on .+ (within 10 ms|after \d+ ms)\*\n/);
    expect(of('discord')[0]!.body.allowed_mentions).toEqual({ parse: [] });
    expect(of('ntfy').map((r) => [r.body.priority, r.body.tags[0]])).toEqual([[4, 'warning'], [3, 'white_check_mark']]);
    // The ledger and the alerts never hold a secret.
    expect(secretsIn(JSON.stringify(t.ledger()) + JSON.stringify(alerts))).toEqual([]);
  }, 40_000);

  it('a hanging service delays neither the restart nor the other channels', async () => {
    const t = tmpRegistry({});
    registry(t, { api: { command: 'exec sleep 1000', ready_after: 0.5, restart_cooldown: 0 } }, channels());
    svc.hang('slack');
    await t.cli(['start', 'api', '--no-wait']);
    const pid = await waitFor(() => t.runs('api').latest?.identity.pid);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const run = await waitFor(() => (t.runs('api').starts.size > 1 ? t.runs('api').latest : null), { timeoutMs: 5000 });
    expect(run!.startedAt - killedAt).toBeLessThan(2500);
    // Telegram has both messages while Slack still has no answer to its first (5 s a try).
    await waitFor(() => of('telegram').length >= 2, { timeoutMs: 8000, what: 'telegram: failure and recovery' });
    expect(of('slack')).toHaveLength(0);
  }, 30_000);

  it('never sends one alert twice on a channel: two notifiers for the same alert send it once', async () => {
    const t = tmpRegistry({});
    registry(t, { api: { command: 'exec sleep 1000', ready_after: 0.5, restart_cooldown: 0 } }, channels());
    svc.hang('discord'); // the first notifier still sending when the others start
    await t.cli(['start', 'api', '--no-wait']);
    process.kill(await waitFor(() => t.runs('api').latest?.identity.pid), 'SIGKILL');
    const crash = await waitFor(async () => (JSON.parse((await t.cli(['alerts', '--json'])).stdout) as { id: string; kind: string }[]).find((a) => a.kind === 'crashed'));
    // The notifier the runner's report started, and two more by hand, at once.
    await Promise.all([t.cli(['notify', 'send', crash.id]), t.cli(['notify', 'send', crash.id])]);
    await waitFor(() => of('telegram').length >= 2, { timeoutMs: 15_000, what: 'the recovery' });
    expect(of('telegram').map((r) => (r.body.text as string).split('\n')[0]).map((l) => l.replace(/ (on|back on) .*/, ' $1')))
      .toEqual(['api crashed on', 'api back on']);
    expect(of('slack')).toHaveLength(2);
  }, 40_000);
});

describe('alert_cooldown', () => {
  it('folds repeats within one episode, but a crash after the process was back is sent again', async () => {
    const t = tmpRegistry({});
    registry(t, { api: { command: 'exec sleep 1000', ready_after: 0.3, restart_cooldown: 0 } }, [{ type: 'slack', url: '$SLACK_URL' }]);
    await t.cli(['start', 'api', '--no-wait']);
    for (let round = 1; round <= 2; round++) {
      const before = t.runs('api').starts.size;
      process.kill(await waitFor(() => t.runs('api').latest?.identity.pid), 'SIGKILL');
      await waitFor(() => t.runs('api').starts.size > before);
      await waitFor(() => of('slack').length >= 2 * round, { timeoutMs: 15_000, what: `round ${round}: its crash and its recovery` });
    }
    expect(of('slack').map((r) => (r.body.text as string).replace(/ on .*/, ''))).toEqual(['api crashed', 'api back', 'api crashed', 'api back']);
  }, 40_000);
});

describe('quiet hours', () => {
  /** A window of local time around now (the CLI runs with TZ=UTC here), or one that is over. */
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const now = Date.now();
  const quietNow = `${hhmm(now - 3_600_000)}-${hhmm(now + 3_600_000)}`;
  const quietOver = `${hhmm(now - 7_200_000)}-${hhmm(now - 3_600_000)}`;

  it('hold warnings (a crash and its recovery) for one digest once they are over; a critical alert goes at once', async () => {
    const t = tmpRegistry({});
    const setup = (quiet: string) => registry(t, {
      api: { command: 'exec sleep 1000', ready_after: 0.5, restart_cooldown: 0 },
      broken: { command: 'exit 78' },
    }, [{ type: 'slack', url: '$SLACK_URL', quiet_hours: quiet }]);
    setup(quietNow);
    const env = { TZ: 'UTC' };
    await t.cli(['start', 'api', '--no-wait'], { env });
    process.kill(await waitFor(() => t.runs('api').latest?.identity.pid), 'SIGKILL');
    const held = await waitFor(async () => {
      const alerts = JSON.parse((await t.cli(['alerts', '--json'], { env })).stdout) as { kind: string; delivery?: { channels: { held?: boolean; detail: string }[] } }[];
      return alerts.length === 2 && alerts.every((a) => a.delivery) ? alerts : null;
    }, { timeoutMs: 15_000, what: 'the crash and the recovery, held' });
    expect(held.map((a) => [a.kind, a.delivery!.channels[0]!.held, a.delivery!.channels[0]!.detail])).toEqual([
      ['crashed', true, `held for the digest after quiet hours ${quietNow}`], ['recovered', true, `held for the digest after quiet hours ${quietNow}`],
    ]);
    // A critical one (EX_CONFIG: not restarted) is not held.
    await t.cli(['start', 'broken', '--no-wait'], { env });
    await waitFor(() => of('slack').length === 1, { what: 'the critical alert at once' });
    expect(of('slack')[0]!.body.text).toMatch(/^broken failed on /);
    await t.cli(['healthcheck'], { env });
    expect(of('slack')).toHaveLength(1); // still quiet: nothing more
    // The hours are over: the next healthcheck sends the digest, once.
    setup(quietOver);
    await t.cli(['healthcheck'], { env });
    expect(of('slack')).toHaveLength(2);
    expect(of('slack')[1]!.body.text).toMatch(/^2 pguard alerts held during quiet hours on /);
    expect(of('slack')[1]!.body.blocks[0].text.text).toMatch(/\n\d\d:\d\d:\d\d api crashed: killed by SIGKILL .*\n\d\d:\d\d:\d\d api recovered: back .* a crash/);
    await t.cli(['healthcheck'], { env });
    expect(of('slack')).toHaveLength(2);
  }, 40_000);
});
