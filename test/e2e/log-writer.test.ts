// log_writer: the runner's writer rotates a log at log_max_mb as the program writes, here at
// 50 MB/s (test/fixtures/apps/numbered.mjs writes numbered 100-byte lines), and `logs -f` follows
// it across the renames. Timing targets are measured in bench/logs.mjs, not here.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWaitStatus } from '../../src/core/exit.js';
import { pidsWithEnv, tmpRegistry } from '../helpers/tmp-registry.js';
import { APPS, CLI } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const MB = 1024 * 1024;

/** The line numbers in `text`, and how many are missing or out of order between 0 and `total`. */
function countLines(text: string, total: number): { seen: number; missing: number; disorder: number } {
  let seen = 0;
  let disorder = 0;
  let last = -1;
  const got = new Uint8Array(total);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const n = Number(line.slice(0, 10));
    if (!Number.isInteger(n) || n < 0 || n >= total) { disorder++; continue; }
    if (n !== last + 1) disorder++;
    last = n;
    if (!got[n]) { got[n] = 1; seen++; }
  }
  return { seen, missing: total - seen, disorder };
}

/** The log and its rotated files, oldest first. */
function logFiles(log: string): string[] {
  const dir = join(log, '..');
  const base = log.slice(dir.length + 1);
  const rotated = readdirSync(dir).filter((f) => f.startsWith(`${base}.`)).map((f) => Number(f.slice(base.length + 1))).sort((a, b) => b - a);
  return [...rotated.map((k) => `${log}.${k}`), log];
}

