import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alerts.js';
import {
  describeChannel, dueDigest, emptyChannelState, envReference, inQuietHours, legacyChannels, resolveOptions, routeAlert, validateChannels,
  type ChannelDef, type ChannelState,
} from '../../src/core/channels.js';
import { alertMessage } from '../../src/core/notify-message.js';
import { validateRegistry } from '../../src/core/validate.js';

const alert = (over: Partial<Alert> = {}): Alert => ({
  id: 'a1', at: '2026-12-04T03:00:00.000Z', last_at: '2026-12-04T03:00:00.000Z', process: 'api', kind: 'crashed', severity: 'warning',
  message: 'exited with code 1 after 5.0 s; restarted at once (restart 1 of 5)', evidence: { code: 1, signal: null, ran_s: 5, restarts: 1, action: 'restarted' },
  count: 1, acknowledged: false, notified_at: null, ...over,
});
const one = (raw: unknown): ChannelDef => {
  const res = validateChannels([raw]);
  expect(res.issues).toEqual([]);
  return res.channels[0]!;
};
const NOON = 12 * 60;

describe('validateChannels', () => {
  it('takes every kind with its options, defaults, and $NAME references', () => {
    const res = validateChannels([
      { type: 'telegram', bot_token: '$TG_TOKEN', chat_id: -1001234 },
      { type: 'slack', url: '${SLACK_URL}' },
      { type: 'discord', url: 'https://discord.com/api/webhooks/1/abc' },
      { type: 'pagerduty', routing_key: '$PD_KEY' },
      { type: 'ntfy', topic: '$NTFY_TOPIC' },
      { type: 'email', smtp: 'smtp://alerts@mail.example.com:587', password: '$SMTP_PASSWORD', from: 'pguard@example.com', to: 'ops@example.com' },
      { type: 'webhook', url: 'https://example.com/hook' },
      { type: 'command', command: 'logger -t pguard' },
      { type: 'desktop', name: 'screen' },
    ]);
    expect(res.issues).toEqual([]);
    expect(res.channels.map((c) => c.name)).toEqual(['telegram', 'slack', 'discord', 'pagerduty', 'ntfy', 'email', 'webhook', 'command', 'screen']);
    expect(res.channels[0]!.options).toEqual({ bot_token: '$TG_TOKEN', chat_id: '-1001234', api_url: 'https://api.telegram.org' });
    expect(res.channels[3]!.minSeverity).toBe('critical'); // PagerDuty pages on what pguard could not fix
    expect(res.channels[1]!.minSeverity).toBe('info');
    expect(res.channels[4]!.options.url).toBe('https://ntfy.sh');
    expect(res.channels[5]!.options.to).toEqual(['ops@example.com']);
  });

  it('names each problem by its field, never quoting a secret, and keeps the good channels', () => {
    const res = validateChannels([
      { type: 'telegram', chat_id: 5 },
      { type: 'slack', url: 'hooks.slack.com/services/T0/B0/sekrit-token' },
      { type: 'sms', to: 'x' },
      { type: 'ntfy', topic: '$1bad' },
      { type: 'discord', url: 'https://discord.com/api/webhooks/1/abc', min_severity: 'high', kinds: ['crash'], quiet_hours: '25:00-07:00', colour: 'red' },
      { type: 'desktop' },
    ]);
    expect(res.channels.map((c) => c.name)).toEqual(['desktop']);
    expect(res.issues.map((i) => i.field)).toEqual([
      'notify[0].bot_token', 'notify[1].url', 'notify[2].type', 'notify[3].topic',
      'notify[4].colour', 'notify[4].min_severity', 'notify[4].kinds', 'notify[4].quiet_hours',
    ]);
    expect(JSON.stringify(res.issues)).not.toContain('sekrit');
    expect(res.issues[2]!.message).toMatch(/expected one of telegram, slack, discord, pagerduty, ntfy, email, webhook, command, desktop, got "sms"/);
  });

  it('refuses two channels of one name, and is part of the registry\'s validation', () => {
    expect(validateChannels([{ type: 'desktop' }, { type: 'desktop' }]).issues).toEqual([{ field: 'notify', message: 'two channels are named "desktop": give each a "name"' }]);
    const v = validateRegistry({ $settings: { notify: [{ type: 'slack' }] }, a: { command: 'x' } });
    expect(v.issues).toEqual([{ process: '$settings', field: 'notify[0].url', message: 'is required' }]);
    expect(v.defs.has('a')).toBe(true);
  });

  it('reads $NAME and ${NAME} as a whole value only', () => {
    expect(envReference('$A_B')).toBe('A_B');
    expect(envReference('${A_B}')).toBe('A_B');
    expect(envReference('x$A')).toBeNull();
    expect(envReference('$A/x')).toBeNull();
  });
});

