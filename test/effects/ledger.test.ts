import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { appendLedger, readSegments, verifyLedger } from '../../src/effects/ledger-file.js';
import { canonicalize, GENESIS } from '../../src/core/ledger-chain.js';
import { sha256 } from '../../src/effects/hash.js';
import { ledgerKeyPath } from '../../src/effects/ledger-key.js';
import { ledgerMarkPath, readLedgerMark } from '../../src/effects/ledger-mark.js';

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
    expect(verifyLedger(dir).problem).toEqual({ segment: 'ledger.jsonl', line: 3, seq: 3, message: 'does not match its own hash: it was edited', kind: 'tampered' });
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

  it('notices an entry rewritten with a fresh hash (its signature no longer matches)', async () => {
    const dir = await ledgerWith(3);
    const ls = lines(dir);
    const e = JSON.parse(ls[1]!);
    e.details.code = 0;
    const { canonicalize } = await import('../../src/core/ledger-chain.js');
    const { sha256 } = await import('../../src/effects/hash.js');
    e.hash = sha256(canonicalize({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details, prev: e.prev }));
    ls[1] = JSON.stringify(e);
    write(dir, ls);
    expect(verifyLedger(dir).problem).toMatchObject({ line: 2, seq: 2, message: 'has a signature that does not match: it was rewritten without the ledger key' });
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

/** What someone who can write the state directory, but not read the key, can do: edit, then recompute the chain and the head. */
function rehash(dir: string, edit: (entries: Record<string, any>[]) => void, opts: { stripSignatures?: boolean } = {}): void {
  const entries = lines(dir).map((l) => JSON.parse(l) as Record<string, any>);
  edit(entries);
  let prev = GENESIS;
  for (const [i, e] of entries.entries()) {
    e.seq = i + 1;
    e.prev = prev;
    e.hash = sha256(canonicalize({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details, prev: e.prev }));
    if (opts.stripSignatures) { delete e.mac; delete e.kid; }
    prev = e.hash;
  }
  write(dir, entries.map((e) => JSON.stringify(e)));
  const last = entries.at(-1)!;
  const old = readFileSync(join(dir, 'ledger.head'), 'utf8').trim().split(' ');
  writeFileSync(join(dir, 'ledger.head'), opts.stripSignatures ? `${last.seq} ${last.hash}\n` : `${last.seq} ${last.hash} ${old[2]} ${old[3]}\n`);
}

describe('the signed ledger (key outside the state directory)', () => {
  it('signs every entry and the head with a key it keeps 0600 in $XDG_CONFIG_HOME/pguard', async () => {
    const dir = await ledgerWith(3);
    const key = ledgerKeyPath(process.env);
    expect(key).toBe(join(process.env.XDG_CONFIG_HOME!, 'pguard', 'ledger.key'));
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(join(process.env.XDG_CONFIG_HOME!, 'pguard')).mode & 0o777).toBe(0o700);
    for (const l of lines(dir)) expect(JSON.parse(l)).toMatchObject({ kid: expect.stringMatching(/^[0-9a-f]{12}$/), mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readFileSync(join(dir, 'ledger.head'), 'utf8')).toMatch(/^3 [0-9a-f]{64} [0-9a-f]{12} [0-9a-f]{64}\n$/);
    expect(verifyLedger(dir)).toMatchObject({ ok: true, entries: 3, signed: 3, unsigned: 0 });
  });

  it('catches a chain recomputed without the key: with the signatures kept, dropped on one entry, or stripped from all', async () => {
    const edit = (es: Record<string, any>[]) => { es[1]!.details.code = 0; };
    const kept = await ledgerWith(4);
    rehash(kept, edit);
    expect(verifyLedger(kept).problem).toMatchObject({ seq: 2, kind: 'tampered', message: 'has a signature that does not match: it was rewritten without the ledger key' });
    const one = await ledgerWith(4);
    rehash(one, (es) => { edit(es); delete es[1]!.mac; delete es[1]!.kid; });
    expect(verifyLedger(one).problem).toMatchObject({ seq: 2, message: 'is not signed, though the entries before it are: it was written without the ledger key' });
    const all = await ledgerWith(4);
    rehash(all, edit, { stripSignatures: true });
    const res = verifyLedger(all);
    expect(res).toMatchObject({ ok: false, problem: { kind: 'unverifiable' } });
    expect(res.problem!.message).toMatch(/^no entry is signed: the chain is intact, but anyone who can write the state directory could have rewritten it/);
  });

  it('says when the key is gone or unsafe, and never calls that intact', async () => {
    const dir = await ledgerWith(2);
    const key = ledgerKeyPath(process.env);
    chmodSync(key, 0o644);
    expect(verifyLedger(dir).problem).toMatchObject({ kind: 'unverifiable', line: 1, seq: 1 });
    expect(verifyLedger(dir).problem!.message).toBe(`is signed, but the ledger key is not available (${key} is open to others (mode 644); chmod 600 it): the signatures cannot be checked`);
    chmodSync(key, 0o600);
    renameSync(key, `${key}.away`);
    expect(verifyLedger(dir).problem!.message).toBe(`is signed, but the ledger key is not available (no key at ${key}): the signatures cannot be checked`);
    // verify never makes a key; the next append does, and the old entries are then signed with another.
    expect(existsSync(key)).toBe(false);
    renameSync(`${key}.away`, key);
    expect(verifyLedger(dir).ok).toBe(true);
  });

  it('reports a missing head, a head that is not one, an entry past the head and an emptied ledger with a head', async () => {
    const missing = await ledgerWith(2);
    rmSync(join(missing, 'ledger.head'));
    expect(verifyLedger(missing).problem).toMatchObject({ segment: 'ledger.head', message: 'is missing: the end of the ledger cannot be checked (deleted, or the ledger was replaced)' });
    const garbage = await ledgerWith(2);
    writeFileSync(join(garbage, 'ledger.head'), 'hello\n');
    expect(verifyLedger(garbage).problem).toMatchObject({ segment: 'ledger.head', message: 'is not a head ("hello\\n"): damaged or replaced' });
    const past = await ledgerWith(3);
    const head = readFileSync(join(past, 'ledger.head'), 'utf8');
    await appendLedger(past, { at: new Date().toISOString(), event: 'exit', process: 'bot', details: {} });
    writeFileSync(join(past, 'ledger.head'), head);
    expect(verifyLedger(past).problem!.message).toMatch(/^goes on past the head \(seq 3\)/);
    const emptied = await ledgerWith(3);
    writeFileSync(file(emptied), '');
    expect(verifyLedger(emptied).problem!.message).toBe('ends at seq 0, but 3 entries were written: the end was truncated');
  });

  it('checks an anchor kept elsewhere: a ledger rewritten with the key passes everything else, not --expect', async () => {
    const dir = await ledgerWith(4);
    const third = JSON.parse(lines(dir)[2]!);
    const anchor = { seq: 3, hash: third.hash as string };
    expect(verifyLedger(dir, { expect: anchor })).toMatchObject({ ok: true, anchored: anchor });
    // Someone with the key (the user's own account) rewrites it: signatures and head all fresh.
    const ls = lines(dir).map((l) => JSON.parse(l));
    rmSync(file(dir));
    rmSync(join(dir, 'ledger.head'));
    for (const e of ls) await appendLedger(dir, { at: e.at, event: e.event, process: e.process, details: e.seq === 2 ? { ...e.details, code: 0 } : e.details });
    expect(verifyLedger(dir).ok).toBe(true);
    expect(verifyLedger(dir, { expect: anchor }).problem).toMatchObject({ seq: 3, message: expect.stringMatching(/^is not the entry you anchored \(hash [0-9a-f]{12}…, anchored [0-9a-f]{12}…\): the ledger was rewritten$/) });
    expect(verifyLedger(dir, { expect: { seq: 9, hash: anchor.hash } }).problem!.message).toBe('ends at seq 4, before the entry you anchored (seq 9): it was truncated or replaced');
  });

  it('moves a torn last line (a crash mid-append) aside at the next append, records it, and verifies again', async () => {
    const dir = await ledgerWith(3);
    const torn = '{"seq":4,"at":"2027-01-1';
    writeFileSync(file(dir), `${readFileSync(file(dir), 'utf8')}${torn}`);
    // Before the next append: intact, with the torn line named.
    expect(verifyLedger(dir)).toMatchObject({ ok: true, entries: 3, torn: { segment: 'ledger.jsonl', line: 4, bytes: torn.length } });
    await appendLedger(dir, { at: new Date().toISOString(), event: 'exit', process: 'bot', details: {} });
    const res = verifyLedger(dir);
    expect(res).toMatchObject({ ok: true, entries: 5, torn: null, repaired: [{ seq: 4, bytes: torn.length }] });
    expect(JSON.parse(lines(dir)[3]!)).toMatchObject({ event: 'ledger-repaired', details: { torn_bytes: torn.length, kept_in: 'ledger.torn' } });
    expect(JSON.parse(readFileSync(join(dir, 'ledger.torn'), 'utf8'))).toMatchObject({ segment: 'ledger.jsonl', text: torn });
    // A whole last line that is not JSON was not cut by a crash: it is reported, not moved.
    writeFileSync(file(dir), `${readFileSync(file(dir), 'utf8')}not json\n`);
    expect(verifyLedger(dir).problem).toMatchObject({ line: 6, message: 'is not valid JSON (edited or cut)' });
  });
});

describe('where a ledger was begun, kept beside the key (issue 22, point 11)', () => {
  it('records entry 1 outside the state directory, and reports a ledger deleted whole or begun again', async () => {
    const dir = await ledgerWith(3);
    const first = JSON.parse(lines(dir)[0]!);
    const markFile = ledgerMarkPath(dir, process.env);
    expect(markFile).toMatch(new RegExp(`^${process.env.XDG_CONFIG_HOME}/pguard/ledgers/[0-9a-f]{16}\\.json$`));
    expect(statSync(markFile).mode & 0o777).toBe(0o600);
    expect(readLedgerMark(dir, process.env)).toEqual({ state_dir: dir, at: first.at, hash: first.hash });
    rmSync(file(dir));
    rmSync(join(dir, 'ledger.head'));
    expect(verifyLedger(dir)).toMatchObject({ ok: false, entries: 0, problem: { segment: 'ledger.jsonl', line: 0, seq: null, kind: 'tampered' } });
    expect(verifyLedger(dir).problem!.message).toBe(`is missing, and so is ledger.head, but a ledger was begun here on ${first.at} (its entry 1 is ${first.hash.slice(0, 12)}…, as ${markFile} records, outside the state directory): it was deleted or emptied. If you deleted it yourself, delete that record to begin afresh.`);
    await appendLedger(dir, { at: new Date().toISOString(), event: 'start', process: 'bot', details: {} });
    expect(verifyLedger(dir).problem).toMatchObject({ segment: 'ledger.jsonl', line: 1, seq: 1, message: expect.stringMatching(/^begins a new ledger, but the one begun here on /) });
    // The user who deleted it: removing the record accepts the new ledger.
    rmSync(markFile);
    expect(verifyLedger(dir)).toMatchObject({ ok: true, entries: 1 });
  });

  it('gives a ledger begun before marks were kept its mark at the next append, and leaves a state directory never written empty and ok', async () => {
    const dir = await ledgerWith(2);
    const first = JSON.parse(lines(dir)[0]!);
    rmSync(ledgerMarkPath(dir, process.env));
    // Another process (this one remembers it looked): its first append marks entry 1 as it is.
    const mod = new URL('../../dist/effects/ledger-file.js', import.meta.url).pathname;
    await run(process.execPath, ['-e', `import('${mod}').then((m) => m.appendLedger(${JSON.stringify(dir)}, { at: new Date().toISOString(), event: 'exit', process: 'bot', details: {} }))`]);
    expect(readLedgerMark(dir, process.env)).toMatchObject({ hash: first.hash });
    const fresh = mkdtempSync(join(tmpdir(), 'pguard-ledger-'));
    dirs.push(fresh);
    expect(verifyLedger(fresh)).toMatchObject({ ok: true, entries: 0, problem: null });
  });

  it('takes no mark that is not a regular file of this user\'s naming this state directory', async () => {
    const dir = await ledgerWith(1);
    const markFile = ledgerMarkPath(dir, process.env);
    writeFileSync(markFile, JSON.stringify({ state_dir: '/elsewhere', at: 'x', hash: 'a'.repeat(64) }));
    expect(readLedgerMark(dir, process.env)).toBeNull();
    expect(verifyLedger(dir).ok).toBe(true);
  });
});
