import { describe, expect, it } from 'vitest';
import { classifyExit, decodeWaitStatus, describeExit } from '../../src/core/exit.js';
import { acknowledgeAlerts, describeAlerts, raiseAlert, type Alert } from '../../src/core/alerts.js';
import { findOurLines, planCrontab, scheduleEvery, shellQuote } from '../../src/core/crontab-plan.js';
import { dependentsOf, isReady, orderByDependencies, restartDependentsOf } from '../../src/core/deps.js';

describe('exits', () => {
  it.each([
    [0, { code: 0, signal: null }],
    [3, { code: 3, signal: null }],
    [137, { code: null, signal: 'SIGKILL' }],
    [143, { code: null, signal: 'SIGTERM' }],
    [130, { code: null, signal: 'SIGINT' }],
    [255, { code: 255, signal: null }],
  ])('decodes wait status %i', (status, expected) => {
    expect(decodeWaitStatus(status)).toEqual(expected);
  });

  it('classifies a user stop before anything else', () => {
    expect(classifyExit({ durationMin: 1 }, { startedAt: 0, endedAt: 60_000, code: 0, signal: null }, true)).toBe('user-stopped');
  });

  it('describes an exit in words', () => {
    expect(describeExit({ startedAt: 0, endedAt: 125_000, code: null, signal: 'SIGKILL' })).toBe('killed by SIGKILL after 2 min 5 s');
    expect(describeExit({ startedAt: 0, endedAt: 1_500, code: 2, signal: null })).toBe('exited with code 2 after 1.5 s');
  });
});

describe('alerts', () => {
  const intent = { kind: 'crashed' as const, severity: 'warning' as const, message: 'died', evidence: { restarts: 1, action: 'restarted' } };
  let n = 0;
  const id = () => `id${++n}`;

  it('notifies the first alert and folds a repeat within alert_cooldown without notifying', () => {
    const first = raiseAlert([], 'bot', intent, 1_000_000, 900, id);
    expect(first.notify).toBe(true);
    const second = raiseAlert(first.alerts, 'bot', intent, 1_000_000 + 60_000, 900, id);
    expect(second.notify).toBe(false);
    expect(second.alerts).toHaveLength(1);
    expect(second.alert.count).toBe(2);
  });

  it('keeps the last 500 alerts: the oldest acknowledged go first, then the oldest', () => {
    let history: Alert[] = [];
    for (let i = 0; i < 300; i++) history = raiseAlert(history, `p${i}`, intent, i, 900, id).alerts;
    history = acknowledgeAlerts(history, history.slice(0, 100).map((a) => a.id)).alerts;
    for (let i = 300; i < 600; i++) history = raiseAlert(history, `p${i}`, intent, i, 900, id).alerts;
    expect(history).toHaveLength(500);
    // The 100 acknowledged went, the unacknowledged 100-599 stayed.
    expect(history.every((a) => !a.acknowledged)).toBe(true);
    expect(history[0]!.process).toBe('p100');
    history = raiseAlert(history, 'p600', intent, 600, 900, id).alerts;
    expect(history).toHaveLength(500);
    expect(history[0]!.process).toBe('p101');
    expect(history.at(-1)!.process).toBe('p600');
  });

  it('notifies again once the cooldown has passed', () => {
    const first = raiseAlert([], 'bot', intent, 0, 900, id);
    expect(raiseAlert(first.alerts, 'bot', intent, 900_000, 900, id).notify).toBe(true);
  });

  it('keeps kinds and processes apart', () => {
    const first = raiseAlert([], 'bot', intent, 0, 900, id);
    expect(raiseAlert(first.alerts, 'bot', { ...intent, kind: 'failed' }, 1, 900, id).notify).toBe(true);
    expect(raiseAlert(first.alerts, 'other', intent, 1, 900, id).notify).toBe(true);
  });

  it('starts a new alert after an acknowledgement, still within the cooldown quietly', () => {
    const first = raiseAlert([], 'bot', intent, 0, 900, id);
    const acked = acknowledgeAlerts(first.alerts, 'all').alerts;
    const again = raiseAlert(acked, 'bot', intent, 1000, 900, id);
    expect(again.alerts).toHaveLength(2);
    expect(again.notify).toBe(false);
  });

  it('reports unknown ids on ack', () => {
    const first = raiseAlert([], 'bot', intent, 0, 900, () => 'abc');
    expect(acknowledgeAlerts(first.alerts, ['abc', 'zzz'])).toMatchObject({ unknown: ['zzz'], acknowledged: 1 });
  });

  it('writes the text of unacknowledged alerts only', () => {
    const a: Alert[] = [...raiseAlert([], 'bot', intent, 0, 900, () => 'x1').alerts];
    expect(describeAlerts(a)).toContain('[WARNING] 1970-01-01T00:00:00.000Z bot crashed (id x1)');
    expect(describeAlerts(acknowledgeAlerts(a, 'all').alerts)).toBe('');
  });
});

