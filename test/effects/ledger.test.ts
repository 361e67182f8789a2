import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { appendLedger, readSegments, verifyLedger } from '../../src/effects/ledger-file.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

async function ledgerWith(n: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-ledger-'));
  dirs.push(dir);
  for (let i = 1; i <= n; i++) {
    await appendLedger(dir, { at: new Date(1_800_000_000_000 + i).toISOString(), event: 'exit', process: 'bot', details: { run: `1.${i}`, code: 1 } });
  }
  return dir;
}

const file = (dir: string) => join(dir, 'ledger.jsonl');
const lines = (dir: string) => readFileSync(file(dir), 'utf8').trimEnd().split('\n');
const write = (dir: string, ls: string[]) => writeFileSync(file(dir), `${ls.join('\n')}\n`);

describe('the audit ledger', () => {
  it('verifies an untouched chain', async () => {
    const dir = await ledgerWith(5);
    expect(verifyLedger(dir)).toMatchObject({ ok: true, entries: 5, segments: 1 });
  });

  it('names an edited entry', async () => {
    const dir = await ledgerWith(5);
    const ls = lines(dir);
    ls[2] = ls[2]!.replace('"code":1', '"code":0');
    write(dir, ls);
    expect(verifyLedger(dir).problem).toEqual({ segment: 'ledger.jsonl', line: 3, seq: 3, message: 'does not match its own hash: it was edited' });
  });

  it('names a deleted entry', async () => {
    const dir = await ledgerWith(5);
    const ls = lines(dir);
    ls.splice(1, 1);
    write(dir, ls);
    expect(verifyLedger(dir).problem).toMatchObject({ line: 2, seq: 3, message: 'has seq 3 where 2 was expected: entries 2 are missing (deleted)' });
  });

  it('names two swapped entries', async () => {
    const dir = await ledgerWith(5);
    const ls = lines(dir);
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    write(dir, ls);
    expect(verifyLedger(dir).problem).toMatchObject({ line: 2, seq: 3 });
    expect(verifyLedger(dir).problem!.message).toMatch(/^has seq 3 where 2 was expected/);
  });

  it('notices a truncated end', async () => {
    const dir = await ledgerWith(5);
    write(dir, lines(dir).slice(0, 3));
    expect(verifyLedger(dir).problem!.message).toBe('ends at seq 3, but 5 entries were written: the end was truncated');
  });

  it('notices an entry rewritten with a fresh hash (the chain no longer links)', async () => {
    const dir = await ledgerWith(3);
    const ls = lines(dir);
    const e = JSON.parse(ls[1]!);
    e.details.code = 0;
    const { canonicalize } = await import('../../src/core/ledger-chain.js');
    const { sha256 } = await import('../../src/effects/hash.js');
    e.hash = sha256(canonicalize({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details, prev: e.prev }));
    ls[1] = JSON.stringify(e);
    write(dir, ls);
    expect(verifyLedger(dir).problem).toMatchObject({ line: 3, seq: 3, message: "does not follow the entry before it: its prev is not that entry's hash" });
  });

  it('rotates into segments that verify as one chain, and names a broken boundary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-ledger-'));
    dirs.push(dir);
    // A child process with a tiny segment size writes 12 entries.
    const script = `import('${new URL('../../dist/effects/ledger-file.js', import.meta.url).pathname}').then(async (m) => { for (let i = 0; i < 12; i++) await m.appendLedger(${JSON.stringify(dir)}, { at: new Date().toISOString(), event: 'start', process: 'p', details: { i } }); })`;
    await run(process.execPath, ['-e', script], { env: { ...process.env, PGUARD_LEDGER_SEGMENT_BYTES: '800' } });
    const segs = readSegments(dir);
    expect(segs.length).toBeGreaterThan(2);
    expect(verifyLedger(dir)).toMatchObject({ ok: true, entries: 12, segments: segs.length });
    const second = readdirSync(dir).filter((n) => /^ledger\.\d+-\d+\.jsonl$/.test(n)).sort()[1]!;
    const ls = readFileSync(join(dir, second), 'utf8').trimEnd().split('\n');
    const first = JSON.parse(ls[0]!);
    first.prev = 'f'.repeat(64);
    ls[0] = JSON.stringify(first);
    writeFileSync(join(dir, second), `${ls.join('\n')}\n`);
    expect(verifyLedger(dir).problem).toMatchObject({ segment: second, line: 1, message: "does not follow the entry before it: its prev is not that entry's hash (the segment boundary is broken)" });
  });

  it('20 concurrent writers leave one valid chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-ledger-'));
    dirs.push(dir);
    const mod = new URL('../../dist/effects/ledger-file.js', import.meta.url).pathname;
    await Promise.all(Array.from({ length: 20 }, (_, w) => run(process.execPath, ['-e',
      `import('${mod}').then(async (m) => { for (let i = 0; i < 10; i++) await m.appendLedger(${JSON.stringify(dir)}, { at: new Date().toISOString(), event: 'exit', process: 'w${w}', details: { i } }); })`])));
    expect(verifyLedger(dir)).toMatchObject({ ok: true, entries: 200 });
  });
});
