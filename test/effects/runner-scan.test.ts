// lookAtRun(): whether a recorded run lives, and a runner beside it, from one read of the run's
// /proc/PID/stat while its runner is its parent (issue 20, defect 7: a run whose runner alone died
// is adopted; one beside a live runner never is).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../src/core/record.js';
import { readIdentity } from '../../src/effects/identity.js';
import { lookAtRun } from '../../src/effects/runner-scan.js';
import { waitFor } from '../helpers/wait-for.js';

const root = mkdtempSync('/tmp/pguard-adopt-scan-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(root, { recursive: true, force: true });
});

function sleeper(): { child: ChildProcess; identity: Identity } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  children.push(child);
  return { child, identity: readIdentity(child.pid!)! };
}

const me = readIdentity(process.pid)!;
const dead: Identity = { pid: 4_000_000, startTime: '1', bootId: me.bootId };

describe('lookAtRun', () => {
  it('a run beside its runner, its parent: both alive', () => {
    expect(lookAtRun(sleeper().identity, me)).toEqual({ processAlive: true, runnerAlive: true });
  });

  it('a run whose runner is dead, and whose parent is no runner: to be adopted', () => {
    expect(lookAtRun(sleeper().identity, dead)).toEqual({ processAlive: true, runnerAlive: false });
    expect(lookAtRun(sleeper().identity, null)).toEqual({ processAlive: true, runnerAlive: false });
  });

  it('an adopted run: its runner lives, though it is not its parent', () => {
    const runner = sleeper().identity;
    expect(lookAtRun(sleeper().identity, runner)).toEqual({ processAlive: true, runnerAlive: true });
  });

  it('a run whose parent is a runner the record does not name: never adopted beside it', async () => {
    const script = join(root, 'pguard-runner.sh');
    writeFileSync(script, `sleep 30 & echo $! > "${join(root, 'child')}"; wait\n`);
    const runner = spawn('/bin/sh', [script], { stdio: 'ignore', detached: true });
    children.push(runner);
    const pid = await waitFor(() => Number(readFileSync(join(root, 'child'), 'utf8')) || null);
    expect(lookAtRun(readIdentity(pid)!, dead)).toEqual({ processAlive: true, runnerAlive: true });
  });

  it('a run that is gone, or whose PID names another process: not alive; its runner looked at alone', async () => {
    const { child, identity } = sleeper();
    expect(lookAtRun({ ...identity, startTime: '1' }, me)).toEqual({ processAlive: false, runnerAlive: true });
    child.kill('SIGKILL');
    await waitFor(() => (readIdentity(identity.pid) === null ? true : null));
    expect(lookAtRun(identity, me)).toEqual({ processAlive: false, runnerAlive: true });
    expect(lookAtRun(identity, dead)).toEqual({ processAlive: false, runnerAlive: false });
  });
});
