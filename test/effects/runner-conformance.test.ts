// Conformance: the real shell runner against decide(). For each row, the arm that pguard writes
// (armFor, encoded by runner-protocol.ts) is put beside a real runner whose clocks (the wall
// clock `date` prints, and the kernel's clock it reads from /proc/uptime) are files the test
// controls; the command exits with the row's status after the row's run length. The runner
// restarts alone exactly when decide() says "restart at once", and otherwise asks pguard. The
// runner times an exit on the kernel's clock (10 ms steps), so run lengths are whole ticks.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { armFor } from '../../src/core/arm.js';
import { decide } from '../../src/core/decide.js';
import { decodeWaitStatus } from '../../src/core/exit.js';
import { emptyRecord, type ProcessRecord } from '../../src/core/record.js';
import type { ProcessDef } from '../../src/core/schema.js';
import { readIdentity } from '../../src/effects/identity.js';
import { decodeRuns, encodeArm, encodeRunnerEnv } from '../../src/effects/runner-protocol.js';
import { RUNNER_PATH } from '../../src/effects/spawn.js';
import { StateStore } from '../../src/effects/state-store.js';
import { waitFor } from '../helpers/wait-for.js';

const T = 1_800_000_000_000; // the exit time of every row (ms)
const U0 = 5_000_000; // the kernel's clock when each runner starts (centiseconds since boot)
const base: ProcessDef = {
  name: 'bot', command: 'x', cwd: undefined, env: {}, envFile: undefined, durationMin: 0, autoRestart: true,
  maxRestarts: 3, restartCooldownS: 30, minUptimeS: 60, backoff: 'fixed', stopSignal: 'SIGTERM', killTimeoutS: 10,
  dependsOn: [], autostart: false, logMaxMb: 10, logKeep: 3, logWriter: false, health: [], maxMemoryMb: undefined, maxCpuPercent: undefined,
  cpuWindowS: 60, readyAfterS: 3, restartDependents: false, noRestartExitCodes: [78], successExitCodes: [], survivesRestartOf: [],
};

interface Row {
  name: string;
  def?: Partial<ProcessDef>;
  record?: Partial<ProcessRecord>;
  /** The status the runner sees ($?): 0-125 an exit code, 137 killed by SIGKILL. */
  status: number;
  ranMs: number;
}

