// Which dependents restart after their dependency restarted, and which are left running (issue 20, defect 3).
import { describe, expect, it } from 'vitest';
import { partitionDependents, probedDependents, recoveryWindowMs, restartDependentsOf } from '../../src/core/deps.js';
import type { ProbeDef } from '../../src/core/probes.js';

const probe = (over: Partial<ProbeDef> = {}) => ({ type: 'tcp', host: '127.0.0.1', port: 1, intervalS: 10, timeoutS: 5, failureThreshold: 3, graceS: 10, ...over }) as ProbeDef;
const def = (dependsOn: string[], health: ProbeDef[] = [], survivesRestartOf: string[] = []) => ({ dependsOn, health, survivesRestartOf });

describe('partitionDependents', () => {
  const defs = new Map([
    ['db', def([])],
    ['api', def(['db'], [probe()])],      // probed: only db could have broken it
    ['bot', def(['api'])],                // follows api
    ['worker', def(['db'])],              // no probes: restarted
    ['report', def(['db', 'worker'], [probe()])], // depends on a restarted one: restarted whatever its probes say
  ]);
  const ordered = restartDependentsOf(defs, 'db');

  it('leaves running what passes its probes, and what only depends on what was left running', () => {
    expect(probedDependents(defs, 'db', ordered)).toEqual(['api', 'report']);
    expect(partitionDependents(defs, 'db', ordered, (n) => n === 'api' || n === 'report')).toEqual({
      restart: ['worker', 'report'], kept: [{ name: 'api', why: 'probes-pass' }, { name: 'bot', why: 'deps-kept' }],
    });
  });

  it('restarts a dependent whose probes fail, and its own dependents with it', () => {
    expect(partitionDependents(defs, 'db', ordered, () => false)).toEqual({ restart: ordered, kept: [] });
  });

  it('gives probes 5 s to pass again, or less when they would call it unhealthy sooner', () => {
    expect(recoveryWindowMs({ health: [probe()] })).toBe(5_000);
    expect(recoveryWindowMs({ health: [probe({ intervalS: 1, failureThreshold: 2 })] })).toBe(2_000);
    expect(recoveryWindowMs({ health: [] })).toBe(0);
  });
});