/** The runner's children (its writer among them) and theirs, from /proc. */
function descendantsOf(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const walk = (p: number) => { for (const [c, pp] of parent) if (pp === p) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/** The live members of process group `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && !/^[ZX]/.test(f[0]!)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch { return false; }
};

describe('log_writer', () => {
  it('rotates a 50 MB/s log at log_max_mb as it is written, losing no line, and logs -f prints every line', async () => {
    const total = 400_000; // 40 MB at 50 MB/s
    const t = tmpRegistry({ fast: { command: `node ${APPS}numbered.mjs 50 ${total}`, log_max_mb: 4, log_keep: 20, log_writer: true } });
    const log = join(t.stateDir, 'logs', 'fast.log');
    // The follower first, on the empty log (it has the file open before the program starts).
    mkdirSync(join(t.stateDir, 'logs'), { recursive: true, mode: 0o700 });
    writeFileSync(log, '', { mode: 0o600 });
    const follow = execa(process.execPath, [CLI, 'logs', 'fast', '-f', '-n', '0'], { cwd: t.dir, env: t.env, reject: false, buffer: false });
    let followed = '';
    follow.stdout!.setEncoding('latin1');
    follow.stdout!.on('data', (d: string) => { followed += d; });
    try {
      await waitFor(() => readdirSync(`/proc/${follow.pid}/fd`).some((fd) => { try { return readlinkSync(`/proc/${follow.pid}/fd/${fd}`) === log; } catch { return false; } }), { what: 'logs -f to open the log' });
      expect((await t.cli(['start', 'fast', '--no-wait'])).code).toBe(0);
      // Sampled while it writes: the live log never passes log_max_mb.
      let largest = 0;
      await waitFor(() => {
        const size = statSync(log, { throwIfNoEntry: false })?.size ?? 0;
        largest = Math.max(largest, size);
        return countLines(logFiles(log).map((f) => readFileSync(f, 'latin1')).join(''), total).seen === total;
      }, { timeoutMs: 120_000, intervalMs: 5, what: 'every line in the log files' });
      expect(largest).toBeGreaterThan(0);
      expect(largest).toBeLessThanOrEqual(4 * MB);
      // Every rotated file is log_max_mb exactly; together with the log, every line once, in order.
      const files = logFiles(log);
      expect(files.length).toBe(Math.ceil((total * 100) / (4 * MB)));
      for (const f of files.slice(0, -1)) expect(statSync(f).size).toBe(4 * MB);
      expect(countLines(files.map((f) => readFileSync(f, 'latin1')).join(''), total)).toEqual({ seen: total, missing: 0, disorder: 0 });
      // logs -f saw every line, across the rotations, in order.
      // Until it printed the last line, or printed nothing more for 10 s (then the counts say what it missed).
      let printed = -1;
      let movedAt = Date.now();
      await waitFor(() => {
        if (followed.length !== printed) { printed = followed.length; movedAt = Date.now(); }
        return followed.endsWith(`${String(total - 1).padStart(10, '0')} ${'x'.repeat(88)}\n`) || Date.now() - movedAt > 10_000;
      }, { timeoutMs: 120_000, what: 'logs -f to print the last line' });
      follow.kill('SIGTERM');
      await follow;
      expect(countLines(followed, total)).toEqual({ seen: total, missing: 0, disorder: 0 });
    } finally {
      if (follow.pid) try { process.kill(follow.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }, 300_000);

  it('is set by register --log-writer, as every field has its flag', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['register', 'w', 'sleep 100', '--log-max-mb', '1', '--log-writer']);
    expect(res.code).toBe(0);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).w).toMatchObject({ command: 'sleep 100', log_max_mb: 1, log_writer: true });
    expect((await t.cli(['register', 'w', 'sleep 100', '--no-log-writer'])).code).toBe(0);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).w.log_writer).toBe(false);
  });

  it('keeps the exit status the program\'s own, through the writer', async () => {
    const t = tmpRegistry({ once: { command: `node ${APPS}numbered.mjs 50 1000 3`, auto_restart: false, log_writer: true } });
    await t.cli(['start', 'once', '--no-wait']);
    const exit = await waitFor(() => [...t.runs('once').exits.values()][0], { timeoutMs: 20_000, what: 'the exit line' });
    expect(decodeWaitStatus(exit.status!)).toEqual({ code: 3, signal: null });
    await waitFor(() => countLines(t.logOf('once'), 1000).seen === 1000, { timeoutMs: 15_000, what: 'all 1,000 lines in the log' });
  });

  it('stop leaves nothing behind, the writer included, even when a daemon the run left holds its stdout', async () => {
    // The daemon double-forks out of the run's tree and group (setsid), as a real one does, keeping stdout.
    const t = tmpRegistry({ d: { command: `(setsid sleep 3600 &) ; exec node ${APPS}numbered.mjs 1`, log_writer: true, kill_timeout: 2 } });
    await t.cli(['start', 'd', '--no-wait']);
    const state = () => JSON.parse(readFileSync(join(t.stateDir, 'procs', 'd', 'state.json'), 'utf8'));
    const runner = await waitFor(() => state().runner?.pid as number | undefined, { what: 'the runner' });
    await waitFor(() => t.logOf('d').length > 0, { what: 'output through the writer' });
    const daemon = await waitFor(() => pidsWithEnv(`PGUARD_STATE_DIR=${t.stateDir}`).find((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'latin1').startsWith('sleep\0'); } catch { return false; } }), { what: 'the daemon' });
    const cmdline = (p: number) => { try { return readFileSync(`/proc/${p}/cmdline`, 'latin1'); } catch { return ''; } };
    const helpers = descendantsOf(runner).filter((p) => !cmdline(p).startsWith('node'));
    expect(helpers.length).toBeGreaterThan(0); // the writer (sh) and its dd
    expect((await t.cli(['stop', 'd'])).code).toBe(0);
    expect(alive(runner)).toBe(false);
    await waitFor(() => helpers.every((p) => !alive(p)), { timeoutMs: 3_000, what: 'the writer gone' });
    expect(alive(daemon)).toBe(true); // not ours to end: it left the run's tree; the cleanup kills it
    expect(existsSync(join(t.stateDir, 'procs', 'd', 'log.pipe'))).toBe(true);
  });

  it('healthcheck still rotates a log past 1.1 x log_max_mb of a run started before log_writer was set (its runner has no writer)', async () => {
    const t = tmpRegistry({ noisy: { command: 'while :; do echo 0123456789012345678901234567890123456789; done', log_max_mb: 0.01, log_keep: 2 } });
    await t.cli(['start', 'noisy', '--no-wait']);
    writeFileSync(t.registry, `${JSON.stringify({ noisy: { command: 'while :; do echo 0123456789012345678901234567890123456789; done', log_max_mb: 0.01, log_keep: 2, log_writer: true } }, null, 2)}\n`);
    const log = join(t.stateDir, 'logs', 'noisy.log');
    await waitFor(() => (statSync(log, { throwIfNoEntry: false })?.size ?? 0) > 0.01 * MB * 1.1, { what: 'the log past 1.1 x log_max_mb' });
    await t.cli(['healthcheck']);
    expect(existsSync(`${log}.1`)).toBe(true);
  });

  it('a killed writer: the run dies of SIGPIPE, recorded as such, and the next run writes through a new writer', async () => {
    const t = tmpRegistry({ w: { command: 'while :; do echo tick; done', log_writer: true, restart_cooldown: 0, min_uptime: 1 } });
    await t.cli(['start', 'w', '--no-wait']);
    const runner = await waitFor(() => JSON.parse(readFileSync(join(t.stateDir, 'procs', 'w', 'state.json'), 'utf8')).runner?.pid as number | undefined, { what: 'the runner' });
    await waitFor(() => t.logOf('w').length > 0, { what: 'output' });
    const run = [...t.runs('w').starts.values()][0]!;
    // The writer (a subshell of the runner) and its dd are the runner's group's other members.
    const writer = groupMembers(runner).filter((p) => p !== runner);
    expect(writer.length).toBeGreaterThan(0);
    const exit = await waitFor(() => {
      for (const p of groupMembers(runner)) if (p !== runner) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
      return t.runs('w').exits.get(run.id);
    }, { what: 'the run\'s exit' });
    expect(decodeWaitStatus(exit.status!)).toEqual({ code: null, signal: 'SIGPIPE' });
    await waitFor(() => [...t.runs('w').starts.values()].find((r) => r.id !== run.id), { timeoutMs: 20_000, what: 'the next run' });
    // Its output reaches the log only through a writer: a new one.
    const size = statSync(join(t.stateDir, 'logs', 'w.log')).size;
    await waitFor(() => statSync(join(t.stateDir, 'logs', 'w.log')).size > size, { what: 'the log growing again' });
  });
});