const rows: Row[] = [
  { name: 'first premature death', status: 1, ranMs: 5_000 },
  { name: 'exit 0 with duration_min 0 is premature', status: 0, ranMs: 500_000 },
  { name: 'killed by SIGKILL', status: 137, ranMs: 1_000 },
  { name: 'normal completion after 80% of duration_min', def: { durationMin: 10 }, status: 0, ranMs: 9 * 60_000 },
  { name: 'exit 0 before 80% of duration_min', def: { durationMin: 10 }, status: 0, ranMs: 7 * 60_000 },
  { name: 'completion exactly at the threshold', def: { durationMin: 10 }, status: 0, ranMs: 8 * 60_000 },
  { name: 'fractional duration_min completed', def: { durationMin: 0.05 }, status: 0, ranMs: 2_400 },
  { name: 'non-zero exit after the full duration', def: { durationMin: 1 }, status: 2, ranMs: 70_000 },
  { name: 'second restart inside the cooldown', record: { restarts: 1, lastRestartAt: T - 10_000 }, status: 1, ranMs: 10_000 },
  { name: 'second restart past the cooldown', record: { restarts: 1, lastRestartAt: T - 40_000 }, status: 1, ranMs: 40_000 },
  { name: 'exactly at the end of the cooldown', record: { restarts: 1, lastRestartAt: T - 30_000 }, status: 1, ranMs: 20_000 },
  { name: 'budget spent on an unstable run', record: { restarts: 3, lastRestartAt: T - 100_000 }, status: 1, ranMs: 5_000 },
  { name: 'budget spent, but the run was stable', record: { restarts: 3, lastRestartAt: T - 100_000 }, status: 1, ranMs: 61_000 },
  { name: 'budget spent, run one tick (10 ms) short of min_uptime', record: { restarts: 3, lastRestartAt: T - 100_000 }, status: 1, ranMs: 59_990 },
  { name: 'budget spent, run exactly min_uptime', record: { restarts: 3, lastRestartAt: T - 100_000 }, status: 1, ranMs: 60_000 },
  { name: 'max_restarts 0', def: { maxRestarts: 0 }, status: 1, ranMs: 100_000 },
  { name: 'auto_restart off', def: { autoRestart: false }, status: 1, ranMs: 5_000 },
  { name: 'exponential backoff inside its doubled wait', def: { backoff: 'exponential' }, record: { restarts: 2, lastRestartAt: T - 50_000 }, status: 1, ranMs: 1_000 },
  { name: 'exponential backoff past its doubled wait', def: { backoff: 'exponential' }, record: { restarts: 2, lastRestartAt: T - 61_000 }, status: 1, ranMs: 1_000 },
  { name: 'command not found (127)', status: 127, ranMs: 10 },
  { name: 'command cannot execute (126)', status: 126, ranMs: 10 },
  { name: 'EX_CONFIG (78), a default no_restart_exit_code', status: 78, ranMs: 5_000 },
  { name: 'a listed exit code after a stable run', def: { noRestartExitCodes: [3] }, status: 3, ranMs: 120_000 },
  { name: 'an exit code not listed', def: { noRestartExitCodes: [3] }, status: 4, ranMs: 5_000 },
  { name: 'a success exit code after a short run', def: { successExitCodes: [0, 2] }, status: 2, ranMs: 1_000 },
  { name: 'exit 0 listed in success_exit_codes', def: { successExitCodes: [0] }, status: 0, ranMs: 5 },
  { name: 'an exit code not in success_exit_codes', def: { successExitCodes: [0] }, status: 1, ranMs: 5_000 },
  { name: 'zero cooldown', def: { restartCooldownS: 0 }, record: { restarts: 2, lastRestartAt: T - 1 }, status: 1, ranMs: 10 },
];

const root = mkdtempSync(join(tmpdir(), 'pguard-conformance-'));
const runners: number[] = [];
afterAll(() => {
  for (const pid of runners) { try { process.kill(pid, 'SIGKILL'); } catch { /* ended */ } }
  rmSync(root, { recursive: true, force: true });
});

// A `date` that prints the test's clock (the runner asks `date +%s%N`), and a node that records the
// runner's on-exit calls and answers "done".
const bin = join(root, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'date'), '#!/bin/sh\ncat "$CONFORMANCE_CLOCK"\n');
writeFileSync(join(bin, 'fake-node'), '#!/bin/sh\nshift\necho "$*" >> "$CONFORMANCE_CALLS"\necho done\n');
chmodSync(join(bin, 'date'), 0o755);
chmodSync(join(bin, 'fake-node'), 0o755);

interface Clocks {
  /** The wall clock (ms) when the runner starts, and when the command exits. */
  readonly startMs: number;
  readonly exitMs: number;
  /** The kernel's clock (cs) at the same two moments; null: the runner has no kernel clock to read. */
  readonly startUp: number | null;
  readonly exitUp: number | null;
  /** The anchor pguard writes with the arm (null: none). */
  readonly armAnchor: { ms: number; uptimeCs: number } | null;
  /** pguard writes the arm again while the run runs (as after a report), with this anchor. */
  readonly rearm?: { ms: number; uptimeCs: number } | null;
}

const cs = (n: number) => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')} 0\n`;

