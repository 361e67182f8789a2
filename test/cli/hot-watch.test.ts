// `pguard watch`, the resident loop, runs from its own hot bundle (dist/bundle/hot-watch.cjs), not
// from the full CLI with yargs: that cut is most of what brings its memory near an idle Node's
// (bench/resident.mjs measures it; here, only which code runs).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

describe('pguard watch --foreground', () => {
  it('runs from its hot bundle, without the full CLI or yargs', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    // NODE_DEBUG names every CommonJS module loaded (module) and every ES module linked (esm).
    const watch = spawn(process.execPath, [CLI, 'watch', '--foreground'], { env: { ...process.env, ...t.env, NODE_DEBUG: 'module,esm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watch.stdout.on('data', (d) => { out += d; });
    watch.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((res) => watch.once('exit', res));
    try {
      await waitFor(() => /watch started \(pid \d+\)/.test(out), { timeoutMs: 15_000, what: 'watch to start' });
    } finally {
      watch.kill('SIGTERM');
      await exited;
    }
    expect(out).toMatch(/watch stopped/);
    expect(err).toMatch(/load "[^"]*\/dist\/bundle\/hot-watch\.cjs"/);
    expect(err).not.toMatch(/dist\/bundle\/pguard\.js/);
    expect(err).not.toMatch(/node_modules\/yargs/);
  }, 30_000);
});
