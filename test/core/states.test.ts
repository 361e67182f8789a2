import { describe, expect, it } from 'vitest';
import { STATUSES, TRANSITIONS, transition, type Event, type Status } from '../../src/core/states.js';

const ALLOWED: [Status, Event, Status][] = [
  ['never-started', 'start', 'running'],
  ['running', 'exit-normal', 'completed'],
  ['running', 'exit-premature', 'crashed'],
  ['running', 'stop-requested', 'stopping'],
  ['running', 'probe-failed', 'unhealthy'],
  ['unhealthy', 'probe-ok', 'running'],
  ['unhealthy', 'exit-normal', 'completed'],
  ['unhealthy', 'exit-premature', 'crashed'],
  ['unhealthy', 'stop-requested', 'stopping'],
  ['crashed', 'restart', 'running'],
  ['crashed', 'budget-exhausted', 'failed'],
  ['crashed', 'stop-requested', 'stopped'],
  ['crashed', 'start', 'running'],
  ['stopping', 'stop-done', 'stopped'],
  ['stopping', 'stop-requested', 'stopping'],
  ['stopped', 'start', 'running'],
  ['stopped', 'stop-requested', 'stopped'],
  ['completed', 'start', 'running'],
  ['completed', 'stop-requested', 'stopped'],
  ['failed', 'start', 'running'],
  ['failed', 'stop-requested', 'stopped'],
  ['never-started', 'stop-requested', 'stopped'],
  ['running', 'exit-final', 'failed'],
  ['crashed', 'hold', 'waiting'],
  ['stopping', 'hold', 'waiting'],
  ['waiting', 'start', 'running'],
  ['waiting', 'stop-requested', 'stopped'],
  ['unhealthy', 'exit-final', 'failed'],
  ['running', 'vanished', 'crashed'],
  ['unhealthy', 'vanished', 'crashed'],
  ['stopping', 'vanished', 'stopped'],
  ['running', 'adopt', 'running'],
  ['unhealthy', 'adopt', 'unhealthy'],
  // Schedules: start arms a job; its time fires it from where its last run left it.
  ['never-started', 'arm', 'scheduled'],
  ['stopped', 'arm', 'scheduled'],
  ['completed', 'arm', 'scheduled'],
  ['failed', 'arm', 'scheduled'],
  ['crashed', 'arm', 'scheduled'],
  ['waiting', 'arm', 'scheduled'],
  ['scheduled', 'arm', 'scheduled'],
  ['scheduled', 'fire', 'running'],
  ['scheduled', 'start', 'running'],
  ['scheduled', 'stop-requested', 'stopped'],
  ['completed', 'fire', 'running'],
  ['failed', 'fire', 'running'],
  ['crashed', 'fire', 'running'],
];

describe('state machine', () => {
  it.each(ALLOWED)('%s -> %s on %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
  });

  it('lists exactly these edges and no others', () => {
    const all = Object.entries(TRANSITIONS).flatMap(([from, edges]) => Object.entries(edges).map(([e, to]) => [from, e, to]));
    expect(all.sort()).toEqual(ALLOWED.map((x) => [...x]).sort());
  });

  const EVENTS: Event[] = ['start', 'exit-normal', 'exit-premature', 'stop-requested', 'stop-done', 'restart', 'budget-exhausted', 'probe-failed', 'probe-ok', 'vanished', 'exit-final', 'hold', 'adopt'];
  const forbidden = STATUSES.flatMap((from) => EVENTS.filter((e) => !ALLOWED.some(([f, ev]) => f === from && ev === e)).map((e) => [from, e] as const));
  it.each(forbidden)('forbids %s on %s', (from, event) => {
    expect(transition(from, event)).toEqual({ illegal: true, from, event });
  });

  it('never restarts a failed process automatically (only start leaves failed)', () => {
    expect(transition('failed', 'restart')).toMatchObject({ illegal: true });
  });
});