/** Run the real runner once over a row; true when it restarted alone (its fast path). */
async function runRow(row: Row, i: number, clocks?: Clocks): Promise<{ fast: boolean; calls: string[]; startedAt: number | undefined; endedAt: number | undefined }> {
  const c: Clocks = clocks ?? { startMs: T - row.ranMs, exitMs: T, startUp: U0, exitUp: U0 + row.ranMs / 10, armAnchor: { ms: T - row.ranMs, uptimeCs: U0 } };
  const def = { ...base, ...row.def };
  const store = new StateStore(join(root, `state-${i}`));
  store.init();
  const procDir = store.ensureProc(def.name);
  const record: ProcessRecord = { ...emptyRecord(), status: 'running', epoch: 1, ...row.record };
  store.writeArm(def.name, armFor(def, record), c.armAnchor);
  const clock = join(root, `clock-${i}`);
  const uptime = join(root, `uptime-${i}`);
  const calls = join(root, `calls-${i}`);
  writeFileSync(clock, `${c.startMs * 1_000_000}\n`);
  if (c.startUp !== null) writeFileSync(uptime, cs(c.startUp));
  // The command moves the clocks to the exit time, then ends as the row says.
  const rearm = c.rearm !== undefined ? encodeArm(armFor(def, record), c.rearm)!.trim().split('\n') : null;
  const end = `echo ${c.exitMs * 1_000_000} > "$CONFORMANCE_CLOCK"; ${c.exitUp !== null ? `printf '${cs(c.exitUp).trim()}\\n' > "${uptime}"; ` : ''}`
    + (rearm ? `[ -e "${join(root, `rearmed-${i}`)}" ] || printf '%s\\n' ${rearm.map((l) => `'${l}'`).join(' ')} > "${join(procDir, 'arm')}"; : > "${join(root, `rearmed-${i}`)}"; ` : '');
  const command = row.status === 137 ? `${end}kill -9 $$` : `${end}exit ${row.status}`;
  const env = {
    PATH: `${bin}:${process.env.PATH}`, CONFORMANCE_CLOCK: clock, CONFORMANCE_CALLS: calls,
    ...encodeRunnerEnv({
      name: def.name, registryPath: join(root, 'registry.json'), procDir, heartbeatFile: join(procDir, 'heartbeat'),
      command, epoch: 1, delayMs: 0, killTimeoutMs: 1000, nodePath: join(bin, 'fake-node'), cliPath: 'pguard.js', stateDir: store.dir,
      uptimeFile: uptime,
    }),
  };
  const child = spawn('/bin/sh', [RUNNER_PATH], { env, stdio: 'ignore' });
  runners.push(child.pid!);
  await new Promise((resolve) => child.on('exit', resolve));
  const runs = decodeRuns(readFileSync(store.runsFile(def.name), 'utf8'));
  const fast = runs.starts.has('1.2');
  if (fast) await waitFor(() => readFileSync(calls, 'utf8').includes('--restarted-at'), { what: 'the background report of the fast restart' });
  return { fast, calls: readFileSync(calls, 'utf8').trim().split('\n'), startedAt: runs.starts.get('1.1')?.startedAt, endedAt: runs.exits.get('1.1')?.endedAt };
}

describe('the shell runner conforms to decide()', () => {
  it('covers both outcomes (the table can fail)', () => {
    const atOnce = rows.map((row) => expectedFast(row));
    expect(atOnce).toContain(true);
    expect(atOnce).toContain(false);
  });

  it.each(rows.map((row, i) => ({ ...row, i })))('$name', async (row) => {
    const { fast, calls, endedAt } = await runRow(row, row.i);
    expect(fast).toBe(expectedFast(row));
    expect(endedAt).toBe(T);
    const first = `on-exit bot --registry ${join(root, 'registry.json')} --run 1.1`;
    expect(calls).toContain(fast ? `${first} --restarted-at ${T}` : first);
  });
});

