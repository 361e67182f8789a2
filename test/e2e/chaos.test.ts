// A 60-second chaos run (bench/chaos.mjs) is part of the suite: random SIGKILLs of processes,
// runners, groups and sessions while CLI calls run, then the invariants: each process exactly
// once, nothing lost, no orphan after stop --all, registry and ledger intact, restart counts equal
// to the ledger's. `npm run chaos` runs it for 10 minutes.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHAOS = fileURLToPath(new URL('../../bench/chaos.mjs', import.meta.url));

describe('chaos', () => {
  it('keeps every process exactly once through a minute of random kills and concurrent CLI calls', async () => {
    const seed = Date.now() % 100_000;
    const res = await execa(process.execPath, [CHAOS, '--seconds', '60', '--seed', String(seed)], { reject: false, timeout: 300_000 });
    const summary = JSON.parse(res.stdout) as Record<string, unknown>;
    // The whole summary on failure, with its seed to replay it: node bench/chaos.mjs --seed N.
    expect(summary, res.stderr).toMatchObject({
      ok: true, settled: true, duplicates: [], lost: [], orphans: [], registry_intact: true, ledger_ok: true, restart_mismatch: [], cli_failures: [],
    });
    expect(Object.values(summary.kills as Record<string, number>).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
  }, 300_000);
});
