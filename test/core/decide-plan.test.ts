// The plan decide() answers with: its effects, in the order apply() carries them out. The rules
// every plan shares (the arm, known-good, rollback, dependents) are tested here, table by table.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import type { Lineage } from '../../src/core/lineage.js';
import type { Effect, Observation, Plan } from '../../src/core/plan.js';
import { emptyRecord, type ProcessRecord } from '../../src/core/record.js';
import { describeReason, type Reason } from '../../src/core/reasons.js';
import type { ProcessDef } from '../../src/core/schema.js';

const T0 = 1_800_000_000_000;
const def: ProcessDef = {
  name: 'bot', command: 'x', cwd: undefined, env: {}, envFile: undefined, durationMin: 0, autoRestart: true,
  maxRestarts: 3, restartCooldownS: 30, minUptimeS: 60, backoff: 'fixed', stopSignal: 'SIGTERM', killTimeoutS: 10,
  dependsOn: [], autostart: false, logMaxMb: 10, logKeep: 3, logWriter: false, health: [], maxMemoryMb: undefined, maxCpuPercent: undefined,
  cpuWindowS: 60, readyAfterS: 3, restartDependents: true, noRestartExitCodes: [78], successExitCodes: [], survivesRestartOf: [],
};
const http = { type: 'http' as const, url: 'http://127.0.0.1:1/h', expectStatus: null, intervalS: 1, timeoutS: 1, failureThreshold: 1, graceS: 0 };
const settings = { failedRetryS: 3600 };
const running = (over: Partial<ProcessRecord> = {}): ProcessRecord => ({
  ...emptyRecord(), status: 'running', epoch: 1, generation: 2,
  run: { id: '1.1', identity: { pid: 10, startTime: '1', bootId: 'b' }, startedAt: T0 - 5_000 }, ...over,
});
const fresh: Lineage = { generation: 2, knownGood: false, healthy: false, fallback: 1 };
const exited = (ranMs: number, lineage: Lineage | null = fresh, restartedAt: number | null = null): Observation => ({
  kind: 'exited', restartedAt, lineage, exit: { runId: '1.1', startedAt: T0 - ranMs, endedAt: T0, code: 1, signal: null },
});
const kinds = (plan: Plan) => plan.effects.map((e) => (e.kind === 'ledger' ? `ledger:${e.entry.event}` : e.kind));
const find = <K extends Effect['kind']>(plan: Plan, kind: K) => plan.effects.find((e): e is Extract<Effect, { kind: K }> => e.kind === kind);

interface Case {
  name: string;
  def?: Partial<ProcessDef>;
  record: ProcessRecord;
  obs: Observation;
  effects: string[];
}

