import { describe, expect, it } from 'vitest';
import { armFor } from '../../src/core/arm.js';
import { decide } from '../../src/core/decide.js';
import type { Observation } from '../../src/core/plan.js';
import { reconcileRun } from '../../src/core/runs.js';
import { emptyRecord, type ProcessRecord } from '../../src/core/record.js';
import type { ProcessDef } from '../../src/core/schema.js';

const T0 = 1_800_000_000_000; // a fixed "now"
const def: ProcessDef = {
  name: 'bot', command: 'x', cwd: undefined, env: {}, envFile: undefined, durationMin: 0, autoRestart: true,
  maxRestarts: 3, restartCooldownS: 30, minUptimeS: 60, backoff: 'fixed', stopSignal: 'SIGTERM', killTimeoutS: 10,
  dependsOn: [], autostart: false, logMaxMb: 10, logKeep: 3, logWriter: false, health: [], maxMemoryMb: undefined, maxCpuPercent: undefined,
  cpuWindowS: 60, readyAfterS: 3, restartDependents: true, noRestartExitCodes: [78], successExitCodes: [], survivesRestartOf: [],
};
const settings = { failedRetryS: 3600 };
const running = (over: Partial<ProcessRecord> = {}): ProcessRecord => ({
  ...emptyRecord(), status: 'running', epoch: 1,
  run: { id: '1.1', identity: { pid: 10, startTime: '1', bootId: 'b' }, startedAt: T0 - 5_000 }, ...over,
});
const exited = (ranMs: number, code: number | null, signal: string | null = null, restartedAt: number | null = null): Observation => ({
  kind: 'exited', restartedAt, exit: { runId: '1.1', startedAt: T0 - ranMs, endedAt: T0, code, signal },
});

interface Case {
  name: string;
  def?: Partial<ProcessDef>;
  record: ProcessRecord;
  obs: Observation;
  now?: number;
  next: string;
  decision: unknown;
  alerts: string[];
  restarts?: number;
}

