// Never two instances: a runner killed between forking a run and that run's exec. pguard may see
// the runner dead before the run's start line is written, and start another runner; the run must
// then never begin. runs.log is a FIFO here, so the run blocks on writing its start line until the
// test has killed the runner (or not: the control), and nothing depends on timing.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeRunnerEnv, RUNNER_FILES } from '../../src/effects/runner-protocol.js';
import { RUNNER_PATH } from '../../src/effects/spawn.js';
import { StateStore } from '../../src/effects/state-store.js';
import { waitFor } from '../helpers/wait-for.js';

const root = mkdtempSync(join(tmpdir(), 'pguard-orphan-'));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(root, { recursive: true, force: true });
});

const childrenOf = (pid: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter(Boolean);
const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/\) [ZX] /.test(execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' })); } catch { return false; }
};

/** Start a runner whose runs.log is a FIFO; resolve once its first run is forked (blocked on the FIFO). */
async function blockedRunner(i: number): Promise<{ runner: ChildProcess; marker: string; fifo: string }> {
  const store = new StateStore(join(root, `state-${i}`));
  store.init();
  const procDir = store.ensureProc('bot');
  const fifo = join(procDir, RUNNER_FILES.runs);
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const marker = join(root, `began-${i}`);
  const env = encodeRunnerEnv({
    name: 'bot', registryPath: join(root, 'registry.json'), procDir, heartbeatFile: join(procDir, 'heartbeat'),
    command: `touch ${marker}; exec sleep 30`, epoch: 1, delayMs: 0, killTimeoutMs: 1000, nodePath: '/bin/false', cliPath: 'pguard.js', stateDir: store.dir,
  });
  const runner = spawn('/bin/sh', [RUNNER_PATH], { env: { ...env, PATH: process.env.PATH }, stdio: 'ignore' });
  started.push(runner.pid!);
  await waitFor(() => childrenOf(runner.pid!).length > 0, { what: 'the runner to fork its first run' });
  return { runner, marker, fifo };
}

/** Read the start line the blocked run writes (opening the FIFO lets it go on). */
function readStartLine(fifo: string): string {
  const fd = openSync(fifo, 'r');
  const buf = Buffer.alloc(4096);
  let text = '';
  for (let n; (n = readSync(fd, buf)) > 0;) {
    text += buf.subarray(0, n).toString();
    if (text.includes('\n')) break;
  }
  closeSync(fd);
  return text;
}

describe.skipIf(!existsSync('/proc/self/stat'))('a run whose runner died before it began', () => {
  it('never begins (the runner SIGKILLed between the fork and the exec)', async () => {
    const { runner, marker, fifo } = await blockedRunner(1);
    const gone = new Promise((r) => runner.on('exit', r));
    runner.kill('SIGKILL');
    await gone;
    const line = readStartLine(fifo);
    const pid = Number(line.split(' ')[2]);
    expect(line).toMatch(/^start 1\.1 \d+ /);
    started.push(pid);
    await waitFor(() => !alive(pid), { what: 'the orphaned run to end' });
    expect(existsSync(marker)).toBe(false);
  });

  it('begins when its runner lives (the control)', async () => {
    const { runner, marker, fifo } = await blockedRunner(2);
    const line = readStartLine(fifo);
    started.push(Number(line.split(' ')[2]));
    await waitFor(() => existsSync(marker), { what: 'the run to begin' });
    runner.kill('SIGKILL');
  });
});
