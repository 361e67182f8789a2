// `npm run demo`, the first thing a newcomer runs (README), as they run it: whole, and piped to
// `head` (which closes the pipe after a few lines). Either way it ends, removes its folder, and
// leaves no process of its own behind.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';

const DEMO = fileURLToPath(new URL('../../dist/demo.js', import.meta.url));

/** PIDs of live processes whose command line or working folder names `dir`. */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      try { cwd = readlinkSync(`/proc/${entry}/cwd`); } catch { /* gone, or not ours to read */ }
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (state !== 'Z' && (cmdline.includes(dir) || cwd.startsWith(dir))) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/** Run the demo; read `lines` lines of it, then close its stdout as `head` does (or read it all). */
async function runDemo(lines: number | null): Promise<{ code: number | null; out: string; dir: string }> {
  const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let dir = '';
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      dir ||= /registry: (\S+)\/\.process-registry\.json/.exec(out)?.[1] ?? '';
      if (lines !== null && out.split('\n').length > lines && dir) { child.stdout.destroy(); resolve(); }
    });
    child.stdout.once('close', () => resolve());
  });
  return { code: await done, out, dir };
}

describe('npm run demo', () => {
  it('runs whole: shows the crash and the recovery, then removes its folder and leaves nothing running', async () => {
    const { code, out, dir } = await runDemo(null);
    expect(code, out).toBe(0);
    expect(out).toMatch(/flaky\s+running pid \d+ restarts [1-9]/);
    expect(out).toContain(`removed ${dir}`);
    expect(existsSync(dir)).toBe(false);
    await waitFor(() => processesIn(dir).length === 0, { timeoutMs: 5000, what: 'no process of the demo left' });
  }, 60_000);

  it('piped to head (the pipe closed after 3 lines): it ends at once, removes its folder and leaves nothing running', async () => {
    const started = Date.now();
    const { code, dir } = await runDemo(3);
    expect(dir).not.toBe('');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000); // not the whole 14 s show for nobody
    expect(existsSync(dir)).toBe(false);
    await waitFor(() => processesIn(dir).length === 0, { timeoutMs: 5000, what: 'no process of the demo left' });
  }, 60_000);
});
