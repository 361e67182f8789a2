// pguard on Windows, run for real under Wine: the built CLI started by Windows Node (`wine node.exe
// bin/pguard.js ...`), the Windows runner (dist/bundle/runner-win.cjs), job objects, creation-time
// identities and exclusive-open locks, all Windows' own. Checked from both sides: the state files
// from Linux, the processes from Windows (test/win/fixtures/win-tool.cjs, which uses koffi itself,
// not pguard's code). Every Wine call starts a Windows Node (1-3 s), so each test makes few of them
// and polls files instead. One file, run sequentially, with one wineserver for all of it.
// Skipped, saying why, where Wine or scripts/wine-setup.sh's setup is missing (.ci/run makes both).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armFor } from '../../src/core/arm.js';
import { decide } from '../../src/core/decide.js';
import { decodeWaitStatus } from '../../src/core/exit.js';
import { emptyRecord, type ProcessRecord } from '../../src/core/record.js';
import type { ProcessDef } from '../../src/core/schema.js';
import { decodeRuns, encodeArm, encodeRunnerEnv } from '../../src/effects/runner-protocol.js';
import { PACKAGE_ROOT } from '../../src/effects/spawn.js';
import { runWindowsNode, startWineServer, tmpWinRegistry, winPath, winTool, WINE, WINE_MISSING, type WinProcess } from '../helpers/wine.js';
import { waitFor } from '../helpers/wait-for.js';

if (!WINE) console.warn(`Windows tests (Wine) skipped: ${WINE_MISSING}`);

const PING = 'C:\\windows\\system32\\ping.exe';
/** A run that lasts: cmd.exe, and ping as its child. */
const LONG = 'ping -n 100000 127.0.0.1';
/**
 * state.json is read seldom: on Windows a rename over a file someone has open fails (EPERM), and
 * pguard writes the record by such a rename (src/effects/atomic-write.ts; under Wine a reader every
 * 2 ms made an on-exit report fail). runs.log, only appended to, is polled freely.
 */
const RECORD_POLL_MS = 250;
const ids = (ps: WinProcess[]) => new Set(ps.map((p) => `${p.pid}:${p.start}`));

let server: { stop(): void } | null = null;
beforeAll(() => { if (WINE) server = startWineServer(); });
afterAll(() => server?.stop());