describe('the runner keeps time without a fork, from the newest anchor of the kernel\'s clock', () => {
  const row: Row = { name: 'a crash', status: 1, ranMs: 5_000 };
  const start = T - 5_000;

  it('begins its first run at the time of the arm\'s anchor (pguard armed it just before starting it)', async () => {
    // The wall clock (date) would say otherwise: it is not asked.
    const r = await runRow(row, 100, { startMs: start - 999_000, exitMs: T, startUp: U0, exitUp: U0 + 500, armAnchor: { ms: start, uptimeCs: U0 } });
    expect(r.startedAt).toBe(start);
    expect(r.endedAt).toBe(T);
  });

  it('takes pguard\'s newer anchor at the exit (the wall clock stepped an hour back while it ran)', async () => {
    const rearm = { ms: start + 1_000 - 3_600_000, uptimeCs: U0 + 100 };
    const r = await runRow(row, 101, { startMs: start, exitMs: T, startUp: U0, exitUp: U0 + 500, armAnchor: { ms: start, uptimeCs: U0 }, rearm });
    expect(r.startedAt).toBe(start);
    expect(r.endedAt).toBe(T - 3_600_000);
  });

  it('keeps its own anchor (from date) when the arm\'s is older', async () => {
    const rearm = { ms: start - 3_600_000, uptimeCs: U0 - 100 };
    const r = await runRow(row, 102, { startMs: start, exitMs: T, startUp: U0, exitUp: U0 + 500, armAnchor: null, rearm });
    expect(r.startedAt).toBe(start);
    expect(r.endedAt).toBe(T);
  });

  it('asks the wall clock (date) where there is no kernel clock to read', async () => {
    const r = await runRow(row, 103, { startMs: start, exitMs: T + 7, startUp: null, exitUp: null, armAnchor: null });
    expect(r.startedAt).toBe(start);
    expect(r.endedAt).toBe(T + 7); // the wall clock's own ms, not a 10 ms step
    expect(r.fast).toBe(true);
  });
});

// Adopt mode: the runner (epoch 2) is handed a live run of a dead runner (1.3) to watch. That run
// is a process of the test's, which moves the clocks to the exit time and ends; the runner, not
// its parent, sees no status ('-'): to decide(), a vanished exit. Each row's outcome is decide()'s
// for that exit, whatever status the row names.
const adoptRows = rows.filter((r) => [
  'first premature death', 'normal completion after 80% of duration_min', 'second restart inside the cooldown',
  'second restart past the cooldown', 'budget spent on an unstable run', 'budget spent, but the run was stable', 'auto_restart off',
  'EX_CONFIG (78), a default no_restart_exit_code',
].includes(r.name));

// Without bash on PATH the runner waits with a loop of sleeps (dash has no builtin wait).
const nobash = join(root, 'nobash');
mkdirSync(nobash);
for (const tool of ['sleep', 'setsid', 'cat']) symlinkSync(execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(nobash, tool));
symlinkSync(join(bin, 'date'), join(nobash, 'date'));

async function runAdoptRow(row: Row, i: number, opts: { stop?: boolean; noBash?: boolean } = {}): Promise<{ fast: boolean; calls: string[]; log: string }> {
  const def = { ...base, ...row.def };
  const store = new StateStore(join(root, `state-${i}`));
  store.init();
  const procDir = store.ensureProc(def.name);
  const record: ProcessRecord = { ...emptyRecord(), status: 'running', epoch: 2, ...row.record };
  store.writeArm(def.name, armFor(def, record), { ms: T - row.ranMs, uptimeCs: U0 });
  const clock = join(root, `clock-${i}`);
  const uptime = join(root, `uptime-${i}`);
  const calls = join(root, `calls-${i}`);
  writeFileSync(clock, `${(T - row.ranMs) * 1_000_000}\n`);
  writeFileSync(uptime, cs(U0));
  writeFileSync(calls, '');
  // The adopted run: alive a while after the runner starts, then the clocks move and it ends.
  const stop = opts.stop ? `: > "${join(procDir, 'stop')}"; ` : '';
  const adopted = spawn('/bin/sh', ['-c', `sleep 0.6; echo ${T * 1_000_000} > "${clock}"; printf '${cs(U0 + row.ranMs / 10).trim()}\\n' > "${uptime}"; ${stop}exit ${row.status}`], { stdio: 'ignore' });
  const identity = readIdentity(adopted.pid!)!;
  writeFileSync(join(procDir, 'pid'), `${adopted.pid}\n`);
  const ended = new Promise((resolve) => adopted.on('exit', resolve));
  const env = {
    PATH: opts.noBash ? nobash : `${bin}:${process.env.PATH}`, CONFORMANCE_CLOCK: clock, CONFORMANCE_CALLS: calls,
    ...encodeRunnerEnv({
      name: def.name, registryPath: join(root, 'registry.json'), procDir, heartbeatFile: join(procDir, 'heartbeat'),
      command: 'exit 1', epoch: 2, delayMs: 0, killTimeoutMs: 1000, nodePath: join(bin, 'fake-node'), cliPath: 'pguard.js', stateDir: store.dir,
      uptimeFile: uptime, adopt: { id: '1.3', identity, startedAt: T - row.ranMs },
    }),
  };
  const child = spawn('/bin/sh', [RUNNER_PATH], { env, stdio: 'ignore' });
  runners.push(child.pid!);
  await new Promise((resolve) => child.on('exit', resolve));
  await ended;
  const log = readFileSync(store.runsFile(def.name), 'utf8');
  const fast = decodeRuns(log).starts.has('2.1');
  if (fast) await waitFor(() => readFileSync(calls, 'utf8').includes('--restarted-at'), { what: 'the background report of the fast restart' });
  return { fast, calls: readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean), log };
}

