// The audit ledger's hash chain, as pure functions. Each entry holds the previous entry's hash and
// its own SHA-256 over a canonical form (keys sorted, no whitespace, `hash` left out), so an edited,
// deleted, reordered or truncated entry breaks the chain at a place verify can name. The hash
// function arrives as a parameter: core does no I/O and loads no node:crypto.

export interface LedgerEntry {
  readonly seq: number;
  readonly at: string;
  readonly event: string;
  readonly process: string;
  readonly details: Record<string, unknown>;
  readonly prev: string;
  readonly hash: string;
}

export type Hasher = (text: string) => string;

/** The hash of "nothing before": the first entry's prev. */
export const GENESIS = '0'.repeat(64);

/** JSON with object keys sorted at every depth and no whitespace. */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(obj[k])}`).join(',')}}`;
}

export function hashOf(entry: Omit<LedgerEntry, 'hash'>, hash: Hasher): string {
  const { seq, at, event, process, details, prev } = entry;
  return hash(canonicalize({ seq, at, event, process, details, prev }));
}

export function makeEntry(
  last: { seq: number; hash: string } | null,
  fields: { at: string; event: string; process: string; details: Record<string, unknown> },
  hash: Hasher,
): LedgerEntry {
  const body = { seq: (last?.seq ?? 0) + 1, ...fields, prev: last?.hash ?? GENESIS };
  return { ...body, hash: hashOf(body, hash) };
}

export interface Problem {
  /** Which segment file and line (1-based). */
  readonly segment: string;
  readonly line: number;
  readonly seq: number | null;
  readonly message: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly entries: number;
  readonly segments: number;
  readonly last: { seq: number; hash: string } | null;
  readonly problem: Problem | null;
}

/**
 * Verify segments in order (each: its name and its lines) against an optional head (the last seq
 * and hash recorded outside the chain, which is what exposes a truncated end).
 */
export function verifyChain(
  segments: readonly { name: string; lines: readonly string[] }[],
  head: { seq: number; hash: string } | null,
  hash: Hasher,
): VerifyResult {
  let last: { seq: number; hash: string } | null = null;
  let entries = 0;
  const fail = (segment: string, line: number, seq: number | null, message: string): VerifyResult =>
    ({ ok: false, entries, segments: segments.length, last, problem: { segment, line, seq, message } });
  for (const seg of segments) {
    for (let i = 0; i < seg.lines.length; i++) {
      const text = seg.lines[i]!;
      if (text.trim() === '') continue;
      let e: LedgerEntry;
      try {
        e = JSON.parse(text) as LedgerEntry;
      } catch {
        return fail(seg.name, i + 1, null, 'is not valid JSON (edited or cut)');
      }
      const expectSeq: number = (last?.seq ?? 0) + 1;
      if (e.seq !== expectSeq) {
        const what = e.seq > expectSeq
          ? `entries ${expectSeq}${e.seq - 1 > expectSeq ? `-${e.seq - 1}` : ''} are missing (deleted)`
          : 'is out of order (reordered or duplicated)';
        return fail(seg.name, i + 1, e.seq, `has seq ${e.seq} where ${expectSeq} was expected: ${what}`);
      }
      if (e.prev !== (last?.hash ?? GENESIS)) {
        const where = i === 0 && last ? ' (the segment boundary is broken)' : '';
        return fail(seg.name, i + 1, e.seq, `does not follow the entry before it: its prev is not that entry's hash${where}`);
      }
      if (hashOf(e, hash) !== e.hash) return fail(seg.name, i + 1, e.seq, 'does not match its own hash: it was edited');
      last = { seq: e.seq, hash: e.hash };
      entries++;
    }
  }
  if (head && (!last || last.seq < head.seq)) {
    const seg = segments.at(-1)?.name ?? 'ledger';
    return fail(seg, (segments.at(-1)?.lines.length ?? 0) + 1, last?.seq ?? 0,
      `ends at seq ${last?.seq ?? 0}, but ${head.seq} entries were written: the end was truncated`);
  }
  if (head && last && last.seq === head.seq && last.hash !== head.hash) {
    const seg = segments.at(-1)?.name ?? 'ledger';
    return fail(seg, segments.at(-1)?.lines.length ?? 0, last.seq, 'the last entry is not the one that was written (replaced)');
  }
  return { ok: true, entries, segments: segments.length, last, problem: null };
}
