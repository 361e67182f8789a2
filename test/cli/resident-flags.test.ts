// The long-lived commands run with Node's start-up flags for them (RESIDENT_NODE_FLAGS, app/jobs.ts):
// the watch that pguard starts in the background, and `pguard dashboard` / `pguard watch` run as a
// command (bin/pguard.js's first line, for sh). Seen in the running process's own command line.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RESIDENT_NODE_FLAGS } from '../../src/app/jobs.js';
import { CLI } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const commandLine = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const linux = process.platform === 'linux';

describe('the long-lived commands\' Node flags', () => {
  it('are the same in bin/pguard.js\'s first line and app/jobs.ts', () => {
    const line = readFileSync(CLI, 'utf8').split('\n')[1]!;
    const m = /case "\$1" in watch\|dashboard\) exec node (.*) -- "\$0" "\$@";; esac; exec node -- "\$0" "\$@"$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(m![1]!.split(' ')).toEqual([...RESIDENT_NODE_FLAGS]);
  });

  it.runIf(linux)('are on the command line of the watch that `pguard watch` starts', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    const started = await t.cli(['watch']);
    expect(started.code, started.stderr).toBe(0);
    const pid = Number(/started \(pid (\d+)\)/.exec(started.stdout)?.[1]);
    try {
      const argv = commandLine(pid);
      expect(argv.slice(1, 1 + RESIDENT_NODE_FLAGS.length)).toEqual([...RESIDENT_NODE_FLAGS]);
      expect(argv).toContain('--foreground');
    } finally {
      const stopped = await t.cli(['watch', '--stop']);
      expect(stopped.stdout).toMatch(new RegExp(`stopped pguard watch \\(pid ${pid}\\)`));
    }
  }, 30_000);

  it.runIf(linux)('are on the command line of `pguard dashboard` run as a command', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    // Run as a command, as a shell does (its first line, for sh, starts Node).
    const dash = spawn(CLI, ['dashboard', '--port', '0'], { env: { ...process.env, ...t.env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    dash.stdout.on('data', (d) => { out += d; });
    const exited = new Promise((res) => dash.once('exit', res));
    try {
      await waitFor(() => /^pguard dashboard: http/.test(out), { timeoutMs: 15_000, what: 'the dashboard' });
      const argv = commandLine(dash.pid!);
      expect(argv.slice(1, 1 + RESIDENT_NODE_FLAGS.length)).toEqual([...RESIDENT_NODE_FLAGS]);
      expect(argv).toContain('dashboard');
    } finally {
      dash.kill('SIGINT');
      await exited;
    }
  }, 30_000);
});
