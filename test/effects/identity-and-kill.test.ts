import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isOurs, readIdentity } from '../../src/effects/identity.js';
import { leftoversOf, snapshotTree, stopTree } from '../../src/effects/kill.js';
import { acquireLock, isLockHeld, readLockHolder, signallablePid, tryLock } from '../../src/effects/lock.js';
import { APPS } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const started: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
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

  it('never takes init, or a PID of 0 or below, for ours, whatever the record says', () => {
    const init = readIdentity(1);
    if (init) expect(isOurs(init)).toBe(false);
    expect(isOurs({ pid: 0, startTime: '0', bootId: '' })).toBe(false);
    expect(isOurs({ pid: -1, startTime: '0', bootId: '' })).toBe(false);
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

describe('locks in a private folder', () => {
  const lockDir = () => { const d = mkdtempSync(join(tmpdir(), 'pguard-lock-')); dirs.push(d); return join(d, 'locks'); };

  it('gives the lock to one holder, names it with its identity, and frees it (and its file) on release', async () => {
    const dir = lockDir();
    const a = await tryLock(dir, 'x', 'test');
    expect(a).not.toBeNull();
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect(await tryLock(dir, 'x', 'test')).toBeNull();
    const me = readIdentity(process.pid)!;
    expect(await readLockHolder(dir, 'x')).toMatchObject({ pid: process.pid, what: 'test', startTime: me.startTime, bootId: me.bootId, uid: process.getuid!() });
    expect(await isLockHeld(dir, 'x')).toBe(true);
    await a!.release();
    expect(existsSync(join(dir, 'x.sock'))).toBe(false);
    expect(await isLockHeld(dir, 'x')).toBe(false);
    const b = await acquireLock(dir, 'x', 'test', 1000);
    await b.release();
  });

  it('is taken over when its holder was SIGKILLed (its socket file stays, nobody listens)', async () => {
    const dir = lockDir();
    mkdirSync(dir, { mode: 0o700 });
    const path = join(dir, 'y.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('held'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(holder.pid!);
    await new Promise((r) => holder.stdout!.once('data', r));
    expect(await tryLock(dir, 'y', 'test')).toBeNull();
    holder.kill('SIGKILL');
    await waitFor(() => holder.exitCode !== null || holder.signalCode !== null);
    expect(existsSync(path)).toBe(true);
    const lock = await acquireLock(dir, 'y', 'test', 5000);
    await lock.release();
  });

  it('lets exactly one of many concurrent takers have a dead holder\'s lock', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = lockDir();
      mkdirSync(dir, { mode: 0o700 });
      const holder = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(dir, 'z.sock'))}, () => process.exit(0))`]);
      expect(holder.status).toBe(0);
      const got = await Promise.all(Array.from({ length: 20 }, () => tryLock(dir, 'z', 'test')));
      const winners = got.filter((l) => l !== null);
      expect(winners.length).toBe(1);
      for (const w of winners) await w!.release();
      // Whoever lost the race gets it once it is free.
      const after = await acquireLock(dir, 'z', 'test', 15_000);
      await after.release();
    }
  });

  it('binds a lock in a folder whose path is longer than a socket address holds', async () => {
    let dir = lockDir();
    while (dir.length < 150) dir = join(dir, 'a-rather-long-folder-name');
    const lock = await tryLock(dir, 'long', 'test');
    expect(lock).not.toBeNull();
    expect(existsSync(join(dir, 'long.sock'))).toBe(true);
    expect(await readLockHolder(dir, 'long')).toMatchObject({ pid: process.pid });
    await lock!.release();
  });

  it('refuses a lock folder that is a symbolic link', async () => {
    const real = lockDir();
    mkdirSync(real, { mode: 0o700 });
    const link = `${real}-link`;
    symlinkSync(real, link);
    await expect(tryLock(link, 'x', 'test')).rejects.toThrow(/not a real folder/);
  });

  it('hands out a PID to signal only when it is this user\'s live process as described', () => {
    const me = readIdentity(process.pid)!;
    const holder = { pid: process.pid, since: '', what: 'x', startTime: me.startTime, bootId: me.bootId, uid: 0 };
    expect(signallablePid(holder)).toBe(process.pid);
    expect(signallablePid({ ...holder, startTime: '1' })).toBeNull();
    expect(signallablePid({ ...holder, pid: 1 })).toBeNull();
    expect(signallablePid({ ...holder, pid: -1 })).toBeNull();
    expect(signallablePid({ ...holder, pid: 0 })).toBeNull();
    expect(signallablePid(null)).toBeNull();
  });
});

/**
 * A run whose leader is gone: a session leader (sh, setsid by spawn's detached) that leaves a sleep
 * behind in its group and session, then exits when its stdin closes.
 */
async function leaderLeavingMember(): Promise<{ leader: NonNullable<ReturnType<typeof readIdentity>>; member: number }> {
  const child = spawn('sh', ['-c', 'sleep 1000 & echo $!; read x'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  started.push(child.pid!);
  const member = Number(await new Promise<string>((res) => child.stdout!.once('data', (d) => res(String(d).trim()))));
  started.push(member);
  const leader = readIdentity(child.pid!)!;
  child.stdin!.end();
  await new Promise((res) => child.once('exit', res));
  return { leader, member };
}

describe('leftoversOf', () => {
  it('finds, for each of many runs asked about at once (one shared /proc scan), that run\'s own leftovers and no other\'s', async () => {
    const runs = await Promise.all(Array.from({ length: 12 }, () => leaderLeavingMember()));
    const found = await Promise.all(runs.map((r) => leftoversOf(r.leader)));
    found.forEach((left, i) => expect(left.map((l) => l.pid)).toEqual([runs[i]!.member]));
    // A later ask gets a scan of its own, begun after it: a run made since the first scan is found.
    const { leader: lateLeader, member: lateMember } = await leaderLeavingMember();
    expect((await leftoversOf(lateLeader)).map((l) => l.pid)).toEqual([lateMember]);
  });
});