describe.skipIf(!WINE)(`pguard under Wine (${WINE?.version ?? 'no Wine'})`, () => {
  it('registers, starts, shows, restarts and stops a process', async () => {
    const t = tmpWinRegistry({});
    const reg = await t.cli(['register', 'web', LONG]);
    expect(reg.stdout.trim()).toBe(`registered web in ${t.registry}`);
    const start = await t.cli(['start', 'web']);
    expect(start.code).toBe(0);
    const first = t.runs('web').latest!;
    expect(start.stdout).toContain(`✓ web started (pid ${first.identity.pid})`);
    const view = await t.status('web');
    expect(view).toMatchObject({ name: 'web', status: 'running', pid: first.identity.pid, restarts: 0, command: LONG });

    const restart = await t.cli(['restart', 'web', '--no-wait']);
    expect(restart.code).toBe(0);
    const second = await waitFor(() => { const l = t.runs('web').latest; return l && l.id !== first.id ? l : null; }, { what: 'the restarted run' });
    expect(second.id).toBe('2.1'); // a new runner (epoch 2), its first run

    const stop = await t.cli(['stop', 'web']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^web stopped/);
    const runner = t.record('web').runner;
    const alive = await winTool('start', String(first.identity.pid), String(second.identity.pid), String(runner.pid));
    // Each PID is either gone or, reused since, another process (another creation time).
    expect(alive[first.identity.pid]).not.toBe(first.identity.startTime);
    expect(alive[second.identity.pid]).not.toBe(second.identity.startTime);
    expect(alive[runner.pid]).not.toBe(runner.startTime);
    expect(t.record('web').status).toBe('stopped');
  });

  it('the Windows runner restarts a run killed by PID, ends what it left, and records both', async () => {
    const t = tmpWinRegistry({ app: { command: LONG } });
    expect((await t.cli(['start', 'app', '--no-wait'])).code).toBe(0);
    const first = await waitFor(() => t.runs('app').latest, { what: 'the first run' });
    const killed = await winTool('kill', String(first.identity.pid), first.identity.startTime);
    expect(killed.killed).toBe(true);
    const second = await waitFor(() => t.runs('app').starts.get('1.2'), { what: 'the restarted run', timeoutMs: 20_000 });
    const runs = t.runs('app');
    // TerminateProcess's exit code (1), then ping (the orphaned child) ended from the job, then the new run.
    expect(runs.exits.get('1.1')!.status).toBe(1);
    expect(runs.leftovers.get('1.1')).toBeDefined();
    expect(second.startedAt - runs.exits.get('1.1')!.endedAt).toBeLessThan(1000);
    await waitFor(() => t.record('app').totalRestarts === 1, { what: 'the restart to be recorded', timeoutMs: 20_000, intervalMs: RECORD_POLL_MS });
    expect(await t.status('app')).toMatchObject({ status: 'running', pid: second.identity.pid, restarts: 1 });
  });

  it('a crash loop gives up after max_restarts with a critical alert', async () => {
    const t = tmpWinRegistry({ loop: { command: 'exit 3', max_restarts: 2, restart_cooldown: 0, min_uptime: 60 } });
    await t.cli(['start', 'loop', '--no-wait']);
    await waitFor(() => t.record('loop').status === 'failed', { what: 'loop to give up', timeoutMs: 60_000, intervalMs: RECORD_POLL_MS });
    const runs = t.runs('loop');
    expect([...runs.exits.values()].every((e) => e.status === 3)).toBe(true);
    expect(runs.starts.size).toBe(3); // the first run and max_restarts restarts
    const alerts = JSON.parse((await t.cli(['alerts', '--json'])).stdout) as { process: string; severity: string; kind: string }[];
    expect(alerts).toContainEqual(expect.objectContaining({ process: 'loop', severity: 'critical' }));
    expect(await t.status('loop')).toMatchObject({ status: 'failed', restarts: 2, last_exit: expect.objectContaining({ code: 3 }) });
  });

  it('a command cmd.exe cannot find fails at once, not restarted: its exit 9009 is recorded as 127', async () => {
    const t = tmpWinRegistry({ typo: { command: 'no-such-program --flag' } });
    await t.cli(['start', 'typo', '--no-wait']);
    await waitFor(() => t.record('typo').status === 'failed', { what: 'typo to fail', timeoutMs: 30_000, intervalMs: RECORD_POLL_MS });
    const runs = t.runs('typo');
    expect(runs.starts.size).toBe(1);
    expect(runs.exits.get('1.1')!.status).toBe(127);
    expect(await t.status('typo')).toMatchObject({
      status: 'failed', restarts: 0, reason: 'command not found: no-such-program --flag (exit 127); fix its command, then start it; not restarted',
    });
  });

  it('never signals a PID that now names another process (same PID, another creation time)', async () => {
    // Two processes that are not pguard's; a record (and runs.log) that names their PIDs with the
    // creation times of earlier processes, as after a PID was reused.
    const runnerLike = await winTool('spawn', PING, '-n', '100000', '127.0.0.1');
    const runLike = await winTool('spawn', PING, '-n', '100001', '127.0.0.1');
    const t = tmpWinRegistry({ ghost: { command: LONG } });
    try {
      expect((await t.cli(['status', 'ghost', '--json'])).code).toBe(0); // makes the state directory
      const earlier = (start: string) => String(BigInt(start) - 10_000_000n); // 1 s before
      const run = { id: '1.1', identity: { pid: runLike.pid, startTime: earlier(runLike.start), bootId: '' }, startedAt: Date.now() - 60_000 };
      const record: ProcessRecord = {
        ...emptyRecord(), status: 'running', epoch: 1, generation: 1, reason: 'started by user', updatedAt: Date.now(),
        runner: { pid: runnerLike.pid, startTime: earlier(runnerLike.start), bootId: '' }, run,
      };
      const proc = join(t.stateDir, 'procs', 'ghost');
      mkdirSync(proc, { recursive: true, mode: 0o700 });
      writeFileSync(join(proc, 'state.json'), JSON.stringify(record, null, 2), { mode: 0o600 });
      writeFileSync(join(proc, 'runs.log'), `start 1.1 ${runLike.pid} ${run.identity.startTime} - ${run.startedAt}\n`, { mode: 0o600 });
      const view = await t.status('ghost');
      expect(view.pid).toBeNull();
      expect(view.status).not.toBe('running');
      expect((await t.cli(['stop', 'ghost'])).code).toBe(0);
      const alive = await winTool('start', String(runnerLike.pid), String(runLike.pid));
      expect(alive).toEqual({ [runnerLike.pid]: runnerLike.start, [runLike.pid]: runLike.start });
    } finally {
      await winTool('end', `${runnerLike.pid}:${runnerLike.start}`, `${runLike.pid}:${runLike.start}`);
    }
  });

  it('two registers at once both land (the registry lock)', async () => {
    const t = tmpWinRegistry({});
    const [a, b] = await Promise.all([t.cli(['register', 'a', LONG]), t.cli(['register', 'b', LONG])]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    expect(Object.keys(JSON.parse(readFileSync(join(t.dir, 'registry.json'), 'utf8'))).sort()).toEqual(['a', 'b']);
  });

  it('a lock whose holder is killed is free: the OS closes its exclusive open (watch)', async () => {
    const t = tmpWinRegistry({ web: { command: LONG } });
    const started = await t.cli(['watch']);
    expect(started.stdout).toMatch(/^pguard watch started \(pid \d+\)/);
    const holder = await waitFor(() => JSON.parse(readFileSync(join(t.stateDir, 'locks', 'watch.holder'), 'utf8')) as { pid: number; startTime: string }, { what: 'the watch lock' });
    expect(JSON.parse((await t.cli(['watch', '--status', '--json'])).stdout)).toMatchObject({ running: true, pid: holder.pid });
    expect((await winTool('kill', String(holder.pid), holder.startTime)).killed).toBe(true);
    expect(JSON.parse((await t.cli(['watch', '--status', '--json'])).stdout)).toMatchObject({ running: false, pid: null });
  });

  it('stop ends the whole tree: the run, its child, its grandchild, and what it started through `start`', async () => {
    // cmd.exe (the run) -> start.exe -> ping (orphaned at once: its parent exits), and
    // cmd.exe -> cmd.exe -> ping. `start` comes first: before the runner made the run in its job
    // suspended, that ping escaped the job and outlived the stop.
    const t = tmpWinRegistry({ tree: { command: 'start "" /b ping -n 100000 127.0.0.1 >nul & cmd /d /c ping -n 100001 127.0.0.1 >nul' } });
    expect((await t.cli(['start', 'tree', '--no-wait'])).code).toBe(0);
    const run = await waitFor(() => t.runs('tree').latest, { what: 'the run' });
    const since = BigInt(run.identity.startTime);
    const members = await waitFor(async () => {
      const ps = (await winTool('ps')) as WinProcess[];
      const mine = ps.filter((p) => BigInt(p.start) >= since && (p.exe === 'cmd.exe' || p.exe === 'ping.exe'));
      return mine.filter((p) => p.exe === 'ping.exe').length >= 2 && mine.filter((p) => p.exe === 'cmd.exe').length >= 2 ? mine : null;
    }, { what: 'the tree (2 cmd.exe, 2 ping.exe)', timeoutMs: 30_000, intervalMs: 200 });
    expect(members).toContainEqual(expect.objectContaining({ pid: run.identity.pid, start: run.identity.startTime }));
    const stop = await t.cli(['stop', 'tree']);
    const after = ids((await winTool('ps')) as WinProcess[]);
    const runner = t.record('tree').runner;
    expect(members.filter((p) => after.has(`${p.pid}:${p.start}`))).toEqual([]);
    expect(after.has(`${runner.pid}:${runner.startTime}`)).toBe(false);
    expect(stop.stdout).toMatch(/^tree stopped/);
  });

  it('stop gives the run Ctrl-C first (stop_signal on Windows): a Node program\'s SIGINT handler runs, and nothing is ended by force', async () => {
    const t = tmpWinRegistry({});
    const script = join(t.dir, 'graceful.js');
    const mark = join(t.dir, 'graceful.txt');
    const ready = join(t.dir, 'ready.txt');
    // It says when its handler is in place: a Ctrl-C before that ends it as it ends any program
    // (Node under Wine takes 1-2 s to start), and says nothing of the stop.
    // The handler writes its mark, flushed to disk, before it exits: under Wine a file written
    // just before exit was twice found created and empty.
    writeFileSync(script, `const fs = require('fs'); process.on('SIGINT', () => { const fd = fs.openSync(${JSON.stringify(winPath(mark))}, 'w'); fs.writeSync(fd, 'SIGINT'); fs.fsyncSync(fd); fs.closeSync(fd); process.exit(0); }); fs.writeFileSync(${JSON.stringify(winPath(ready))}, 'ready'); setInterval(() => {}, 1000);\n`);
    await t.cli(['register', 'g', `"${winPath(WINE!.node)}" "${winPath(script)}"`, '--kill-timeout', '20']);
    expect((await t.cli(['start', 'g'])).code).toBe(0);
    const run = await waitFor(() => t.runs('g').latest, { what: 'the run' });
    await waitFor(() => existsSync(ready) || null, { what: 'the program\'s SIGINT handler', timeoutMs: 30_000 });
    const t0 = Date.now();
    const stop = await t.cli(['stop', 'g']);
    expect(stop.stdout.trim()).toBe('g stopped'); // no "Ctrl-C ignored ...; ended N processes"
    expect(Date.now() - t0).toBeLessThan(20_000); // well inside kill_timeout
    // What the handler wrote, once Wine has it on disk (CI once read the file created and still empty).
    await waitFor(() => { try { return readFileSync(mark, 'utf8') === 'SIGINT' || null; } catch { return null; } }, { what: 'the handler\'s mark', timeoutMs: 5000 });
    expect(t.runs('g').exits.get(run.id)).toMatchObject({ status: 0 });
  });

  it('runs a command as cmd.exe runs a typed line: spaces, quotes, &, % and ^ reach the program as typed', async () => {
    const t = tmpWinRegistry({});
    const folder = join(t.dir, 'dir with space & 100%');
    mkdirSync(folder);
    const script = join(folder, 'argv.js');
    writeFileSync(script, `require('fs').writeFileSync(process.argv[2], JSON.stringify(process.argv.slice(3))); setInterval(() => {}, 1000);\n`);
    const out = join(t.dir, 'argv.json');
    // As typed at a cmd prompt: inside quotes & and ^ are plain; outside, ^ escapes the next
    // character; %OS% is expanded (cmd does that on a command line), 100% is left alone.
    const line = `"${winPath(WINE!.node)}" "${winPath(script)}" "${winPath(out)}" "a b" "x & y" "50%" "^caret" plain^&amp "%OS%" say\\"hi\\"`;
    await t.cli(['register', 'args', line]);
    expect((await t.cli(['start', 'args', '--no-wait'])).code).toBe(0);
    const argv = await waitFor(() => { try { return JSON.parse(readFileSync(out, 'utf8')) as string[]; } catch { return null; } }, { what: 'the program to write its argv', timeoutMs: 30_000 });
    expect(argv).toEqual(['a b', 'x & y', '50%', '^caret', 'plain&amp', 'Windows_NT', 'say"hi"']);
    expect((await t.cli(['stop', 'args'])).code).toBe(0);
  });

  it('logs shows what the process printed, and the MCP server answers a Windows client over its pipes', async () => {
    const t = tmpWinRegistry({ talk: { command: 'echo hello from windows & ping -n 100000 127.0.0.1 >nul' } });
    expect((await t.cli(['start', 'talk', '--no-wait'])).code).toBe(0);
    await waitFor(() => t.logOf('talk').includes('hello') || null, { what: 'the output in the log', timeoutMs: 30_000 });
    expect((await t.cli(['logs', 'talk'])).stdout).toContain('hello from windows');
    // An MCP client on the Windows side (Wine's Node cannot write to a Linux pipe, so the test's
    // own client could not talk to it): the official SDK's client over stdio, as an agent's would.
    const sdk = (p: string) => `file:///${winPath(join(PACKAGE_ROOT, 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm', p)).replace(/\\/g, '/')}`;
    const out = join(t.dir, 'mcp.json');
    const script = join(t.dir, 'mcp-client.mjs');
    writeFileSync(script, [
      `import { Client } from '${sdk('client/index.js')}';`,
      `import { StdioClientTransport } from '${sdk('client/stdio.js')}';`,
      `import { writeFileSync } from 'node:fs';`,
      `const transport = new StdioClientTransport({ command: process.execPath, args: [${JSON.stringify(winPath(join(PACKAGE_ROOT, 'bin', 'pguard.js')))}, 'mcp', '--registry', ${JSON.stringify(t.registry)}], env: { ...process.env }, stderr: 'ignore' });`,
      `const client = new Client({ name: 'wine-test', version: '1' });`,
      `await client.connect(transport);`,
      `const tools = (await client.listTools()).tools.map((x) => x.name);`,
      `const status = await client.callTool({ name: 'status', arguments: {} });`,
      `writeFileSync(${JSON.stringify(winPath(out))}, JSON.stringify({ tools, status: status.structuredContent }));`,
      `await client.close();`,
      '',
    ].join('\n'));
    const res = await runWindowsNode([winPath(script)], { env: t.env });
    expect(res.code).toBe(0);
    const answer = JSON.parse(readFileSync(out, 'utf8')) as { tools: string[]; status: { processes: { name: string; status: string }[] } };
    expect(answer.tools).toEqual(expect.arrayContaining(['status', 'logs', 'alerts', 'history', 'healthcheck']));
    expect(answer.status.processes).toEqual([expect.objectContaining({ name: 'talk', status: 'running' })]);
  });

  it('a program\'s own exit code above 128 stays a code (runs.log "=143"), not a signal', async () => {
    const t = tmpWinRegistry({ code: { command: 'exit 143', auto_restart: false } });
    await t.cli(['start', 'code', '--no-wait']);
    await waitFor(() => t.runs('code').exits.get('1.1'), { what: 'the exit', timeoutMs: 30_000 });
    expect(t.runs('code').exits.get('1.1')).toMatchObject({ status: 143, codeOnly: true });
    await waitFor(() => t.record('code').status === 'crashed' || null, { what: 'the exit recorded', timeoutMs: 30_000, intervalMs: RECORD_POLL_MS });
    expect((await t.status('code')).last_exit).toMatchObject({ code: 143, signal: null });
  });

  it('the start check counts from the run\'s start, not the runner\'s: a run dying in its first second is reported', async () => {
    // Under Wine the runner (a Node) takes 1-2 s to come up: the run, dying 0.2 s after its own start,
    // ended after the 1 s window counted from the spawn, and was reported started.
    const t = tmpWinRegistry({ bad: { command: 'ping -n 1 127.0.0.1 >nul & exit 5', auto_restart: false } });
    const start = await t.cli(['start', 'bad']);
    expect(start.stdout).toMatch(/^✗ bad exited with code 5 after .*, within its 1 s start check; not restarted \(auto_restart is off\)/);
    expect(start.code).toBe(1);
  });

  it('rotates a live process\'s log past log_max_mb (copy-truncate): the process writes on at the new end', async () => {
    // About 12 lines of 300 bytes a second (Wine's cmd: no `@(...)`; `(...)` echoes nothing more under /c).
    const line = 'x'.repeat(300);
    const t = tmpWinRegistry({ chatty: { command: `for /l %i in (1,1,100000) do (echo line %i ${line}& ping -n 1 127.0.0.1 >nul)`, log_max_mb: 0.01, log_keep: 2 } });
    expect((await t.cli(['start', 'chatty', '--no-wait'])).code).toBe(0);
    const log = join(t.stateDir, 'logs', 'chatty.log');
    await waitFor(() => statSync(log, { throwIfNoEntry: false })!.size >= 10_486, { what: 'a 10 KB log', timeoutMs: 30_000, intervalMs: 100 });
    expect((await t.cli(['healthcheck'])).code).toBe(0);
    const old = readFileSync(`${log}.1`, 'utf8');
    expect(old.length).toBeGreaterThanOrEqual(10_486);
    const lastOld = Number(/line (\d+) x+\s*$/.exec(old)![1]);
    // Written on after the truncation, from the file's new start: no hole of NULs before it.
    const fresh = await waitFor(() => { const s = t.logOf('chatty'); return /line \d+ x+\n[^]*line \d+ x+\n/.test(s) ? s : null; }, { what: 'new lines' });
    expect(fresh.startsWith('\0')).toBe(false);
    expect(Number(/line (\d+) /.exec(fresh)![1])).toBeGreaterThan(lastOld);
  });

  it('npm run demo runs: steady runs on, flaky crashes and is restarted at once, both stopped at the end', async () => {
    const res = await runWindowsNode([winPath(join(PACKAGE_ROOT, 'dist', 'demo.js'))], { timeoutMs: 120_000 });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/✓ steady started \(pid \d+\)/);
    expect(res.stdout).toMatch(/ALERT \[warning\] flaky crashed: exited with code 1 after [\d.]+ s; restarted at once \(restart 1 of 3\)/);
    expect(res.stdout).toMatch(/steady +running +\d+/);
    expect(res.stdout).toContain('flaky: something broke');
    expect(res.stdout).toMatch(/steady stopped\n/);
    expect(res.stdout).toMatch(/removed C:\\users\\.+pguard-demo-/);
  }, 120_000);
});