const cases: Case[] = [
  { name: 'an immediate restart leads with the new arm, then the exit\'s account, then tells the dependents', record: running(), obs: exited(5_000), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
  { name: 'a run that lasted min_uptime makes its generation known-good at its exit', record: running(), obs: exited(61_000), effects: ['arm', 'ledger:exit', 'ledger:restart', 'mark-generation', 'ledger:known-good', 'restart-dependents'] },
  { name: 'a known-good generation is not marked again', record: running(), obs: exited(61_000, { ...fresh, knownGood: true }), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
  { name: 'a run pguard ended is no proof of a good generation', record: running({ killReason: 'memory 150 MB is over max_memory_mb 100' }), obs: exited(61_000), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
  { name: 'a new generation that gives up is rolled back', record: running({ restarts: 3, lastRestartAt: T0 - 100_000 }), obs: exited(5_000), effects: ['arm', 'ledger:exit', 'ledger:give-up', 'rollback'] },
  { name: 'a known-good generation that gives up is not rolled back', record: running({ restarts: 3, lastRestartAt: T0 - 100_000 }), obs: exited(5_000, { ...fresh, knownGood: true }), effects: ['arm', 'ledger:exit', 'ledger:give-up'] },
  { name: 'nothing to roll back to: no rollback', record: running({ restarts: 3, lastRestartAt: T0 - 100_000 }), obs: exited(5_000, { ...fresh, fallback: null }), effects: ['arm', 'ledger:exit', 'ledger:give-up'] },
  { name: 'no dependents told when restart_dependents is off', def: { restartDependents: false }, record: running(), obs: exited(5_000), effects: ['arm', 'ledger:exit', 'ledger:restart'] },
  { name: 'a restart the armed runner already made is recorded and told to the dependents', record: running(), obs: exited(5_000, fresh, T0 + 2), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
  { name: 'a restart after the cooldown re-arms for the pending run', record: running({ restarts: 1, lastRestartAt: T0 - 10_000 }), obs: exited(10_000, { ...fresh, fallback: null }), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
  { name: 'a generation on probation that dies early a second time is rolled back at once, its budget unspent', record: running({ restarts: 1, lastRestartAt: T0 - 10_000 }), obs: exited(5_000), effects: ['arm', 'ledger:exit', 'ledger:give-up', 'rollback'] },
  { name: 'a known-good generation that dies early a second time waits out its cooldown', record: running({ restarts: 1, lastRestartAt: T0 - 10_000 }), obs: exited(5_000, { ...fresh, knownGood: true }), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
  { name: 'a stop puts the marker and takes the arm before any signal', record: running(), obs: { kind: 'stop-requested' }, effects: ['stop-marker', 'arm', 'end-run'] },
  { name: 'a stop of a process that is not armed signals without touching the arm', def: { autoRestart: false }, record: running(), obs: { kind: 'stop-requested' }, effects: ['stop-marker', 'end-run'] },
  { name: 'a start arms, then spawns a runner; dependents are not told of a manual start', record: { ...emptyRecord(), status: 'stopped' }, obs: { kind: 'start-requested', by: 'user' }, effects: ['arm', 'spawn-runner'] },
  { name: 'a live run with nothing due is an empty plan', record: running(), obs: { kind: 'checked', processAlive: true, runnerAlive: true, lineage: { ...fresh, knownGood: true } }, effects: [] },
  { name: 'a live run past min_uptime makes its generation known-good', record: running({ run: { id: '1.1', identity: { pid: 10, startTime: '1', bootId: 'b' }, startedAt: T0 - 61_000 } }), obs: { kind: 'checked', processAlive: true, runnerAlive: true, lineage: fresh }, effects: ['mark-generation', 'ledger:known-good'] },
  { name: 'a live run whose runner alone died: a runner that adopts it, armed first; nothing for the dependents', record: running(), obs: { kind: 'checked', processAlive: true, runnerAlive: false, lineage: { ...fresh, knownGood: true } }, effects: ['arm', 'spawn-runner'] },
  { name: 'a process gone with its runner: the exit, then a new runner, armed first', record: running(), obs: { kind: 'checked', processAlive: false, runnerAlive: false, lineage: fresh }, effects: ['ledger:exit', 'ledger:restart', 'arm', 'spawn-runner', 'restart-dependents'] },
  { name: 'a failed process retried: the restart is recorded before the spawn', record: running({ status: 'failed', failedAt: T0 - 3_600_000, restarts: 3 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false, lineage: fresh }, effects: ['ledger:restart', 'arm', 'spawn-runner', 'restart-dependents'] },
  { name: 'a pending restart whose runner died is carried out (its dependents were told when it was scheduled)', record: running({ status: 'crashed', nextRestartAt: T0 + 5_000, restarts: 1 }), obs: { kind: 'checked', processAlive: false, runnerAlive: false, lineage: fresh }, effects: ['arm', 'spawn-runner'] },
  { name: 'probes passing for the first time: healthy, and known-good once the run lasted min_uptime', def: { health: [http] }, record: running({ run: { id: '1.1', identity: { pid: 10, startTime: '1', bootId: 'b' }, startedAt: T0 - 61_000 } }), obs: { kind: 'probed', results: [{ ok: true, detail: 'HTTP 200', ms: 1 }], usage: null, lineage: fresh }, effects: ['ledger:healthy', 'mark-generation', 'mark-generation', 'ledger:known-good'] },
  { name: 'a probe that fails at its threshold ends the run; a generation never healthy is rolled back', def: { health: [http] }, record: running(), obs: { kind: 'probed', results: [{ ok: false, detail: 'HTTP 503', ms: 1 }], usage: null, lineage: fresh }, effects: ['ledger:probe-failure', 'end-run', 'rollback'] },
  { name: 'a probe failure of a generation that was healthy once is no reason to roll back', def: { health: [http] }, record: running(), obs: { kind: 'probed', results: [{ ok: false, detail: 'HTTP 503', ms: 1 }], usage: null, lineage: { ...fresh, healthy: true } }, effects: ['ledger:probe-failure', 'end-run'] },
  { name: 'turning unhealthy below the threshold changes no arm', def: { health: [{ ...http, failureThreshold: 3 }] }, record: running(), obs: { kind: 'probed', results: [{ ok: false, detail: 'HTTP 503', ms: 1 }], usage: null, lineage: fresh }, effects: ['ledger:probe-failure'] },
  { name: 'the end of a stop is recorded once it was running', record: running({ status: 'stopping' }), obs: { kind: 'stop-finished', run: null, exit: null, wasRunning: true, signal: 'SIGTERM', sigkill: false }, effects: ['ledger:stop'] },
  { name: 'a run the user stopped after min_uptime makes its generation known-good (stopped-never-known-good regression)', record: running({ status: 'stopping' }), obs: { kind: 'stop-finished', run: running().run, exit: { runId: '1.1', startedAt: T0 - 61_000, endedAt: T0, code: null, signal: 'SIGTERM' }, wasRunning: true, signal: 'SIGTERM', sigkill: false, lineage: fresh }, effects: ['ledger:stop', 'mark-generation', 'ledger:known-good'] },
  { name: 'a run stopped before min_uptime proves nothing', record: running({ status: 'stopping' }), obs: { kind: 'stop-finished', run: running().run, exit: { runId: '1.1', startedAt: T0 - 5_000, endedAt: T0, code: null, signal: 'SIGTERM' }, wasRunning: true, signal: 'SIGTERM', sigkill: false, lineage: fresh }, effects: ['ledger:stop'] },
  { name: 'a run with probes that last passed makes its generation known-good at its exit', def: { health: [http] }, record: running({ probes: [{ failures: 0, lastAt: T0 - 1_000, lastOk: true, detail: 'HTTP 200' }] }), obs: exited(61_000), effects: ['arm', 'ledger:exit', 'ledger:restart', 'mark-generation', 'ledger:known-good', 'restart-dependents'] },
  { name: 'a run whose probes last failed does not', def: { health: [http] }, record: running({ probes: [{ failures: 1, lastAt: T0 - 1_000, lastOk: false, detail: 'HTTP 503' }] }), obs: exited(61_000), effects: ['arm', 'ledger:exit', 'ledger:restart', 'restart-dependents'] },
];

describe('decide() while a dependency is not ready', () => {
  const blockedExit = (ranMs: number, restartedAt: number | null = null): Observation => ({
    kind: 'exited', restartedAt, blockedBy: ['db'], exit: { runId: '1.1', startedAt: T0 - ranMs, endedAt: T0, code: 1, signal: null },
  });
  it('running -> waiting on a premature exit: not restarted, budget untouched, one alert naming the dependency', () => {
    const plan = decide(def, settings, running({ restarts: 2, lastRestartAt: T0 - 100_000 }), blockedExit(5_000), T0);
    expect(plan).toMatchObject({ next: 'waiting', decision: { action: 'none' }, record: { restarts: 2, heldFor: ['db'], reason: 'exited with code 1 after 5.0 s; waiting for db to be ready' } });
    expect(plan.alerts).toEqual([{ kind: 'waiting', severity: 'warning', message: 'exited with code 1 after 5.0 s; waiting for db, which is not ready: not restarted until then (its restart budget is untouched)', evidence: { restarts: 2, action: 'waiting' } }]);
    expect(kinds(plan)).toEqual(['arm', 'ledger:exit']);
    expect(find(plan, 'arm')).toEqual({ kind: 'arm', arm: null });
  });
  it('records a restart the runner made before the report without spending the budget, and disarms it', () => {
    const plan = decide(def, settings, running({ restarts: 1, lastRestartAt: T0 - 100_000 }), blockedExit(5_000, T0 + 2), T0);
    expect(plan).toMatchObject({ next: 'running', record: { restarts: 1, heldFor: ['db'] } });
    expect(find(plan, 'arm')).toEqual({ kind: 'arm', arm: null });
    expect(kinds(plan)).not.toContain('restart-dependents');
  });
  it('raises the alert once per episode', () => {
    expect(decide(def, settings, running({ heldFor: ['db'] }), blockedExit(5_000), T0).alerts).toEqual([]);
  });
  it('does not end a run whose probe fails while its dependency is not ready', () => {
    const plan = decide({ ...def, health: [http] }, settings, running(), { kind: 'probed', results: [{ ok: false, detail: 'HTTP 503', ms: 1 }], usage: null, blockedBy: ['db'] }, T0);
    expect(plan).toMatchObject({ next: 'unhealthy', decision: { action: 'none' }, record: { heldFor: ['db'], killReason: null } });
    expect(plan.alerts.map((a) => a.kind)).toEqual(['waiting']);
  });
  it('waiting -> running once its dependencies are ready, budget as it was', () => {
    const plan = decide(def, settings, running({ status: 'waiting', heldFor: ['db'], restarts: 2 }), { kind: 'checked', processAlive: false, runnerAlive: false, blockedBy: [] }, T0);
    expect(plan).toMatchObject({ next: 'running', decision: { action: 'spawn', delayMs: 0 }, record: { restarts: 2, heldFor: null, reason: 'db is ready again: started' } });
    expect(kinds(plan)).toEqual(['arm', 'spawn-runner']);
  });
  it('stays waiting while they are not, and says so once when what it waits for changes', () => {
    expect(kinds(decide(def, settings, running({ status: 'waiting', heldFor: ['db'] }), { kind: 'checked', processAlive: false, runnerAlive: false, blockedBy: ['db'] }, T0))).toEqual([]);
    const moved = decide(def, settings, running({ status: 'waiting', heldFor: ['a'] }), { kind: 'checked', processAlive: false, runnerAlive: false, blockedBy: ['b'] }, T0);
    expect(moved).toMatchObject({ next: 'waiting', record: { heldFor: ['b'] } });
    expect(moved.alerts.map((a) => a.message)).toEqual(['not started again after a; waiting for b, which is not ready: not restarted until then (its restart budget is untouched)']);
  });
  it('a stop pguard makes for a dependency ends in waiting, not stopped (held-is-not-stopped regression)', () => {
    const stop = decide(def, settings, running(), { kind: 'stop-requested', heldFor: ['db'] }, T0);
    expect(stop).toMatchObject({ next: 'stopping', record: { heldFor: ['db'], reason: 'stopped by pguard until db is ready again (restart_dependents)' } });
    const done = decide(def, settings, stop.record, { kind: 'stop-finished', run: null, exit: null, wasRunning: true, signal: 'SIGTERM', sigkill: false }, T0);
    expect(done.next).toBe('waiting');
    expect(decide(def, settings, running({ status: 'stopped' }), { kind: 'stop-requested', heldFor: ['db'] }, T0)).toMatchObject({ next: 'stopped', effects: [] });
  });
  it('a stop by the user ends a wait', () => {
    expect(decide(def, settings, running({ status: 'waiting', heldFor: ['db'] }), { kind: 'stop-requested' }, T0)).toMatchObject({ next: 'stopped', record: { heldFor: null } });
  });
});

describe('decide() plans', () => {
  it.each(cases)('$name', (c) => {
    const plan = decide({ ...def, ...c.def }, settings, c.record, c.obs, T0);
    expect(kinds(plan)).toEqual(c.effects);
  });

  it('arms a stop with nothing: the runner may not restart what the user stopped', () => {
    expect(find(decide(def, settings, running(), { kind: 'stop-requested' }, T0), 'arm')).toEqual({ kind: 'arm', arm: null });
  });

  it('rolls back with the give-up in words', () => {
    const plan = decide(def, settings, running({ restarts: 3, lastRestartAt: T0 - 100_000 }), exited(5_000), T0);
    expect(find(plan, 'rollback')).toEqual({ kind: 'rollback', reason: 'exited with code 1 after 5.0 s; gave up after 3 restarts (max_restarts 3)' });
  });

  it('records healthy once per run, however its probes flap (healthy-per-flap regression)', () => {
    const h = { ...def, health: [{ ...http, failureThreshold: 3 }] };
    const ok = { kind: 'probed' as const, results: [{ ok: true, detail: 'HTTP 200', ms: 1 }], usage: null };
    const bad = { kind: 'probed' as const, results: [{ ok: false, detail: 'HTTP 503', ms: 1 }], usage: null };
    const first = decide(h, settings, running(), ok, T0);
    expect(kinds(first)).toContain('ledger:healthy');
    const flapped = decide(h, settings, first.record, bad, T0 + 1_000);
    expect(kinds(decide(h, settings, flapped.record, ok, T0 + 2_000))).not.toContain('ledger:healthy');
  });

  it('names the generation it marks', () => {
    const plan = decide(def, settings, running(), exited(61_000), T0);
    expect(find(plan, 'mark-generation')).toEqual({ kind: 'mark-generation', generation: 2, what: 'known_good_at' });
    expect(plan.effects.find((e) => e.kind === 'ledger' && e.entry.event === 'known-good')).toEqual({ kind: 'ledger', entry: { event: 'known-good', process: 'bot', details: { generation: 2 } } });
  });

  it('stops with stopping -> stopped once the signals are done, keeping the exit', () => {
    const exit = { runId: '1.1', startedAt: T0 - 5_000, endedAt: T0, code: null, signal: 'SIGTERM' };
    const plan = decide(def, settings, running({ status: 'stopping' }), { kind: 'stop-finished', run: null, exit, wasRunning: true, signal: 'SIGTERM', sigkill: false }, T0);
    expect(plan.record).toMatchObject({ status: 'stopped', lastExit: exit });
  });

  it('starts a stale record (its runner gone unseen) through the vanished edge, not a faked origin', () => {
    const plan = decide(def, settings, running({ restarts: 2 }), { kind: 'start-requested', by: 'user' }, T0);
    expect(plan).toMatchObject({ next: 'running', record: { restarts: 0, reason: 'started by user' }, decision: { action: 'spawn', delayMs: 0 } });
  });

  it('keeps a late exit report of a run it no longer calls up, deciding nothing', () => {
    const plan = decide(def, settings, running({ status: 'completed' }), exited(5_000), T0);
    expect(plan).toMatchObject({ next: 'completed', decision: { action: 'none' }, alerts: [] });
    expect(plan.record.lastExit?.runId).toBe('1.1');
  });
});

describe('reasons, in words, from one function (garbled-join regression)', () => {
  it.each([
    [{ kind: 'started', by: 'user' }, 'started by user'],
    [{ kind: 'started', by: 'dependency', after: 'db' }, 'restarted after db restarted (restart_dependents)'],
    [{ kind: 'started', by: 'dependency' }, 'started as a dependency'],
    [{ kind: 'restarted', why: 'killed by SIGKILL after 11 s' }, 'killed by SIGKILL after 11 s; restarted at once'],
    [{ kind: 'restart-pending', why: 'exited with code 1 after 2.0 s', delayMs: 20_000 }, 'exited with code 1 after 2.0 s; restarting in 20 s (restart_cooldown)'],
    [{ kind: 'gave-up', why: 'exited with code 1 after 2.0 s', restarts: 1, max: 1 }, 'exited with code 1 after 2.0 s; gave up after 1 restart (max_restarts 1)'],
    [{ kind: 'waiting', deps: ['db', 'cache'] }, 'waiting for db and cache to be ready'],
    [{ kind: 'held', deps: ['db'] }, 'stopped by pguard until db is ready again (restart_dependents)'],
    [{ kind: 'probe-failing', probe: 'http http://127.0.0.1:1/h', detail: 'HTTP 503', failures: 1, threshold: 3 }, 'probe http http://127.0.0.1:1/h failing (HTTP 503): 1 of failure_threshold 3'],
    [{ kind: 'failed-retry', n: 2, waitedMs: 120_000 }, 'retry 2 after it had failed (waited 2 min 0 s)'],
  ] as const)('%j', (reason, text) => {
    expect(describeReason(reason as Reason)).toBe(text);
  });

  it('an unhealthy process says which probe fails', () => {
    const plan = decide({ ...def, health: [{ ...http, failureThreshold: 3 }] }, settings, running(), { kind: 'probed', results: [{ ok: false, detail: 'HTTP 503, expected 2xx', ms: 1 }], usage: null }, T0);
    expect(plan.record.reason).toBe('probe http http://127.0.0.1:1/h failing (HTTP 503, expected 2xx): 1 of failure_threshold 3');
  });

  it('a restart by restart_dependents says so, not "started by user"', () => {
    const plan = decide(def, settings, running({ status: 'waiting', heldFor: ['db'] }), { kind: 'start-requested', by: 'dependency', after: 'db' }, T0);
    expect(plan.record.reason).toBe('restarted after db restarted (restart_dependents)');
  });
});

describe('pguard ending a run never switches probes or limits off for another run (issue 20, defect 1)', () => {
  const limited = { ...def, maxMemoryMb: 100, killTimeoutS: 4 };
  const over = { kind: 'probed' as const, results: [], usage: { rssMb: 150, cpuTicks: 0, ticksPerSecond: 100 }, lineage: null };
  const ending = { killReason: 'memory 150 MB is over max_memory_mb 100 (+50%)', ending: { run: '1.1', at: T0 - 1_000, kind: 'resource' as const } };

  it('a user stop, and the start after it, leave nothing of the end pguard had begun', () => {
    const stopped = decide(limited, settings, running(ending), { kind: 'stop-requested' }, T0);
    expect(stopped.record).toMatchObject({ killReason: null, ending: null });
    const started = decide(limited, settings, { ...running(ending), status: 'stopped' }, { kind: 'start-requested', by: 'user' }, T0);
    expect(started.record).toMatchObject({ killReason: null, ending: null, probes: [] });
  });

  it('a record left ending an earlier run still has its limits checked on the current run', () => {
    const rec = running({ ...ending, run: { id: '2.1', identity: { pid: 11, startTime: '2', bootId: 'b' }, startedAt: T0 - 5_000 } });
    const plan = decide(limited, settings, rec, over, T0);
    expect(plan.decision).toEqual({ action: 'kill', reason: 'memory 150 MB is over max_memory_mb 100 (+50%)' });
    expect(plan.record.ending).toEqual({ run: '2.1', at: T0, kind: 'resource' });
  });

  it('waits for the run it is ending, and ends it again once kill_timeout and 10 s have passed', () => {
    expect(decide(limited, settings, running(ending), over, T0 + 12_000).decision).toEqual({ action: 'none' });
    const again = decide(limited, settings, running(ending), over, T0 + 14_000);
    expect(again.decision.action).toBe('kill');
    expect(kinds(again)).toEqual(['ledger:resource-breach', 'end-run']);
    expect(again.record.ending).toMatchObject({ run: '1.1', at: T0 + 14_000 });
  });

  it('an exit of the run being ended clears it; a late exit of an earlier run does not', () => {
    const done = decide(limited, settings, running(ending), exited(5_000, null), T0);
    expect(done.record).toMatchObject({ killReason: null, ending: null });
    const later = { ...ending, ending: { ...ending.ending, run: '1.2' } };
    const late = decide(limited, settings, running({ ...later, run: { id: '1.2', identity: { pid: 12, startTime: '3', bootId: 'b' }, startedAt: T0 - 1_000 } }), exited(5_000, null), T0);
    expect(late.record).toMatchObject({ killReason: later.killReason, ending: later.ending });
  });
});

describe('a live run whose runner alone died is adopted (issue 20, defect 7)', () => {
  const orphan = { kind: 'checked' as const, processAlive: true, runnerAlive: false, lineage: { ...fresh, knownGood: true } };

  it('a new runner for that run, which keeps its id; the reason names the dead runner; no ledger event of its own (apply writes `adopt`)', () => {
    const record = running({ runner: { pid: 77, startTime: '5', bootId: 'b' } });
    const plan = decide(def, settings, record, orphan, T0);
    expect(plan).toMatchObject({ next: 'running', decision: { action: 'adopt' }, alerts: [] });
    expect(find(plan, 'spawn-runner')).toEqual({ kind: 'spawn-runner', delayMs: 0, adopt: record.run });
    expect(plan.record).toMatchObject({ status: 'running', run: record.run, restarts: 0, totalRestarts: 0 });
    expect(plan.record.reason).toBe('its runner (pid 77) died while it ran: adopted by a new runner, which recovers its next exit as usual');
  });

  it('is armed as any new runner is, and not while a dependency is not ready', () => {
    expect(find(decide(def, settings, running(), orphan, T0), 'arm')?.arm).not.toBeNull();
    expect(find(decide(def, settings, running(), { ...orphan, blockedBy: ['db'] }, T0), 'arm')).toEqual({ kind: 'arm', arm: null });
  });

  it('the adopted run\'s exit is then an exit as any other: premature, vanished, restarted at once', () => {
    const exit = { runId: '1.1', startedAt: T0 - 5_000, endedAt: T0, code: null, signal: null, vanished: true, adopted: true };
    const plan = decide(def, settings, running({ epoch: 2 }), { kind: 'exited', exit, restartedAt: T0 + 5, lineage: fresh }, T0 + 100);
    expect(plan).toMatchObject({ next: 'running', record: { restarts: 1, lastExit: exit } });
    expect(plan.record.reason).toMatch(/^ended after 5\.0 s, how unknown \(its runner had died; the one that adopted it is not its parent, so it sees no exit status\); restarted at once$/);
    expect(plan.effects.find((e) => e.kind === 'ledger' && e.entry.event === 'exit')).toMatchObject({ entry: { details: { run: '1.1', vanished: true, adopted: true, code: null } } });
  });
});

describe('a generation on probation found dead with its runner is rolled back too (issue 20, defect 4)', () => {
  it('its second premature death, seen by a look, rolls it back', () => {
    const plan = decide(def, settings, running({ restarts: 1, lastRestartAt: T0 - 10_000 }), { kind: 'checked', processAlive: false, runnerAlive: false, lineage: fresh }, T0);
    expect(plan.next).toBe('failed');
    expect(kinds(plan)).toContain('rollback');
  });
});