describe('in adopt mode, the runner watches a live run it did not start, and conforms to decide() at its end', () => {
  it('covers both outcomes', () => {
    const atOnce = adoptRows.map((row) => expectedFast(row, true));
    expect(atOnce).toContain(true);
    expect(atOnce).toContain(false);
  });

  it.each([
    ...adoptRows.map((row, i) => ({ ...row, i: 200 + i, noBash: false })),
    // The same without bash (a loop of sleeps): one row of each outcome.
    ...adoptRows.filter((r) => r.name === 'first premature death' || r.name === 'auto_restart off').map((row, i) => ({ ...row, name: `${row.name}, without bash`, i: 230 + i, noBash: true })),
  ])('$name', async (row) => {
    const { fast, calls, log } = await runAdoptRow(row, row.i, { noBash: row.noBash });
    // Its end first, without a status, under the adopted run's id: nothing started before it.
    expect(log.split('\n')[0]).toBe(`exit 1.3 - ${T} ${U0 + row.ranMs / 10}`);
    expect(decodeRuns(log).exits.get('1.3')).toMatchObject({ status: null, endedAt: T });
    expect(fast).toBe(expectedFast(row, true));
    const first = `on-exit bot --registry ${join(root, 'registry.json')} --run 1.3`;
    expect(calls).toContain(fast ? `${first} --restarted-at ${T}` : first);
    expect(calls.filter((c) => c.includes('--run 1.3'))).toHaveLength(1);
  });

  it('ends quietly when a stop was asked for: its end recorded, nothing started, nothing reported', async () => {
    const { fast, calls, log } = await runAdoptRow(rows[0]!, 250, { stop: true });
    expect(fast).toBe(false);
    expect(log).toBe(`exit 1.3 - ${T} ${U0 + rows[0]!.ranMs / 10}\n`);
    expect(calls).toEqual([]);
  });
});

/** What decide() says of the same exit: restart at once, or not (then the runner must ask). */
function expectedFast(row: Row, adopted = false): boolean {
  const def = { ...base, ...row.def };
  const record: ProcessRecord = {
    ...emptyRecord(), status: 'running', epoch: 1, ...row.record,
    run: { id: '1.1', identity: { pid: 10, startTime: '1', bootId: 'b' }, startedAt: T - row.ranMs },
  };
  const how = adopted ? { code: null, signal: null, vanished: true, adopted: true } : decodeWaitStatus(row.status);
  const exit = { runId: '1.1', startedAt: T - row.ranMs, endedAt: T, ...how };
  const plan = decide(def, { failedRetryS: 3600 }, record, { kind: 'exited', exit, restartedAt: null }, T);
  return plan.decision.action === 'restart' && plan.decision.delayMs === 0;
}
