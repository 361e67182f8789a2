// Retention through the CLI: $settings.ledger_keep_days archives old segments at a rotation; `audit
// verify` still proves the live chain from its signed anchor, `--archive` the whole of it, and a
// tampered archive or a forged anchor fails with one clear line.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const MOD = new URL('../../dist/effects/ledger-file.js', import.meta.url).pathname;
const SMALL = { PGUARD_LEDGER_SEGMENT_BYTES: '3000' };

describe('ledger retention through the CLI', () => {
  it('archives segments older than ledger_keep_days; verify proves the rest and --archive all of it; a tampered archive or a forged anchor fails', async () => {
    const t = tmpRegistry({});
    writeFileSync(t.registry, JSON.stringify({ $settings: { ledger_keep_days: 5 } }));
    // Twenty days ago to ten days ago: 120 entries, through the real append path, with the same key.
    const script = `const m = await import(${JSON.stringify(MOD)}); (await import('node:fs')).mkdirSync(${JSON.stringify(t.stateDir)}, { recursive: true, mode: 0o700 });
      for (let i = 0; i < 120; i++) await m.appendLedger(${JSON.stringify(t.stateDir)}, { at: new Date(Date.now() - (20 - i / 12) * 86400000).toISOString(), event: 'exit', process: 'old', details: { run: '1.' + i, code: 1, outcome: 'running' } });`;
    await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...t.env, ...SMALL } });
    expect(readdirSync(t.stateDir).some((n) => n === 'ledger-archive')).toBe(false);
    // Appends by the CLI now: the next rotation applies the setting.
    let n = 0;
    await waitFor(async () => {
      await t.cli(['register', `bot-${n++}`, 'exec sleep 1000'], { env: SMALL });
      return readdirSync(t.stateDir).includes('ledger-archive');
    }, { timeoutMs: 30_000 });
    const archived = readdirSync(join(t.stateDir, 'ledger-archive')).sort();
    const through = Number(readFileSync(join(t.stateDir, 'ledger.anchor'), 'utf8').split(' ')[0]);
    expect(through).toBe(Number(/-(\d+)\.jsonl\.gz$/.exec(archived.at(-1)!)![1]));

    const live = await t.cli(['audit', 'verify']);
    expect(live.code).toBe(0);
    expect(live.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ok: \d+ entries in \d+ segments?, chain intact, signed with ledger key [0-9a-f]{12}$/),
      `  entries 1-${through} left the live ledger by retention (ledger.anchor, signed); \`pguard audit verify --archive\` checks the archived ones`,
    ]);
    const whole = await t.cli(['audit', 'verify', '--archive']);
    expect(whole.code).toBe(0);
    expect(whole.stdout.split('\n')[0]).toMatch(new RegExp(`^ok: ${120 + n} entries in ${archived.length + readdirSync(t.stateDir).filter((f) => /^ledger(\.\d+-\d+)?\.jsonl$/.test(f)).length} segments`));

    // An archived entry edited: --archive names it.
    const victim = archived[0]!;
    const lines = gunzipSync(readFileSync(join(t.stateDir, 'ledger-archive', victim))).toString('utf8').split('\n');
    lines[1] = lines[1]!.replace('"code":1', '"code":0');
    writeFileSync(join(t.stateDir, 'ledger-archive', victim), gzipSync(lines.join('\n')));
    const tampered = await t.cli(['audit', 'verify', '--archive']);
    expect(tampered).toMatchObject({ code: 1, stdout: `TAMPERED: ledger-archive/${victim} line 2 (seq 2) does not match its own hash: it was edited`, stderr: '' });

    // An anchor moved forward (to hide live entries deleted after it) cannot be signed without the key.
    const [seq, hash, kid] = readFileSync(join(t.stateDir, 'ledger.anchor'), 'utf8').trim().split(' ');
    writeFileSync(join(t.stateDir, 'ledger.anchor'), `${Number(seq) + 5} ${hash} ${kid} ${'0'.repeat(64)}\n`);
    const forged = await t.cli(['audit', 'verify']);
    expect(forged).toMatchObject({ code: 1, stdout: 'TAMPERED: ledger.anchor has a signature that does not match: it was forged or rewritten without the ledger key (the live ledger\'s start cannot be trusted)', stderr: '' });
  });

  it('refuses a negative ledger_keep_days with a clear line naming it, no stack', async () => {
    const t = tmpRegistry({});
    writeFileSync(t.registry, JSON.stringify({ $settings: { ledger_keep_days: -1 } }));
    const res = await t.cli(['register', 'bot', 'exec sleep 1000']);
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')[0]).toBe(`pguard: ${t.registry}: "$settings".ledger_keep_days: expected a non-negative number, got -1 (number)`);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
