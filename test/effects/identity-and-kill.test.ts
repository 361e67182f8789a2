import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isOurs, readIdentity } from '../../src/effects/identity.js';
import { snapshotTree, stopTree } from '../../src/effects/kill.js';
import { acquireLock, lockKey, readLockHolder, tryLock } from '../../src/effects/lock.js';
import { APPS } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

function startDetached(cmd: string, args: string[]): number {
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  child.unref();
  started.push(child.pid!);
  return child.pid!;
}

describe('identity', () => {
  it('knows a live process by PID, start time and boot ID', () => {
    const me = readIdentity(process.pid)!;
    expect(me.pid).toBe(process.pid);
    expect(me.startTime).toMatch(/\S/);
    expect(isOurs(me)).toBe(true);
  });

  it('does not take a reused PID for ours: same PID, other start time', () => {
    const me = readIdentity(process.pid)!;
    expect(isOurs({ ...me, startTime: String(Number(me.startTime) - 1) })).toBe(false);
  });

  it('does not take a record from another boot for ours', () => {
    const me = readIdentity(process.pid)!;
    expect(isOurs({ ...me, bootId: 'another-boot' })).toBe(false);
  });

  it('reports a dead PID as not ours', () => {
    expect(isOurs({ pid: 2 ** 22 + 1, startTime: '1', bootId: '' })).toBe(false);
  });
});

describe('stopTree', () => {
  it('stops a tree that ignores SIGTERM, children and grandchildren included, with SIGKILL after the timeout', async () => {
    const pid = startDetached('/bin/sh', [`${APPS}ignore-term.sh`]);
    const root = await waitFor(() => readIdentity(pid));
    const tree = await waitFor(async () => { const t = await snapshotTree(root); return t.length >= 4 ? t : null; }, { what: 'the tree to grow' });
    const res = await stopTree(root, 'SIGTERM', 500);
    expect(res.killed).toBeGreaterThanOrEqual(3);
    expect(res.survivors).toBe(0);
    for (const id of tree) expect(isOurs(id)).toBe(false);
  });

  it('sends stop_signal once to each process, the group leader and its child alike (signal-once regression)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-kill-'));
    // Both count the SIGTERMs they get and go on; only SIGKILL after the timeout ends them.
    const counter = (who: string) => `trap 'echo ${who} >> ${dir}/got' TERM; while :; do sleep 0.05; done`;
    try {
      const pid = startDetached('/bin/sh', ['-c', `/bin/sh -c "${counter('child')}" & ${counter('leader')}`]);
      const root = await waitFor(() => readIdentity(pid));
      await waitFor(async () => ((await snapshotTree(root)).length >= 3 ? true : null), { what: 'the child to start' });
      const res = await stopTree(root, 'SIGTERM', 600);
      expect(res.killed).toBeGreaterThanOrEqual(2);
      expect(readFileSync(join(dir, 'got'), 'utf8').trim().split('\n').sort()).toEqual(['child', 'leader']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('continues a stopped (SIGSTOP) process so that it ends on stop_signal, not SIGKILL', async () => {
    const pid = startDetached('/bin/sh', ['-c', 'sleep 1000']);
    const root = await waitFor(() => readIdentity(pid));
    const state = () => { const stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3); };
    await waitFor(() => { process.kill(pid, 'SIGSTOP'); return state() === 'T'; }, { what: 'state T' });
    const t0 = Date.now();
    const res = await stopTree(root, 'SIGTERM', 5_000);
    expect(res).toMatchObject({ killed: 0, survivors: 0 });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(isOurs(root)).toBe(false);
  });

  it('signals nothing when the identity does not match (PID reuse)', async () => {
    const pid = startDetached('/bin/sh', ['-c', 'sleep 30']);
    const live = await waitFor(() => readIdentity(pid));
    const res = await stopTree({ ...live, startTime: '12345' }, 'SIGKILL', 100);
    expect(res.signalled).toBe(0);
    expect(isOurs(live)).toBe(true);
  });
});

describe('OS-released locks', () => {
  it('gives the lock to one holder, names it, and frees it on release', async () => {
    const key = lockKey(`/tmp/test-${process.pid}-${Math.random()}`, 'x');
    const a = await tryLock(key, 'test', '/nonexistent');
    expect(a).not.toBeNull();
    expect(await tryLock(key, 'test', '/nonexistent')).toBeNull();
    expect(await readLockHolder(key, '/nonexistent')).toMatchObject({ pid: process.pid, what: 'test' });
    await a!.release();
    const b = await acquireLock(key, 'test', '/nonexistent', 1000);
    await b.release();
  });

  it('is released by the OS when its holder is SIGKILLed', async () => {
    const key = lockKey(`/tmp/test-${process.pid}-${Math.random()}`, 'y');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen({path: '\\0${key}'}, () => console.log('held'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(holder.pid!);
    await new Promise((r) => holder.stdout!.once('data', r));
    expect(await tryLock(key, 'test', '/nonexistent')).toBeNull();
    holder.kill('SIGKILL');
    const lock = await acquireLock(key, 'test', '/nonexistent', 5000);
    await lock.release();
  });
});