const cases: Case[] = [
  { name: 'restarts a premature death at once when it is the first restart', record: running(), obs: exited(5_000, 1), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'], restarts: 1 },
  { name: 'treats any exit as premature when duration_min is 0', record: running(), obs: exited(500_000, 0), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'leaves a normal completion alone (exit 0 after 80% of duration_min)', def: { durationMin: 10 }, record: running(), obs: exited(8 * 60_000, 0), next: 'completed', decision: { action: 'none' }, alerts: [] },
  { name: 'counts exit 0 before 80% of duration_min as premature', def: { durationMin: 10 }, record: running(), obs: exited(7 * 60_000, 0), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'handles a fractional duration_min', def: { durationMin: 0.05 }, record: running(), obs: exited(2_400, 0), next: 'completed', decision: { action: 'none' }, alerts: [] },
  { name: 'counts a non-zero exit after the full duration as premature', def: { durationMin: 1 }, record: running(), obs: exited(70_000, 2), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'waits out restart_cooldown for the second restart', record: running({ restarts: 1, lastRestartAt: T0 - 10_000 }), obs: exited(10_000, 1), next: 'crashed', decision: { action: 'restart', delayMs: 20_000 }, alerts: ['crashed'], restarts: 2 },
  { name: 'restarts at once when the cooldown has already passed', record: running({ restarts: 1, lastRestartAt: T0 - 40_000 }), obs: exited(40_000, 1), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'doubles the wait with exponential backoff', def: { backoff: 'exponential' }, record: running({ restarts: 2, lastRestartAt: T0 - 1_000 }), obs: exited(1_000, 1), next: 'crashed', decision: { action: 'restart', delayMs: 59_000 }, alerts: ['crashed'] },
  { name: 'caps exponential backoff at 16 x restart_cooldown', def: { backoff: 'exponential', maxRestarts: 50 }, record: running({ restarts: 10, lastRestartAt: T0 }), obs: exited(1_000, 1), next: 'crashed', decision: { action: 'restart', delayMs: 480_000 }, alerts: ['crashed'] },
  { name: 'gives up when the budget is spent', record: running({ restarts: 3, lastRestartAt: T0 - 100_000 }), obs: exited(5_000, 1), next: 'failed', decision: { action: 'none' }, alerts: ['failed'] },
  { name: 'resets the budget after a run that lasted min_uptime', record: running({ restarts: 3, lastRestartAt: T0 - 100_000 }), obs: exited(61_000, 1), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'], restarts: 1 },
  { name: 'never restarts with max_restarts 0', def: { maxRestarts: 0 }, record: running(), obs: exited(100_000, 1), next: 'failed', decision: { action: 'none' }, alerts: ['failed'] },
  { name: 'does not restart with auto_restart off, but alerts', def: { autoRestart: false }, record: running(), obs: exited(5_000, 1), next: 'crashed', decision: { action: 'none' }, alerts: ['crashed'] },
  { name: 'neither restarts nor alerts a process the user stopped', record: running({ status: 'stopping' }), obs: exited(5_000, null, 'SIGTERM'), next: 'stopped', decision: { action: 'none' }, alerts: [] },
  { name: 'records a restart the armed runner already made', record: running(), obs: exited(5_000, null, 'SIGKILL', T0 + 3), next: 'running', decision: { action: 'none' }, alerts: ['crashed'], restarts: 1 },
  { name: 'recovers a process that vanished with its runner', record: running(), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'crashed', decision: { action: 'spawn', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'leaves a live process alone', record: running(), obs: { kind: 'checked', processAlive: true, runnerAlive: true }, next: 'running', decision: { action: 'none' }, alerts: [] },
  { name: 'leaves a process whose runner is deciding alone', record: running(), obs: { kind: 'checked', processAlive: false, runnerAlive: true }, next: 'running', decision: { action: 'none' }, alerts: [] },
  { name: 'adopts a live process whose runner alone died, without an alert (the process did not fail)', record: running(), obs: { kind: 'checked', processAlive: true, runnerAlive: false }, next: 'running', decision: { action: 'adopt' }, alerts: [], restarts: 0 },
  { name: 'adopts an unhealthy one, which stays unhealthy', record: running({ status: 'unhealthy' }), obs: { kind: 'checked', processAlive: true, runnerAlive: false }, next: 'unhealthy', decision: { action: 'adopt' }, alerts: [] },
  { name: 'still raises what is due of an adopted run (its overrun)', def: { durationMin: 1 }, record: running({ run: { id: '1.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 - 91_000 } }), obs: { kind: 'checked', processAlive: true, runnerAlive: false }, next: 'running', decision: { action: 'adopt' }, alerts: ['overrun'] },
  { name: 'does not adopt a run that is being stopped', record: running({ status: 'stopping' }), obs: { kind: 'checked', processAlive: true, runnerAlive: false }, next: 'stopping', decision: { action: 'none' }, alerts: [] },
  { name: 'raises an overrun past 1.5 x duration_min, without killing', def: { durationMin: 1 }, record: running({ run: { id: '1.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 - 91_000 } }), obs: { kind: 'checked', processAlive: true, runnerAlive: true }, next: 'running', decision: { action: 'none' }, alerts: ['overrun'] },
  { name: 'does not raise a second overrun for the same run', def: { durationMin: 1 }, record: running({ overrunAlerted: '1.1', run: { id: '1.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 - 91_000 } }), obs: { kind: 'checked', processAlive: true, runnerAlive: true }, next: 'running', decision: { action: 'none' }, alerts: [] },
  { name: 'carries out a pending restart whose runner died', record: running({ status: 'crashed', nextRestartAt: T0 + 5_000 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'crashed', decision: { action: 'spawn', delayMs: 5_000 }, alerts: [] },
  { name: 'retries a failed process after failed_retry', record: running({ status: 'failed', failedAt: T0 - 3_600_000 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'running', decision: { action: 'spawn', delayMs: 0 }, alerts: [] },
  { name: 'does not retry a failed process before its first retry delay (1 min)', record: running({ status: 'failed', failedAt: T0 - 59_000 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'failed', decision: { action: 'none' }, alerts: [] },
  { name: 'retries a failed process 1 min after it gave up', record: running({ status: 'failed', failedAt: T0 - 60_000 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'running', decision: { action: 'spawn', delayMs: 0 }, alerts: [] },
  { name: 'waits twice as long after each retry that failed too (4 min before the third)', record: running({ status: 'failed', failedAt: T0 - 200_000, lastRetryAt: T0 - 200_000, failedRetries: 2 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'failed', decision: { action: 'none' }, alerts: [] },
  { name: 'caps the retry delay at failed_retry', record: running({ status: 'failed', failedAt: T0 - 3_600_000, lastRetryAt: T0 - 3_600_000, failedRetries: 12 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false }, next: 'running', decision: { action: 'spawn', delayMs: 0 }, alerts: [] },
  { name: 'resets the budget of a retried process once it has run min_uptime', record: running({ recovering: true, restarts: 3, run: { id: '2.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 - 61_000 } }), obs: { kind: 'checked', processAlive: true, runnerAlive: true }, next: 'running', decision: { action: 'none' }, alerts: [], restarts: 0 },
  { name: 'raises recovered once a retried process that had failed is ready', record: running({ recovering: true, restarts: 3, outage: { since: T0 - 70_000, run: '1.1', kinds: ['failed'] }, run: { id: '2.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 - 4_000 } }), obs: { kind: 'checked', processAlive: true, runnerAlive: true }, next: 'running', decision: { action: 'none' }, alerts: ['recovered'] },
  { name: 'a manual start resets the budget of a failed process', record: running({ status: 'failed', restarts: 3, failedAt: T0 }), obs: { kind: 'start-requested', by: 'user' }, next: 'running', decision: { action: 'spawn', delayMs: 0 }, alerts: [], restarts: 0 },
  { name: 'a stop request on a running process moves it to stopping', record: running(), obs: { kind: 'stop-requested' }, next: 'stopping', decision: { action: 'stop' }, alerts: [] },
  { name: 'fails at once, without restarting, a command that was not found (127)', record: running(), obs: { kind: 'exited', restartedAt: null, exit: { runId: '1.1', startedAt: T0 - 5, endedAt: T0, code: 127, signal: null } }, next: 'failed', decision: { action: 'none' }, alerts: ['failed'], restarts: 0 },
  { name: 'fails at once a command that cannot be executed (126)', record: running(), obs: { kind: 'exited', restartedAt: null, exit: { runId: '1.1', startedAt: T0 - 5, endedAt: T0, code: 126, signal: null } }, next: 'failed', decision: { action: 'none' }, alerts: ['failed'] },
  { name: 'does not restart an exit code listed in no_restart_exit_codes (EX_CONFIG 78 by default)', record: running(), obs: exited(5_000, 78), next: 'failed', decision: { action: 'none' }, alerts: ['failed'] },
  { name: 'restarts an exit code the list does not name', def: { noRestartExitCodes: [3] }, record: running(), obs: exited(5_000, 78), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'completes, whatever the run length, on an exit code in success_exit_codes (supervisord\'s exitcodes)', def: { successExitCodes: [0, 3] }, record: running(), obs: exited(200, 3), next: 'completed', decision: { action: 'none' }, alerts: [] },
  { name: 'restarts an exit code success_exit_codes does not name', def: { successExitCodes: [0] }, record: running(), obs: exited(200, 1), next: 'crashed', decision: { action: 'restart', delayMs: 0 }, alerts: ['crashed'] },
  { name: 'a stop request on a crashed process cancels the pending restart', record: running({ status: 'crashed', nextRestartAt: T0 + 1 }), obs: { kind: 'stop-requested' }, next: 'stopped', decision: { action: 'stop' }, alerts: [] },
];

describe('decide()', () => {
  it.each(cases)('$name', (c) => {
    const out = decide({ ...def, ...c.def }, settings, c.record, c.obs, c.now ?? T0);
    expect(out.next).toBe(c.next);
    expect(out.record.status).toBe(c.next);
    expect(out.decision).toEqual(c.decision);
    expect(out.alerts.map((a) => a.kind)).toEqual(c.alerts);
    if (c.restarts !== undefined) expect(out.record.restarts).toBe(c.restarts);
  });

  describe('outage and recovery', () => {
    const up = (outage: ProcessRecord['outage'], startedAt: number, over: Partial<ProcessRecord> = {}) => running({ outage, run: { id: '1.2', identity: { pid: 11, startTime: '2', bootId: 'b' }, startedAt }, ...over });
    const look: Observation = { kind: 'checked', processAlive: true, runnerAlive: true };

    it('a crash opens an outage from the exit, naming the run that failed; a repeat widens it, keeping since', () => {
      const out = decide(def, settings, running(), exited(5_000, 1, null, T0 + 4), T0);
      expect(out.record.outage).toEqual({ since: T0, run: '1.1', kinds: ['crashed'] });
      const again = decide(def, settings, { ...out.record, run: { id: '1.1', identity: { pid: 10, startTime: '1', bootId: 'b' }, startedAt: T0 } }, exited(60_000, 1), T0 + 70_000);
      expect(again.record.outage!.since).toBe(T0);
    });

    it('a later run that has run ready_after closes it with one recovered alert: down until the new run started', () => {
      const out = decide(def, settings, up({ since: T0 - 10_000, run: '1.1', kinds: ['crashed'] }, T0 - 9_996), look, T0);
      expect(decide(def, settings, up({ since: T0 - 10_000, run: '1.1', kinds: ['crashed'] }, T0 - 9_960), look, T0).alerts[0]!.message).toBe('back 40 ms after a crash: running for 10.0 s');
      expect(out.alerts.map((a) => [a.kind, a.severity])).toEqual([['recovered', 'info']]);
      expect(out.alerts[0]!.message).toBe('back within 10 ms of a crash: running for 10.0 s');
      expect(out.alerts[0]!.evidence).toMatchObject({ down_ms: 4, closes: ['crashed'], since: new Date(T0 - 10_000).toISOString() });
      expect(out.record.outage).toBeNull();
      expect(decide(def, settings, out.record, look, T0 + 1000).alerts).toEqual([]);
    });

    it('not before ready_after, not for the run that failed, not while it is not alive', () => {
      expect(decide(def, settings, up({ since: T0 - 1_000, run: '1.1', kinds: ['crashed'] }, T0 - 1_000), look, T0).alerts).toEqual([]);
      expect(decide(def, settings, up({ since: T0 - 10_000, run: '1.2', kinds: ['unhealthy'] }, T0 - 20_000), look, T0).alerts).toEqual([]);
      expect(decide(def, settings, up({ since: T0 - 10_000, run: '1.1', kinds: ['crashed'] }, T0 - 9_000), { ...look, processAlive: false, runnerAlive: true }, T0).alerts.filter((a) => a.kind === 'recovered')).toEqual([]);
    });

    it('with probes: when they pass for the new run, down until then', () => {
      const probed = { ...def, health: [{ type: 'tcp', host: '127.0.0.1', port: 1, intervalS: 1, timeoutS: 1, failureThreshold: 1, graceS: 0 }] } as unknown as ProcessDef;
      const rec = up({ since: T0 - 10_000, run: '1.1', kinds: ['unhealthy'] }, T0 - 9_000);
      expect(decide(probed, settings, rec, look, T0).alerts).toEqual([]);
      const out = decide(probed, settings, { ...rec, healthyRun: '1.2' }, look, T0);
      expect(out.alerts.map((a) => a.message)).toEqual(['back 10 s after failing its probes: its probes pass']);
    });

    it('a run that came back and was ready, then failed: the recovery nobody saw, then a new outage from this failure', () => {
      const rec = up({ since: T0 - 60_000, run: '1.1', kinds: ['crashed'] }, T0 - 59_950);
      const out = decide(def, settings, rec, { kind: 'exited', restartedAt: T0 + 5, exit: { runId: '1.2', startedAt: T0 - 59_950, endedAt: T0, code: 1, signal: null } }, T0);
      expect(out.alerts.map((a) => a.kind)).toEqual(['recovered', 'crashed']);
      expect(out.alerts[0]!.message).toBe('back 50 ms after a crash: ran 1 min 0 s before it failed again');
      expect(out.record.outage).toEqual({ since: T0, run: '1.2', kinds: ['crashed'] });
      // Not ready before it failed (under ready_after): one outage still, from the first failure.
      const early = decide(def, settings, up({ since: T0 - 2_000, run: '1.1', kinds: ['crashed'] }, T0 - 1_990), { kind: 'exited', restartedAt: null, exit: { runId: '1.2', startedAt: T0 - 1_990, endedAt: T0, code: 1, signal: null } }, T0);
      expect(early.alerts.map((a) => a.kind)).toEqual(['crashed']);
      expect(early.record.outage!.since).toBe(T0 - 2_000);
    });

    it('a stop ends it without a word', () => {
      const out = decide(def, settings, running({ status: 'crashed', nextRestartAt: T0 + 1, outage: { since: T0 - 1, run: '1.1', kinds: ['crashed'] } }), { kind: 'stop-requested' }, T0);
      expect(out.record.outage).toBeNull();
      expect(out.alerts).toEqual([]);
    });
  });

  it('words a definition error as one critical alert naming the command', () => {
    const out = decide({ ...def, command: '/x/y --serve' }, settings, running(), { kind: 'exited', restartedAt: null, exit: { runId: '1.1', startedAt: T0 - 5, endedAt: T0, code: 127, signal: null } }, T0);
    expect(out.alerts).toEqual([{ kind: 'failed', severity: 'critical', message: 'command not found: /x/y --serve (exit 127); fix its command, then start it; not restarted', evidence: { code: 127, signal: null, ran_s: 0, restarts: 0, action: 'not-restarted' } }]);
    expect(out.record.reason).toBe('command not found: /x/y --serve (exit 127); fix its command, then start it; not restarted');
    const listed = decide(def, settings, running(), exited(5_000, 78), T0);
    expect(listed.record.reason).toBe('exited with code 78 after 5.0 s, one of its no_restart_exit_codes; not restarted');
  });

  it('words the crash alert with its evidence', () => {
    const out = decide(def, settings, running({ restarts: 1, lastRestartAt: T0 - 10_000 }), exited(3_200, null, 'SIGKILL'), T0);
    expect(out.alerts[0]!.message).toBe('killed by SIGKILL after 3.2 s; restarting in 20 s (restart_cooldown) (restart 2 of 3)');
    expect(out.alerts[0]!.evidence).toEqual({ code: null, signal: 'SIGKILL', ran_s: 3.2, restarts: 2, action: 'restart-scheduled' });
  });

  it('is pure: the same inputs give the same answer twice', () => {
    const rec = running();
    const a = decide(def, settings, rec, exited(5_000, 1), T0);
    const b = decide(def, settings, rec, exited(5_000, 1), T0);
    expect(a).toEqual(b);
    expect(rec.status).toBe('running');
  });
});

describe('armFor()', () => {
  it('arms an immediate restart for a fresh process', () => {
    expect(armFor(def, running())).toEqual({ normalAfterMs: 0, stableAfterMs: 60_000, unstableOk: true, notBefore: 0, finalStatuses: [78, 126, 127] });
  });
  it('arms the same cooldown decide() would apply', () => {
    const rec = running({ restarts: 1, lastRestartAt: T0 });
    expect(armFor(def, rec)).toMatchObject({ unstableOk: true, notBefore: T0 + 30_000 });
  });
  it('allows only a stable-run restart once the budget is spent', () => {
    expect(armFor(def, running({ restarts: 3 }))).toMatchObject({ unstableOk: false });
    // On probation (never known-good, a known-good one to go back to): one restart alone, then ask.
    const probation = { generation: 2, knownGood: false, healthy: false, fallback: 1 };
    expect(armFor(def, running({ restarts: 0 }), probation)).toMatchObject({ unstableOk: true });
    expect(armFor(def, running({ restarts: 1 }), probation)).toMatchObject({ unstableOk: false });
    expect(armFor(def, running({ restarts: 1 }), { ...probation, knownGood: true })).toMatchObject({ unstableOk: true });
  });
  it('does not arm with auto_restart off or max_restarts 0', () => {
    expect(armFor({ ...def, autoRestart: false }, running())).toBeNull();
    expect(armFor({ ...def, maxRestarts: 0 }, running())).toBeNull();
  });
  it('carries the completion threshold for a timed job', () => {
    expect(armFor({ ...def, durationMin: 10 }, running())?.normalAfterMs).toBe(480_000);
  });
});

describe('reconcileRun()', () => {
  it('crashed -> running when the runner has started a newer run', () => {
    const rec = running({ status: 'crashed', nextRestartAt: T0 });
    const newer = { id: '1.2', identity: { pid: 11, startTime: '2', bootId: 'b' }, startedAt: T0 };
    expect(reconcileRun(rec, newer, T0)).toMatchObject({ status: 'running', run: newer, nextRestartAt: null });
  });
  it('counts the next cooldown from when the delayed restart really started (late-restart regression)', () => {
    const rec = running({ status: 'crashed', nextRestartAt: T0, lastRestartAt: T0 });
    const late = { id: '1.2', identity: { pid: 11, startTime: '2', bootId: 'b' }, startedAt: T0 + 200 };
    const now = reconcileRun(rec, late, T0 + 300);
    expect(now.lastRestartAt).toBe(T0 + 200);
    const next = decide({ ...def, restartCooldownS: 1.5 }, settings, { ...now, restarts: 1 }, exited(100, 1), T0 + 300);
    expect(next.decision).toEqual({ action: 'restart', delayMs: 1_400 });
  });
  it('ignores an older run', () => {
    const rec = running({ run: { id: '2.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 } });
    expect(reconcileRun(rec, { id: '1.9', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 }, T0)).toBe(rec);
  });
});

describe('decide() on probes and resources', () => {
  const http = { type: 'http' as const, url: 'http://127.0.0.1:1/h', expectStatus: null, intervalS: 1, timeoutS: 1, failureThreshold: 3, graceS: 2 };
  const withHealth = { ...def, health: [http], maxMemoryMb: 100, maxCpuPercent: 50, cpuWindowS: 10 };
  const fail = { ok: false, detail: 'HTTP 503, expected 2xx', ms: 1 };
  const ok = { ok: true, detail: 'HTTP 200', ms: 1 };
  const probed = (r: typeof ok | null, usage: { rssMb: number; cpuTicks: number } | null = null): Observation => ({
    kind: 'probed', results: [r], usage: usage ? { ...usage, ticksPerSecond: 100 } : null,
  });

  it('running -> unhealthy on a failed probe, below the threshold: no action yet', () => {
    const out = decide(withHealth, settings, running(), probed(fail), T0);
    expect(out).toMatchObject({ next: 'unhealthy', decision: { action: 'none' }, alerts: [] });
    expect(out.record.probes[0]).toMatchObject({ failures: 1, lastOk: false });
  });

  it('does not count failures inside the grace period', () => {
    const fresh = running({ run: { id: '1.1', identity: { pid: 1, startTime: '1', bootId: '' }, startedAt: T0 - 1_000 } });
    expect(decide(withHealth, settings, fresh, probed(fail), T0).record.probes[0]?.failures).toBe(0);
  });

  it('ends the run at failure_threshold, with an unhealthy alert naming the probe', () => {
    const rec = running({ status: 'unhealthy', probes: [{ failures: 2, lastAt: T0 - 1000, lastOk: false, detail: 'x' }] });
    const out = decide(withHealth, settings, rec, probed(fail), T0);
    expect(out.decision).toEqual({ action: 'kill', reason: 'probe http http://127.0.0.1:1/h failed 3 times in a row (HTTP 503, expected 2xx)' });
    expect(out.alerts.map((a) => a.kind)).toEqual(['unhealthy']);
    expect(out.record.killReason).toBe(out.decision.action === 'kill' ? out.decision.reason : '');
  });

  it('unhealthy -> running when every probe passes again', () => {
    const rec = running({ status: 'unhealthy', probes: [{ failures: 2, lastAt: T0 - 1000, lastOk: false, detail: 'x' }] });
    expect(decide(withHealth, settings, rec, probed(ok), T0)).toMatchObject({ next: 'running', decision: { action: 'none' } });
  });

  it('ends a run whose tree is over max_memory_mb', () => {
    const out = decide(withHealth, settings, running(), probed(null, { rssMb: 150, cpuTicks: 0 }), T0);
    expect(out.decision).toEqual({ action: 'kill', reason: 'memory 150 MB is over max_memory_mb 100 (+50%)' });
    expect(out.alerts[0]).toMatchObject({ kind: 'resource', evidence: { memory_mb: 150 } });
  });

  it('ends a run over max_cpu_percent only once it has lasted cpu_window', () => {
    const first = decide(withHealth, settings, running({ cpu: { ticks: 0, at: T0 - 5_000, overSince: null, percent: null } }), probed(null, { rssMb: 1, cpuTicks: 400 }), T0);
    expect(first.decision).toEqual({ action: 'none' });
    expect(first.record.cpu).toMatchObject({ percent: 80, overSince: T0 - 5_000 });
    const later = decide(withHealth, settings, first.record, probed(null, { rssMb: 1, cpuTicks: 800 }), T0 + 5_000);
    expect(later.decision).toMatchObject({ action: 'kill' });
    expect(later.alerts[0]!.message).toMatch(/^CPU 80% has been over max_cpu_percent 50 for 10 s; restarting it/);
  });

  it('restarts a run pguard ended without a second crash alert, counting it against the budget', () => {
    const out = decide(withHealth, settings, running({ killReason: 'memory 150 MB is over max_memory_mb 100' }), exited(5_000, null, 'SIGTERM', T0 + 2), T0);
    expect(out).toMatchObject({ next: 'running', alerts: [], record: { restarts: 1, killReason: null, reason: 'ended by pguard (memory 150 MB is over max_memory_mb 100); restarted at once' } });
  });
});

describe('reconcileRun() and killReason', () => {
  it('keeps the kill reason until the exit it explains is handled (lost-kill-reason regression)', () => {
    const rec = running({ killReason: 'memory 150 MB is over max_memory_mb 100' });
    const newer = { id: '1.2', identity: { pid: 11, startTime: '2', bootId: 'b' }, startedAt: T0 };
    const reconciled = reconcileRun(rec, newer, T0);
    expect(reconciled.killReason).toBe('memory 150 MB is over max_memory_mb 100');
    expect(decide(def, settings, reconciled, exited(5_000, null, 'SIGTERM', T0), T0 + 1).alerts).toEqual([]);
  });
});