describe('planning the crontab', () => {
  const theirs = '# my jobs\nMAILTO=me@example.com\n0 3 * * * /usr/bin/backup   --full\n';
  it('appends marked lines and keeps every other line byte for byte', () => {
    const out = planCrontab(theirs, 'abc', ['*/5 * * * * run']);
    expect(out).toBe(`${theirs}*/5 * * * * run # pguard:abc\n`);
  });
  it('is idempotent and replaces only its own lines', () => {
    const once = planCrontab(theirs, 'abc', ['*/5 * * * * run']);
    expect(planCrontab(once, 'abc', ['*/5 * * * * run'])).toBe(once);
    const other = planCrontab(once, 'def', ['* * * * * x']);
    expect(findOurLines(planCrontab(other, 'abc', []), 'def')).toEqual(['* * * * * x # pguard:def']);
    expect(planCrontab(once, 'abc', [])).toBe(theirs);
  });
  it('schedules and quotes', () => {
    expect(scheduleEvery(5)).toBe('*/5 * * * *');
    expect(scheduleEvery(0)).toBeNull();
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
  });
});

describe('dependencies', () => {
  const defs = new Map([
    ['bot', { dependsOn: ['llm'] }], ['llm', { dependsOn: ['vec'] }], ['vec', { dependsOn: ['db'] }], ['db', { dependsOn: [] }],
  ]);
  it('orders dependencies first', () => {
    expect(orderByDependencies(defs, ['bot'])).toEqual({ ok: true, order: ['db', 'vec', 'llm', 'bot'] });
  });
  it('finds dependents', () => {
    expect(dependentsOf(defs, 'vec').sort()).toEqual(['bot', 'llm']);
  });
  it('restarts dependents over edges that want it, and theirs in turn, in start order', () => {
    const graph = new Map([
      ['db', { dependsOn: [], survivesRestartOf: [] }],
      ['vec', { dependsOn: ['db'], survivesRestartOf: ['db'] }], // reconnects by itself
      ['api', { dependsOn: ['db'], survivesRestartOf: [] }],
      ['bot', { dependsOn: ['api', 'vec'], survivesRestartOf: [] }],
      ['ui', { dependsOn: ['vec'], survivesRestartOf: [] }],
    ]);
    expect(restartDependentsOf(graph, 'db')).toEqual(['api', 'bot']);
    expect(restartDependentsOf(graph, 'vec')).toEqual(['bot', 'ui']);
  });
  it.each([
    ['running past ready_after', { status: 'running' as const, run: { startedAt: 0 }, probes: [] }, [], true],
    ['running, not yet ready_after', { status: 'running' as const, run: { startedAt: 9_000 }, probes: [] }, [], false],
    ['running, probes passed last', { status: 'running' as const, run: { startedAt: 9_000 }, probes: [{ lastOk: true }] }, [{}], true],
    ['running, probes not yet run', { status: 'running' as const, run: { startedAt: 0 }, probes: [] }, [{}], false],
    ['unhealthy', { status: 'unhealthy' as const, run: { startedAt: 0 }, probes: [{ lastOk: false }] }, [{}], false],
    ['crashed', { status: 'crashed' as const, run: null, probes: [] }, [], false],
    ['a completed job', { status: 'completed' as const, run: null, probes: [] }, [], true],
  ])('a dependency is ready for its dependents when %s: %s', (_what, record, health, ready) => {
    expect(isReady({ health: health as never[], readyAfterS: 3 }, record as never, 10_000)).toBe(ready);
  });
  it('names a cycle', () => {
    const cyc = new Map([['a', { dependsOn: ['b'] }], ['b', { dependsOn: ['a'] }]]);
    expect(orderByDependencies(cyc, ['a'])).toEqual({ ok: false, cycle: ['a', 'b', 'a'] });
  });
});