// Conformance: the real Windows runner against decide(), as test/effects/runner-conformance.test.ts
// does for the shell runner. The Windows runner reads the real clock (Date.now(); there is no
// `date` to stand in for), so each row's times are real: the arm is pguard's (armFor) for a record
// whose last restart lies the row's seconds back, the command runs short (`exit N`, ~0.1-0.5 s) or
// long (~2 s), and decide() is asked afterwards about the exit as runs.log recorded it. The rows keep
// far from every threshold; the exact boundaries are the shell runner's table (a controlled clock),
// and both runners decode the same arm (runner-protocol.ts). All rows run at once, one Windows Node
// starting every runner, a stand-in for `pguard on-exit` recording each report.
interface WinRow {
  name: string;
  def?: Partial<ProcessDef>;
  /** lastRestartAt: this many ms before the arm is written. */
  record?: Partial<Omit<ProcessRecord, 'lastRestartAt'>> & { restartedAgoMs?: number };
  status: number;
  long?: boolean;
  /** The run's command, instead of `exit STATUS`. */
  command?: string;
  /** What the row is there to show (decide()'s answer, checked too: a row whose timing went astray says so). */
  fast: boolean;
}
const winBase: ProcessDef = {
  name: 'bot', command: 'x', cwd: undefined, env: {}, envFile: undefined, durationMin: 0, autoRestart: true,
  maxRestarts: 3, restartCooldownS: 30, minUptimeS: 60, backoff: 'fixed', stopSignal: 'SIGTERM', killTimeoutS: 10,
  dependsOn: [], autostart: false, logMaxMb: 10, logKeep: 3, logWriter: false, health: [], maxMemoryMb: undefined, maxCpuPercent: undefined,
  cpuWindowS: 60, readyAfterS: 3, restartDependents: false, noRestartExitCodes: [78], successExitCodes: [], survivesRestartOf: [],
};
const winRows: WinRow[] = [
  { name: 'first premature death', status: 1, fast: true },
  { name: 'exit 0 with duration_min 0 is premature', status: 0, fast: true },
  { name: 'normal completion after 80% of duration_min (0.01 min, ran ~2 s)', def: { durationMin: 0.01 }, status: 0, long: true, fast: false },
  { name: 'exit 0 before 80% of duration_min', def: { durationMin: 10 }, status: 0, fast: true },
  { name: 'non-zero exit after the full duration', def: { durationMin: 0.01 }, status: 2, long: true, fast: true },
  { name: 'second restart inside the cooldown', record: { restarts: 1, restartedAgoMs: 1_000 }, status: 1, fast: false },
  { name: 'second restart past the cooldown', record: { restarts: 1, restartedAgoMs: 40_000 }, status: 1, fast: true },
  { name: 'budget spent on an unstable run', record: { restarts: 3, restartedAgoMs: 100_000 }, status: 1, fast: false },
  { name: 'budget spent, but the run was stable (min_uptime 0.5 s, ran ~2 s)', def: { minUptimeS: 0.5 }, record: { restarts: 3, restartedAgoMs: 100_000 }, status: 1, long: true, fast: true },
  { name: 'max_restarts 0', def: { maxRestarts: 0 }, status: 1, fast: false },
  { name: 'auto_restart off', def: { autoRestart: false }, status: 1, fast: false },
  { name: 'exponential backoff inside its doubled wait (60 s)', def: { backoff: 'exponential' }, record: { restarts: 2, restartedAgoMs: 1_000 }, status: 1, fast: false },
  { name: 'exponential backoff past its doubled wait (60 s)', def: { backoff: 'exponential' }, record: { restarts: 2, restartedAgoMs: 70_000 }, status: 1, fast: true },
  { name: 'command not found (cmd.exe\'s 9009, recorded as 127)', command: 'no-such-program', status: 127, fast: false },
  { name: 'command cannot execute (126)', status: 126, fast: false },
  { name: 'EX_CONFIG (78), a default no_restart_exit_code', status: 78, fast: false },
  { name: 'an exit code not listed', def: { noRestartExitCodes: [3] }, status: 4, fast: true },
  { name: 'zero cooldown', def: { restartCooldownS: 0 }, record: { restarts: 2, restartedAgoMs: 1 }, status: 1, fast: true },
];

