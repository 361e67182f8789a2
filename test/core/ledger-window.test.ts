// The pure parts of reading a large ledger by window and of retention (core/ledger-window.ts), and
// the verify of a chain whose start was archived (core/ledger-chain.ts, ledger.anchor).
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, formatHead, formatRetentionAnchor, hashOf, makeEntry, signEntry, verifyChain, type LedgerEntry, type Signer } from '../../src/core/ledger-chain.js';
import { carryForward, CARRY_PER_PROCESS, flattenCarry, selectExpired, selectWindowStart, WINDOW_SLACK_MS, type ChainlessEntry } from '../../src/core/ledger-window.js';

const H = 3_600_000;
const span = (i: number, firstAt: number) => ({ name: `s${i}`, first: i * 10 + 1, last: i * 10 + 10, firstAt });

describe('selectWindowStart', () => {
  it.each([
    { name: 'reads from the last segment that begins an hour or more before the window', firsts: [0, 10 * H, 20 * H, 30 * H], since: 25 * H, want: 2 },
    { name: 'goes one segment further back when the window starts within the hour slack', firsts: [0, 10 * H, 20 * H, 30 * H], since: 20.5 * H, want: 1 },
    { name: 'reads everything when the window begins before the second segment', firsts: [0, 10 * H, 20 * H], since: 5 * H, want: 0 },
    { name: 'reads only the newest when the window is after all of them', firsts: [0, 10 * H, 20 * H], since: 100 * H, want: 2 },
    { name: 'never skips past a segment whose first time is unknown', firsts: [0, 10 * H, NaN, 300 * H], since: 100 * H, want: 2 },
  ])('$name', ({ firsts, since, want }) => {
    expect(selectWindowStart(firsts.length, (i) => firsts[i]!, since)).toBe(want);
  });

  it('looks only at the segments it scans back through', () => {
    const asked: number[] = [];
    const firsts = Array.from({ length: 100 }, (_, i) => i * 10 * H);
    expect(selectWindowStart(firsts.length, (i) => { asked.push(i); return firsts[i]!; }, 985 * H)).toBe(98);
    expect(asked).toEqual([99, 98]);
  });

  it('has an hour of slack', () => expect(WINDOW_SLACK_MS).toBe(H));
});

const ev = (seq: number, process: string, event: string, details: Record<string, unknown> = {}): ChainlessEntry => ({ seq, at: new Date(seq * 1000).toISOString(), event, process, details });

describe('carryForward', () => {
  it('keeps each process\'s last four state events (exit, stop, deregister, an arming), in order, and nothing else', () => {
    const entries = [
      ev(1, 'a', 'exit'), ev(2, 'a', 'restart'), ev(3, 'a', 'alert'), ev(4, 'b', 'stop'), ev(5, 'a', 'exit'),
      ev(6, 'a', 'schedule', { action: 'run' }), ev(7, 'a', 'schedule', { action: 'armed' }), ev(8, 'a', 'deregister'), ev(9, 'a', 'exit'),
    ];
    const carry = carryForward({}, entries);
    expect(CARRY_PER_PROCESS).toBe(4);
    expect(carry.a!.map((e) => e.seq)).toEqual([5, 7, 8, 9]);
    expect(carry.b!.map((e) => e.seq)).toEqual([4]);
  });

  it('goes on from the carry before it, and flattens in ledger order', () => {
    const before = carryForward({}, [ev(1, 'a', 'exit'), ev(2, 'b', 'stop')]);
    const after = carryForward(before, [ev(3, 'b', 'exit'), ev(4, 'c', 'deregister')]);
    expect(flattenCarry(after).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // The one before is not changed.
    expect(before.b!.map((e) => e.seq)).toEqual([2]);
  });
});

describe('selectExpired', () => {
  const spans = (lastAts: number[]) => lastAts.map((t, i) => ({ ...span(i, NaN), lastAt: t }));
  it.each([
    { name: 'removes the oldest segments wholly older than the cut', lastAts: [1, 2, 3, 10], before: 5, want: 3 },
    { name: 'stops at the first one that is not, so the live chain stays one piece', lastAts: [1, 9, 3, 10], before: 5, want: 1 },
    { name: 'keeps one whose last entry is exactly at the cut', lastAts: [5], before: 5, want: 0 },
    { name: 'keeps one whose last time is unknown', lastAts: [NaN, 1], before: 5, want: 0 },
  ])('$name', ({ lastAts, before, want }) => {
    expect(selectExpired(spans(lastAts), before)).toBe(want);
  });
});

// A chain as pguard writes it, with a real HMAC signer; retention after `cut` entries.
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const signerOf = (key: string): Signer => ({ kid: sha(key).slice(0, 12), sign: (t) => createHmac('sha256', key).update(t).digest('hex') });
const signer = signerOf('the ledger key');
function chain(n: number, s: Signer | null = signer): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (let i = 1; i <= n; i++) out.push(signEntry(makeEntry(out.at(-1) ?? null, { at: new Date(i * 1000).toISOString(), event: 'exit', process: 'p', details: { i } }, sha), s));
  return out;
}
const verifyLive = (entries: LedgerEntry[], cut: number, anchor: string | null, opts: { archived?: boolean } = {}) => verifyChain({
  segments: [{ name: 'ledger.jsonl', lines: (opts.archived ? entries : entries.slice(cut)).map((e) => JSON.stringify(e)) }],
  head: formatHead(entries.at(-1)!, signer), hash: sha, signer, anchor, ...(opts.archived ? { archived: true } : {}),
});