describe('resolveOptions and describeChannel', () => {
  const tg = one({ type: 'telegram', name: 'ops', bot_token: '$TG_TOKEN', chat_id: '$TG_CHAT' });
  it('resolves references, lists the secret values, names what is missing', () => {
    expect(resolveOptions(tg, { TG_TOKEN: '123:abc', TG_CHAT: '42' })).toEqual({
      values: { bot_token: '123:abc', chat_id: '42', api_url: 'https://api.telegram.org' }, secrets: ['123:abc'], missing: [],
    });
    expect(resolveOptions(tg, { TG_CHAT: '42' }).missing).toEqual(['TG_TOKEN']);
  });
  it('shows where each value comes from, never a secret', () => {
    expect(describeChannel(tg, { TG_TOKEN: '123:abc' })).toBe('ops (telegram): bot_token $TG_TOKEN (set); chat_id $TG_CHAT (not set); api_url https://api.telegram.org');
    const slack = one({ type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/sekrit', min_severity: 'warning', quiet_hours: '22:00-7:00' });
    expect(describeChannel(slack, {})).toBe('slack (slack): url *** (written in the registry) [min_severity warning; quiet_hours 22:00-07:00]');
    const mail = one({ type: 'email', smtp: 'smtp://me:pw@mail.example.com', from: 'a@b.c', to: ['x@y.z'] });
    expect(describeChannel(mail, {})).not.toContain('pw');
  });
  it('turns the older settings into channels, a notify entry of the same name winning', () => {
    const legacy = legacyChannels({ webhook: 'https://x.example/h', notifyCommand: 'true', desktop: true }, [one({ type: 'desktop' })]);
    expect(legacy.map((c) => [c.name, c.type])).toEqual([['webhook', 'webhook'], ['command', 'command']]);
  });
});

describe('routeAlert', () => {
  const slack = one({ type: 'slack', url: '$U' });
  const route = (ch: ChannelDef, st: ChannelState, a: Alert, minute = NOON) => routeAlert(ch, st, a, minute);

  it('sends a failure once, opens an incident, and sends its recovery once, closing it', () => {
    const crash = route(slack, emptyChannelState(), alert());
    expect(crash.route).toEqual({ send: true, incident: 'pguard-api-a1', closes: [] });
    expect(route(slack, crash.state, alert()).route).toEqual({ send: false, why: 'sent-already' });
    const back = route(slack, crash.state, alert({ id: 'r1', kind: 'recovered', severity: 'info' }));
    expect(back.route).toEqual({ send: true, incident: 'pguard-api-a1', closes: ['crashed'] });
    expect(back.state.open).toEqual({});
    expect(route(slack, back.state, alert({ id: 'r1', kind: 'recovered', severity: 'info', count: 2 })).route).toEqual({ send: false, why: 'nothing-open' });
  });

  it('a repeat of a failure (count 2) is a message of its own, in the same incident', () => {
    const first = route(slack, emptyChannelState(), alert());
    const again = route(slack, first.state, alert({ count: 2, kind: 'unhealthy' }));
    expect(again.route).toEqual({ send: true, incident: 'pguard-api-a1', closes: [] });
    expect(again.state.open.api!.kinds).toEqual(['crashed', 'unhealthy']);
  });

  it('filters by severity, kind and process; a recovery goes only where its failure went', () => {
    const pd = one({ type: 'pagerduty', routing_key: '$K' });
    const crash = route(pd, emptyChannelState(), alert());
    expect(crash.route).toEqual({ send: false, why: 'filtered' });
    expect(route(pd, crash.state, alert({ id: 'r', kind: 'recovered', severity: 'info' })).route).toEqual({ send: false, why: 'nothing-open' });
    expect(route(pd, emptyChannelState(), alert({ kind: 'failed', severity: 'critical' })).route.send).toBe(true);
    const only = one({ type: 'slack', url: '$U', kinds: ['failed'], processes: ['db'] });
    expect(route(only, emptyChannelState(), alert({ kind: 'failed', severity: 'critical' })).route).toEqual({ send: false, why: 'filtered' });
    expect(route(only, emptyChannelState(), alert({ process: 'db', kind: 'failed', severity: 'critical' })).route.send).toBe(true);
  });

  it('holds warnings during quiet hours (spanning midnight), never a critical; the digest once they end', () => {
    const quiet = one({ type: 'slack', url: '$U', quiet_hours: '22:00-07:00' });
    expect([inQuietHours(quiet.quietHours, 23 * 60), inQuietHours(quiet.quietHours, 3 * 60), inQuietHours(quiet.quietHours, 7 * 60), inQuietHours(quiet.quietHours, NOON)]).toEqual([true, true, false, false]);
    const held = route(quiet, emptyChannelState(), alert(), 3 * 60);
    expect(held.route).toEqual({ send: false, why: 'held' });
    const back = route(quiet, held.state, alert({ id: 'r', kind: 'recovered', severity: 'info' }), 3 * 60 + 1);
    expect(back.route).toEqual({ send: false, why: 'held' });
    expect(route(quiet, back.state, alert({ id: 'f', kind: 'failed', severity: 'critical', process: 'db' }), 3 * 60).route.send).toBe(true);
    expect(dueDigest(quiet, back.state, 4 * 60)).toBeNull();
    const digest = dueDigest(quiet, back.state, 7 * 60);
    expect(digest!.held.map((h) => h.kind)).toEqual(['crashed', 'recovered']);
    expect(digest!.state.held).toEqual([]);
  });
});

describe('alertMessage', () => {
  it('says the process, kind, what was seen, the action, the host; a recovery its downtime', () => {
    const m = alertMessage(alert(), 'web-1', 'slack');
    expect(m.title).toBe('api crashed on web-1');
    expect(m.text).toBe([
      'exited with code 1 after 5.0 s; restarted at once (restart 1 of 5)', 'host: web-1', 'alert: a1 · pguard alerts ack a1',
    ].join('\n'));
    // The action where the message does not say it; the registry's folder where known.
    const waiting = alertMessage(alert({ message: 'exited with code 1 after 5.0 s', evidence: { action: 'waiting', restarts: 0 } }), 'web-1', 'slack', '/srv/shop');
    expect(waiting.text).toBe('exited with code 1 after 5.0 s\naction: waiting for its dependencies\nhost: web-1 · /srv/shop\nalert: a1 · pguard alerts ack a1');
    expect(m.key).toBe('pguard-a1-1-slack');
    const r = alertMessage(alert({ kind: 'recovered', severity: 'info', message: 'back 40 ms after a crash: running for 3.0 s', evidence: { down_ms: 40, closes: ['crashed'], ran_s: 3, restarts: 1, action: 'none' } }), 'web-1', 'slack');
    expect(r.title).toBe('api back on web-1 after 40 ms');
    expect(r.event).toBe('recovered');
    expect(r.text).toBe('back 40 ms after a crash: running for 3.0 s\nhost: web-1\nalert: a1');
    expect(alertMessage(alert({ kind: 'recovered', severity: 'info', evidence: { down_ms: 0, action: 'none' } }), 'h', 'c').title).toBe('api back on h within 10 ms');
  });
});

describe('routeAlert over random histories (fast-check)', () => {
  it('sends each alert at most once, a recovery only after a failure it sent or held and once per incident, and every held alert in the digest', async () => {
    const fc = (await import('fast-check')).default;
    const KINDS = ['crashed', 'failed', 'unhealthy', 'recovered', 'overrun', 'waiting'] as const;
    const step = fc.record({
      process: fc.constantFrom('api', 'db'), kind: fc.constantFrom(...KINDS), repeat: fc.boolean(), replay: fc.boolean(),
      severity: fc.constantFrom('info', 'warning', 'critical'), minute: fc.integer({ min: 0, max: 1439 }),
    });
    const channel = fc.record({ minSeverity: fc.constantFrom('info', 'warning', 'critical'), quiet: fc.option(fc.constantFrom('22:00-07:00', '12:00-13:00'), { nil: undefined }) });
    fc.assert(fc.property(channel, fc.array(step, { maxLength: 60 }), (c, steps) => {
      const ch = one({ type: 'slack', url: '$U', min_severity: c.minSeverity, ...(c.quiet ? { quiet_hours: c.quiet } : {}) });
      let st = emptyChannelState();
      const sent = new Set<string>();
      const heldOrSent = new Map<string, number>(); // per process: failures taken since its last recovery
      let n = 0;
      const ids = new Map<string, { id: string; count: number }>();
      let last: Alert | null = null;
      for (const s of steps) {
        // A second notifier for the alert just routed (the report's, and one by hand).
        if (s.replay && last) {
          const again = routeAlert(ch, st, last, s.minute);
          expect(again.route).toEqual({ send: false, why: 'sent-already' });
          st = again.state;
        }
        // A repeat of an open alert of this process and kind has the same id and a higher count, as raiseAlert folds it.
        const k = `${s.process}/${s.kind}`;
        const prev = ids.get(k);
        const idc = s.repeat && prev ? { id: prev.id, count: prev.count + 1 } : { id: `x${n++}`, count: 1 };
        ids.set(k, idc);
        const a = alert({ ...idc, process: s.process, kind: s.kind, severity: s.kind === 'recovered' ? 'info' : s.severity });
        const before = st;
        const r = routeAlert(ch, st, a, s.minute);
        if (r.route.send || r.route.why === 'held') last = a;
        st = r.state;
        const key = `${a.id}:${a.count}`;
        if (r.route.send) {
          expect(sent.has(key)).toBe(false);
          sent.add(key);
        }
        if (r.route.send || (!r.route.send && r.route.why === 'held')) {
          if (a.kind === 'recovered') {
            // Only after a failure this channel took, and it closes the incident.
            expect((heldOrSent.get(a.process) ?? 0)).toBeGreaterThan(0);
            heldOrSent.set(a.process, 0);
            expect(st.open[a.process]).toBeUndefined();
          } else if (['crashed', 'failed', 'unhealthy'].includes(a.kind)) {
            heldOrSent.set(a.process, (heldOrSent.get(a.process) ?? 0) + 1);
            expect(st.open[a.process]).toBeDefined();
          }
        } else if (r.route.why === 'nothing-open') {
          expect(before.open[a.process]).toBeUndefined();
        }
        // A critical alert is never held.
        if (a.severity === 'critical' && a.kind !== 'recovered') expect(r.route.send || r.route.why === 'sent-already' || r.route.why === 'filtered').toBe(true);
      }
      // Quiet hours over: everything held comes out in one digest, and nothing stays held.
      const out = dueDigest(ch, st, 18 * 60);
      expect(out?.held.length ?? 0).toBe(st.held.length);
      if (out) expect(out.state.held).toEqual([]);
    }), { numRuns: 300 });
  });
});
