// A ledger of many segments on disk (written by the built appendLedger in a child process, with a
// tiny segment size): a window's read gives history and the timeline what a whole read gives, and
// retention archives old segments behind a signed anchor that verify checks.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedgerEvents, verifyLedger, verifyLedgerAsync } from '../../src/effects/ledger-file.js';
import { describeProcessHistory } from '../../src/app/history.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

const DAY = 86_400_000;
const NOW = Date.parse('2031-06-01T00:00:00.000Z');
const MOD = new URL('../../dist/effects/ledger-file.js', import.meta.url).pathname;

/**
 * A state directory with `days` days of five processes' events (exits, restarts, stops, a
 * deregister and a re-register), `perDay` episodes a day, ending at NOW, written through appendLedger
 * with segments of ~3 KB; `retention`: ledger_keep_days / ledger_archive as recordEvents passes them.
 */
async function writeHistory(days: number, perDay: number, retention: { keepDays?: number; archive?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-ledger-window-'));
  dirs.push(dir);
  const state = join(dir, 'state');
  const env = { ...process.env, PGUARD_LEDGER_KEY_FILE: join(dir, 'key', 'ledger.key'), PGUARD_LEDGER_SEGMENT_BYTES: '3000' };
  const script = `
    const m = await import(${JSON.stringify(MOD)});
    const fs = await import('node:fs');
    fs.mkdirSync(${JSON.stringify(state)}, { mode: 0o700 });
    let seed = 7; const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const names = ['a', 'b', 'c', 'd', 'e'];
    const begin = ${NOW} - ${days} * ${DAY};
    const total = ${days * perDay};
    for (let k = 0; k < total; k++) {
      const t = begin + Math.round((k + rand()) * ${DAY} / ${perDay});
      const p = names[k % 5];
      const iso = (x) => new Date(x).toISOString();
      const r = rand();
      const batch = r < 0.6
        ? [{ event: 'exit', details: { run: '1.' + k, ended_at: iso(t), code: 1, outcome: 'running' } }, { event: 'restart', details: { reason: 'x' } }]
        : r < 0.8 ? [{ event: 'stop', details: {} }, { event: 'exit', details: { run: '1.' + k, ended_at: iso(t), code: 143, outcome: 'stopped' } }, { event: 'start', details: {} }]
        : r < 0.9 ? [{ event: 'exit', details: { run: '1.' + k, ended_at: iso(t), code: 1, outcome: 'failed' } }, { event: 'give-up', details: {} }]
        : [{ event: 'deregister', details: {} }, { event: 'register', details: {} }];
      await Promise.all(batch.map((e, i) => m.appendLedger(${JSON.stringify(state)}, { at: iso(t + i), event: e.event, process: p, details: e.details }, process.env, ${JSON.stringify(retention)})));
    }`;
  await run(process.execPath, ['--input-type=module', '-e', script], { env });
  return { state, env };
}

const noRuns = { starts: new Map(), exits: new Map(), leftovers: new Map(), latest: null } as unknown as Parameters<typeof describeProcessHistory>[2];

describe('reading a window of a ledger of many segments', () => {
  it('gives history and the timeline the same failures and segments as reading it whole, from fewer entries', async () => {
    const { state } = await writeHistory(30, 10);
    const closed = readdirSync(state).filter((n) => /^ledger\.\d+-\d+\.jsonl$/.test(n));
    expect(closed.length).toBeGreaterThan(20);
    expect(readdirSync(state).filter((n) => n.endsWith('.carry.json'))).toHaveLength(closed.length);
    const whole = readLedgerEvents(state, null);
    for (const since of [NOW - 3_600_000, NOW - DAY, NOW - 7 * DAY, NOW - 29 * DAY, NOW - 40 * DAY]) {
      const part = readLedgerEvents(state, since);
      if (since >= NOW - 7 * DAY) expect(part.length).toBeLessThan(whole.length / 2);
      for (const name of ['a', 'b', 'c', 'd', 'e']) {
        const of = (list: typeof whole) => list.filter((e) => e.process === name);
        const want = describeProcessHistory(name, of(whole), noRuns, since, NOW);
        const got = describeProcessHistory(name, of(part), noRuns, since, NOW);
        expect({ failures: got.failures, segments: got.segments, summary: got.summary }).toEqual({ failures: want.failures, segments: want.segments, summary: want.summary });
      }
    }
  });
});

describe('retention (ledger_keep_days)', () => {
  it('archives the segments older than the setting behind a signed anchor; verify proves the rest, and --archive all of it', async () => {
    const { state, env } = await writeHistory(20, 6, { keepDays: 5 });
    const archived = readdirSync(join(state, 'ledger-archive'));
    expect(archived.length).toBeGreaterThan(5);
    expect(archived.every((n) => /^ledger\.\d{9}-\d{9}\.jsonl\.gz$/.test(n))).toBe(true);
    const anchor = readFileSync(join(state, 'ledger.anchor'), 'utf8').trim().split(' ');
    expect(anchor).toHaveLength(4);
    const lastArchived = Number(/-(\d+)\.jsonl\.gz$/.exec(archived.sort().at(-1)!)![1]);
    expect(Number(anchor[0])).toBe(lastArchived);
    // Every live closed segment has an entry younger than 5 days before the last append.
    const live = readdirSync(state).filter((n) => /^ledger\.\d+-\d+\.jsonl$/.test(n)).sort();
    expect(Number(/^ledger\.(\d+)-/.exec(live[0]!)![1])).toBe(lastArchived + 1);
    // Carries before the live chain's start are gone, but the one it begins after.
    expect(readdirSync(state).filter((n) => n.endsWith('.carry.json')).length).toBe(live.length + 1);
    const res = verifyLedger(state, { env });
    expect(res).toMatchObject({ ok: true, archived_through: lastArchived });
    const all = verifyLedger(state, { env, archive: true });
    expect(all).toMatchObject({ ok: true, entries: res.last!.seq });
    // The window's read still works from the live chain's first segment (its carry kept).
    expect(readLedgerEvents(state, NOW - 2 * DAY).length).toBeGreaterThan(0);

    // An archived entry edited: only --archive sees it, and names the archived file.
    const victim = archived.sort()[2]!;
    const text = gunzipSync(readFileSync(join(state, 'ledger-archive', victim))).toString('utf8').replace('"code":1', '"code":0');
    writeFileSync(join(state, 'ledger-archive', victim), gzipSync(text));
    expect(verifyLedger(state, { env }).ok).toBe(true);
    expect(verifyLedger(state, { env, archive: true }).problem).toMatchObject({ segment: `ledger-archive/${victim}`, message: 'does not match its own hash: it was edited' });
  });

  it('deletes them with ledger_archive false, and verify still proves the rest', async () => {
    const { state, env } = await writeHistory(20, 6, { keepDays: 5, archive: false });
    expect(existsSync(join(state, 'ledger-archive'))).toBe(false);
    expect(existsSync(join(state, 'ledger.anchor'))).toBe(true);
    expect(verifyLedger(state, { env }).ok).toBe(true);
  });

  it('names live segments deleted with an anchor forged to cover them (it cannot be signed without the key)', async () => {
    const { state, env } = await writeHistory(20, 6, { keepDays: 5 });
    const live = readdirSync(state).filter((n) => /^ledger\.\d+-\d+\.jsonl$/.test(n)).sort();
    const gone = readFileSync(join(state, live[0]!), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    unlinkSync(join(state, live[0]!));
    const last = gone.at(-1);
    const [, , kid] = readFileSync(join(state, 'ledger.anchor'), 'utf8').trim().split(' ');
    writeFileSync(join(state, 'ledger.anchor'), `${last.seq} ${last.hash} ${kid} ${'ab'.repeat(32)}\n`);
    expect(verifyLedger(state, { env }).problem).toMatchObject({ segment: 'ledger.anchor', kind: 'tampered' });
    // And without any anchor the live chain no longer begins at entry 1.
    unlinkSync(join(state, 'ledger.anchor'));
    expect(verifyLedger(state, { env }).problem!.message).toMatch(/^has seq \d+ where 1 was expected: entries 1-\d+ are missing \(deleted\)$/);
  });
});

describe('verifying again in a process that lives (the dashboard\'s meta, MCP)', () => {
  it('resumes after the closed segments it verified, and still names one edited in place with its size and mtime kept', async () => {
    const { state, env } = await writeHistory(10, 6);
    const closed = readdirSync(state).filter((n) => /^ledger\.\d+-\d+\.jsonl$/.test(n)).sort();
    const victim = join(state, closed[3]!);
    // A whole-second mtime, so that it can be set back exactly after the edit.
    utimesSync(victim, 1_700_000_000, 1_700_000_000);
    const first = verifyLedger(state, { env });
    expect(first.ok).toBe(true);
    expect(verifyLedger(state, { env })).toEqual(first);
    const before = statSync(victim);
    writeFileSync(victim, readFileSync(victim, 'utf8').replace('"code":1', '"code":2'));
    utimesSync(victim, 1_700_000_000, 1_700_000_000);
    expect(statSync(victim)).toMatchObject({ size: before.size, mtimeMs: before.mtimeMs, ino: before.ino });
    expect(verifyLedger(state, { env }).problem).toMatchObject({ segment: closed[3], message: 'does not match its own hash: it was edited' });
  });
});

describe('verifying in turns', () => {
  it('gives the event loop its turn between segments and finds what the synchronous verify finds, a tampered line included', async () => {
    const { state, env } = await writeHistory(20, 4);
    const closed = readdirSync(state).filter((f) => /^ledger\.\d+-\d+\.jsonl$/.test(f));
    expect(closed.length).toBeGreaterThan(5);
    let turns = 0;
    const tick = setInterval(() => { turns++; }, 0);
    const inTurns = await verifyLedgerAsync(state, { env });
    clearInterval(tick);
    expect(inTurns).toEqual(verifyLedger(state, { env }));
    expect(inTurns.ok).toBe(true);
    // Timers ran while it worked: it yielded (a segment a turn), where one synchronous pass would not.
    expect(turns).toBeGreaterThan(2);
    // A line changed in the third closed segment: both say so, at the same place.
    const victim = join(state, closed.sort((a, b) => Number(a.split('.')[1]!.split('-')[0]) - Number(b.split('.')[1]!.split('-')[0]))[2]!);
    writeFileSync(victim, readFileSync(victim, 'utf8').replace(/"code":1/, '"code":2'));
    const tampered = await verifyLedgerAsync(state, { env });
    expect(tampered.ok).toBe(false);
    expect(tampered).toEqual(verifyLedger(state, { env }));
  });
});
