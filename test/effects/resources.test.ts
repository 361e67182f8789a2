import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcessTable, readTreeUsage, readTreeUsageLive } from '../../src/effects/resources.js';
import { waitFor } from '../helpers/wait-for.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

function startGroup(cmd: string, args: string[]): number {
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  child.unref();
  started.push(child.pid!);
  return child.pid!;
}

/** Resident KB of one process as /proc/PID/status says it. */
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe.skipIf(process.platform !== 'linux')('tree usage from /proc', () => {
  it('counts a single-threaded shell\'s children and grandchildren, and a multi-threaded Node\'s children, as the process table does', async () => {
    const sh = startGroup('sh', ['-c', 'sleep 1000 & (sleep 1000 & wait) & wait']);
    // Node runs several threads: its child is listed under its main thread's children file.
    const node = startGroup(process.execPath, ['-e', "require('child_process').spawn('sleep', ['1000'], { stdio: 'ignore' }); setInterval(() => {}, 1e6)"]);
    // A child forked by a thread other than the main one is listed under that thread alone.
    const py = startGroup('/usr/bin/python3', ['-c', "import threading, subprocess, time\ndef run():\n    subprocess.Popen(['sleep', '1000'])\n    time.sleep(1000)\nthreading.Thread(target=run, daemon=True).start()\ntime.sleep(1000)"]);
    const table0 = async () => readTreeUsage(await readProcessTable(), py).pids;
    await waitFor(async () => (readTreeUsageLive(sh)?.pids ?? 0) >= 4 && (readTreeUsageLive(node)?.pids ?? 0) >= 2 && (await table0()) >= 2, 10_000, 'the trees to form');
    const table = await readProcessTable();
    expect(readTreeUsageLive(py)!.pids).toBe(2);
    for (const root of [sh, node, py]) {
      const live = readTreeUsageLive(root)!;
      const fromTable = readTreeUsage(table, root);
      expect(live.pids).toBe(fromTable.pids);
      expect(Math.abs(live.rssMb - fromTable.rssMb)).toBeLessThan(2);
    }
    expect(readTreeUsageLive(sh)!.pids).toBe(4); // sh, sleep, the subshell, its sleep
    expect(readTreeUsageLive(node)!.pids).toBe(2);
    // Node's own resident memory is most of its tree's, in MB as /proc/PID/status has it.
    expect(readTreeUsageLive(node)!.rssMb).toBeGreaterThanOrEqual(Math.floor(rssKb(node) / 1024));
  });

  it('has nothing for a process that is gone', () => {
    expect(readTreeUsageLive(2 ** 22 + 7)).toBeNull();
  });
});