describe.skipIf(!WINE)('the Windows runner conforms to decide()', () => {
  interface Outcome { fast: boolean; expected: boolean; status: number | null; calls: string[]; first: string; ended: number | undefined }
  const outcomes = new Map<string, Outcome>();

  beforeAll(async () => {
    const root = mkdtempSync(join(WINE!.profile, 'pguard-conformance-'));
    try {
      const spec = winRows.map((row, i) => {
        const def = { ...winBase, ...row.def };
        const { restartedAgoMs, ...rest } = row.record ?? {};
        const record: ProcessRecord = { ...emptyRecord(), status: 'running', epoch: 1, ...rest, lastRestartAt: restartedAgoMs === undefined ? null : Date.now() - restartedAgoMs };
        const procDir = join(root, `row-${i}`, 'procs', 'bot');
        mkdirSync(procDir, { recursive: true, mode: 0o700 });
        const arm = encodeArm(armFor(def, record));
        if (arm) writeFileSync(join(procDir, 'arm'), arm);
        writeFileSync(join(procDir, 'calls'), '');
        const command = row.command ?? `${row.long ? 'ping -n 3 127.0.0.1 >nul & ' : ''}exit ${row.status}`;
        const env = {
          CONFORMANCE_CALLS: winPath(join(procDir, 'calls')),
          ...encodeRunnerEnv({
            name: def.name, registryPath: 'C:\\registry.json', procDir: winPath(procDir), heartbeatFile: winPath(join(procDir, 'heartbeat')),
            command, epoch: 1, delayMs: 0, killTimeoutMs: 1000, nodePath: winPath(WINE!.node), cliPath: winPath(join(PACKAGE_ROOT, 'test', 'win', 'fixtures', 'fake-on-exit.cjs')),
            stateDir: winPath(join(root, `row-${i}`)),
          }),
        };
        return { row, def, record, procDir, env, log: winPath(join(procDir, 'runner.out')) };
      });
      writeFileSync(join(root, 'spec.json'), JSON.stringify(spec.map(({ env, log }) => ({ env, log }))));
      const res = await runWindowsNode([winPath(join(PACKAGE_ROOT, 'test', 'win', 'fixtures', 'run-runners.cjs')), winPath(join(PACKAGE_ROOT, 'dist', 'bundle', 'runner-win.cjs')), winPath(join(root, 'spec.json'))], { timeoutMs: 120_000 });
      expect(res.code, res.stderr).toBe(0);
      for (const { row, def, record, procDir } of spec) {
        const runs = decodeRuns(readFileSync(join(procDir, 'runs.log'), 'utf8'));
        const start = runs.starts.get('1.1')!;
        const exit = runs.exits.get('1.1')!;
        const fast = runs.starts.has('1.2');
        // The fast path's report runs in the background: wait for it before reading the calls.
        if (fast) await waitFor(() => readFileSync(join(procDir, 'calls'), 'utf8').includes('--restarted-at'), { what: `${row.name}: the background report` });
        const plan = decide(def, { failedRetryS: 3600 }, { ...record, run: start }, {
          kind: 'exited', restartedAt: null,
          exit: { runId: '1.1', startedAt: start.startedAt, endedAt: exit.endedAt, vanished: false, adopted: false, ...decodeWaitStatus(exit.status!) },
        }, exit.endedAt);
        outcomes.set(row.name, {
          fast, expected: plan.decision.action === 'restart' && plan.decision.delayMs === 0, status: exit.status,
          calls: readFileSync(join(procDir, 'calls'), 'utf8').trim().split('\n'), first: `on-exit bot --registry C:\\registry.json --run 1.1`, ended: exit.endedAt,
        });
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 180_000);

  it('covers both outcomes (the table can fail)', () => {
    expect(winRows.map((r) => r.fast)).toContain(true);
    expect(winRows.map((r) => r.fast)).toContain(false);
  });

  it.each(winRows)('$name', (row) => {
    const o = outcomes.get(row.name)!;
    expect(o.expected, 'decide() on the times runs.log recorded (the row\'s timing went astray?)').toBe(row.fast);
    expect(o.fast).toBe(o.expected);
    expect(o.status).toBe(row.status);
    expect(o.calls).toContain(o.fast ? `${o.first} --restarted-at ${o.ended}` : o.first);
  });
});
