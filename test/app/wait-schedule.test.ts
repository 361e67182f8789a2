// `wait` and an armed job: its completed or failed run is not where it stays (its next time runs it
// again), so waiting for it to run or to complete goes on; a scheduled job is not running.
import { describe, expect, it } from 'vitest';
import { judgeWait } from '../../src/app/wait.js';

const armed = { armed: true } as never;
const off = { armed: false } as never;

describe('wait on a job', () => {
  it.each([
    ['completed', armed, 'running', 'pending'],
    ['completed', off, 'running', 'unreachable'],
    ['failed', armed, 'completed', 'pending'],
    ['failed', off, 'completed', 'unreachable'],
    ['completed', armed, 'failed', 'pending'],
    ['scheduled', armed, 'stopped', 'reached'],
    ['scheduled', armed, 'completed', 'pending'],
    ['stopped', off, 'completed', 'unreachable'],
  ] as const)('%s (%o), until %s: %s', (status, schedule, until, verdict) => {
    expect(judgeWait({ status, health: [], schedule }, until)).toBe(verdict);
  });
});