describe('verify after retention (ledger.anchor)', () => {
  const all = chain(10);
  const anchor = formatRetentionAnchor(all[5]!, signer);

  it('proves the live chain begins right after the signed anchor', () => {
    expect(verifyLive(all, 6, anchor)).toMatchObject({ ok: true, entries: 4, archived_through: 6 });
  });

  it('checks archived and live together from entry 1, through the anchor', () => {
    expect(verifyLive(all, 6, anchor, { archived: true })).toMatchObject({ ok: true, entries: 10 });
  });

  it('accepts a live chain a retention cut short left beginning before the anchor, when it passes through it', () => {
    expect(verifyLive(all, 3, anchor)).toMatchObject({ ok: true, entries: 7 });
  });

  it('names a forged anchor (signed without the ledger key) over deleted live segments', () => {
    const forged = formatRetentionAnchor(all[7]!, signerOf('not the key'));
    expect(verifyLive(all, 8, forged).problem).toMatchObject({ segment: 'ledger.anchor', message: `is signed with another key (${signerOf('not the key').kid}), not your ledger key (${signer.kid})` });
    const rewritten = formatRetentionAnchor(all[7]!, { kid: signer.kid, sign: () => 'f'.repeat(64) });
    expect(verifyLive(all, 8, rewritten).problem).toMatchObject({ segment: 'ledger.anchor', kind: 'tampered' });
    expect(verifyLive(all, 8, rewritten).problem!.message).toMatch(/^has a signature that does not match/);
  });

  it('names live entries deleted after the anchor', () => {
    expect(verifyLive(all, 8, anchor).problem).toMatchObject({ line: 1, seq: 9, message: 'has seq 9 where 7 was expected: entries 7-8 are missing (deleted)' });
  });

  it('names a deleted anchor: the live chain then does not begin at entry 1', () => {
    expect(verifyLive(all, 6, null).problem).toMatchObject({ seq: 7, message: 'has seq 7 where 1 was expected: entries 1-6 are missing (deleted)' });
  });

  it('names an unsigned anchor beside a signed ledger', () => {
    expect(verifyLive(all, 6, formatRetentionAnchor(all[5]!, null)).problem).toMatchObject({ segment: 'ledger.anchor', message: 'is not signed, though the ledger is: it was forged without the ledger key' });
  });

  it('a head\'s signature does not pass for an anchor\'s', () => {
    const headAsAnchor = formatHead(all[5]!, signer);
    expect(verifyLive(all, 6, headAsAnchor).ok).toBe(false);
  });

  it('verifies exactly when nothing was tampered with: random histories, retention points and tampering', () => {
    const tampers = ['none', 'drop-live-first', 'edit-live', 'anchor-wrong-key', 'anchor-bad-mac', 'drop-anchor', 'drop-archived'] as const;
    fc.assert(fc.property(fc.integer({ min: 2, max: 30 }), fc.nat(), fc.constantFrom(...tampers), fc.boolean(), (n, c, tamper, archived) => {
      const entries = chain(n);
      const cut = 1 + (c % (n - 1)); // 1..n-1 archived, at least one left live
      let anchorText: string | null = formatRetentionAnchor(entries[cut - 1]!, signer);
      let archivedPart = entries.slice(0, cut).map((e) => JSON.stringify(e));
      let live = entries.slice(cut).map((e) => JSON.stringify(e));
      if (tamper === 'drop-live-first') live = live.slice(1);
      if (tamper === 'edit-live') live[live.length - 1] = live.at(-1)!.replace('"i":', '"i":1');
      if (tamper === 'anchor-wrong-key') anchorText = formatRetentionAnchor(entries[cut - 1]!, signerOf('other'));
      if (tamper === 'anchor-bad-mac') anchorText = formatRetentionAnchor(entries[cut - 1]!, { kid: signer.kid, sign: () => '0'.repeat(64) });
      if (tamper === 'drop-anchor') anchorText = null;
      if (tamper === 'drop-archived') archivedPart = archivedPart.slice(1);
      // What is archived is checked only by a verify of the archive; the anchor, only by one
      // without it (with it, the whole chain from entry 1 is there to see).
      const seen = tamper !== 'none' && !(tamper === 'drop-archived' && !archived) && !(tamper === 'drop-anchor' && archived);
      const res = verifyChain({
        segments: [...(archived ? [{ name: 'ledger-archive/a.jsonl.gz', lines: archivedPart }] : []), { name: 'ledger.jsonl', lines: live }],
        head: formatHead(entries.at(-1)!, signer), hash: sha, signer, anchor: anchorText, archived,
      });
      expect(res.ok).toBe(!seen);
      return true;
    }), { numRuns: 300 });
  });
});

// The canonical form as first written (filter, sort, map, join): every hash already in a ledger
// was made with it, so the faster one must give the same text for any value.
function canonicalizeAsFirstWritten(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalizeAsFirstWritten).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalizeAsFirstWritten(obj[k])}`).join(',')}}`;
}

describe('the canonical form', () => {
  it('is the text it was first written as, for any value and any entry (hashes already written stay valid)', () => {
    const value = fc.anything({ withObjectString: true, withNullPrototype: true, withBoxedValues: false });
    fc.assert(fc.property(value, (v) => { expect(canonicalize(v)).toBe(canonicalizeAsFirstWritten(v)); }), { numRuns: 500 });
    const entry = fc.record({ seq: fc.nat(), at: fc.string(), event: fc.string(), process: fc.string(), details: fc.dictionary(fc.string(), fc.jsonValue()), prev: fc.string() }, { requiredKeys: [] });
    fc.assert(fc.property(entry, (e) => {
      const { seq, at, event, process, details, prev } = e as Omit<LedgerEntry, 'hash'>;
      expect(hashOf(e as Omit<LedgerEntry, 'hash'>, (t) => t)).toBe(canonicalizeAsFirstWritten({ seq, at, event, process, details, prev }));
    }), { numRuns: 500 });
  });
});
