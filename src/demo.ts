// `npm run demo`: a steady process and a flaky one from templates/demo.registry.json, in a private
// temporary folder. Shows the crash, the automatic recovery and the alert live, then stops
// everything it started and removes its files (also on Ctrl-C).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI_PATH, PACKAGE_ROOT } from './effects/spawn.js';
import { paint } from './cli/output.js';

const WATCH_S = 14;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-demo-')); // mode 0700
  const registry = join(dir, '.process-registry.json');
  // The same two processes in cmd.exe's words on Windows (ping -n 2 waits about a second).
  copyFileSync(join(PACKAGE_ROOT, 'templates', process.platform === 'win32' ? 'demo.registry.windows.json' : 'demo.registry.json'), registry);
  const env = { PGUARD_REGISTRY: registry, PGUARD_STATE_DIR: join(dir, 'state'), FORCE_COLOR: process.stdout.isTTY ? '1' : '0' };
  const pguard = (...args: string[]) => execa(process.execPath, [CLI_PATH, ...args], { env, reject: false, cwd: dir });
  // What is said, while someone reads it: a reader that closes the pipe (`npm run demo | head`)
  // ends the show, and the demo still stops what it started and removes its folder.
  let readerGone = false;
  const say = (text: string) => { if (!readerGone) console.log(text); };
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    say(paint('\n$ pguard stop --all', 'bold'));
    say((await pguard('stop', '--all')).stdout);
    rmSync(dir, { recursive: true, force: true });
    say(`removed ${dir}`);
  };
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    readerGone = true;
    void cleanup().then(() => process.exit(0));
  });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(signal, () => { void cleanup().then(() => process.exit(code)); });
  }

  try {
    say(paint('pguard demo: a steady process and a flaky one that crashes every 3 s.', 'bold'));
    say(`registry: ${registry}\n`);
    say(paint('$ pguard start --all', 'bold'));
    const start = await pguard('start', '--all');
    say(start.stdout);
    say(paint(`\nwatching for ${WATCH_S} s (every crash is recovered by the runner beside it, no daemon):`, 'bold'));
    const t0 = Date.now();
    const seen = new Map<string, string>();
    const seenAlerts = new Set<string>();
    while (Date.now() - t0 < WATCH_S * 1000 && !readerGone) {
      const stamp = `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
      const views = JSON.parse((await pguard('status', '--json')).stdout) as { name: string; status: string; pid: number | null; restarts: number; reason: string }[];
      for (const v of views) {
        const line = `${v.status}${v.pid ? ` pid ${v.pid}` : ''} restarts ${v.restarts}`;
        if (seen.get(v.name) !== line) {
          seen.set(v.name, line);
          const color = v.status === 'running' ? 'green' : v.status === 'failed' ? 'red' : 'yellow';
          say(`${stamp}  ${v.name.padEnd(6)} ${paint(line, color)}${v.status === 'crashed' || v.status === 'failed' ? `  (${v.reason})` : ''}`);
        }
      }
      const alerts = JSON.parse((await pguard('alerts', '--json')).stdout) as { id: string; severity: string; process: string; kind: string; message: string; count: number }[];
      for (const a of alerts) {
        const key = `${a.id}:${a.count}`;
        if (!seenAlerts.has(key)) {
          seenAlerts.add(key);
          say(`${stamp}  ${paint(`ALERT [${a.severity}] ${a.process} ${a.kind}${a.count > 1 ? ` x${a.count}` : ''}: ${a.message}`, a.severity === 'critical' ? 'red' : 'magenta')}`);
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    say(paint('\n$ pguard status', 'bold'));
    say((await pguard('status')).stdout);
    say(paint('\n$ pguard alerts        (what an agent reads at each turn, as --json)', 'bold'));
    say((await pguard('alerts')).stdout);
    say(paint('\n$ pguard logs flaky -n 4', 'bold'));
    say((await pguard('logs', 'flaky', '-n', '4')).stdout);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(`pguard demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
