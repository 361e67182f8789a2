// The audit ledger's hash chain, as pure functions. Each entry holds the previous entry's hash and
// its own SHA-256 over a canonical form (keys sorted, no whitespace, `hash` left out), so an edited,
// deleted, reordered or truncated entry breaks the chain at a place verify can name. Each entry and
// the head are also signed (HMAC) with a key kept outside the state directory, so that recomputing
// the chain is not enough to rewrite it. The hash and the signer arrive as parameters: core does no
// I/O and loads no node:crypto.

export interface LedgerEntry {
  readonly seq: number;
  readonly at: string;
  readonly event: string;
  readonly process: string;
  readonly details: Record<string, unknown>;
  readonly prev: string;
  readonly hash: string;
  /** The signing key's fingerprint and the entry's HMAC (over its hash): see `Signer`. */
  readonly kid?: string;
  readonly mac?: string;
}

export type Hasher = (text: string) => string;

/**
 * Signs with the ledger key, kept outside the state directory: whoever can write the state
 * directory can recompute every hash, but not these. `kid` is the key's short fingerprint.
 */
export interface Signer {
  readonly kid: string;
  sign(text: string): string;
}

/** The hash of "nothing before": the first entry's prev. */
export const GENESIS = '0'.repeat(64);

/** JSON with object keys sorted at every depth and no whitespace. */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  const obj = value as Record<string, unknown>;
  // A loop rather than filter/map/join: verify runs this for every entry of the ledger.
  let out = '{';
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${canonicalize(v)}`;
  }
  return `${out}}`;
}

export function hashOf(entry: Omit<LedgerEntry, 'hash'>, hash: Hasher): string {
  const { seq, at, event, process, details, prev } = entry;
  // The six fields in their sorted order (at, details, event, prev, process, seq), written
  // directly: canonicalize's text for them, without building and sorting an object per entry.
  if (seq === undefined || at === undefined || event === undefined || process === undefined || details === undefined || prev === undefined) {
    return hash(canonicalize({ seq, at, event, process, details, prev }));
  }
  return hash(`{"at":${canonicalize(at)},"details":${canonicalize(details)},"event":${canonicalize(event)},"prev":${canonicalize(prev)},"process":${canonicalize(process)},"seq":${canonicalize(seq)}}`);
}

export function makeEntry(
  last: { seq: number; hash: string } | null,
  fields: { at: string; event: string; process: string; details: Record<string, unknown> },
  hash: Hasher,
): LedgerEntry {
  const body = { seq: (last?.seq ?? 0) + 1, ...fields, prev: last?.hash ?? GENESIS };
  return { ...body, hash: hashOf(body, hash) };
}

/** An entry's signature: the key's fingerprint and an HMAC of its hash. */
export function signEntry(entry: LedgerEntry, signer: Signer | null): LedgerEntry {
  return signer ? { ...entry, kid: signer.kid, mac: signer.sign(`entry ${entry.hash}`) } : entry;
}

export interface Head {
  readonly seq: number;
  readonly hash: string;
  readonly kid?: string;
  readonly mac?: string;
}

/** ledger.head's text: `SEQ HASH` then, signed, `KID MAC`. */
export function formatHead(last: { seq: number; hash: string }, signer: Signer | null): string {
  return signer ? `${last.seq} ${last.hash} ${signer.kid} ${signer.sign(`head ${last.seq} ${last.hash}`)}\n` : `${last.seq} ${last.hash}\n`;
}

/** ledger.head read back; a text that is not a head is a problem, not a missing head. */
export function parseHead(text: string): { head: Head } | { problem: string } {
  const parts = text.trim().split(' ');
  const [seq, hash, kid, mac] = parts;
  if ((parts.length !== 2 && parts.length !== 4) || !/^[1-9]\d*$/.test(seq ?? '') || !/^[0-9a-f]{64}$/.test(hash ?? '')) {
    return { problem: `is not a head (${JSON.stringify(text.slice(0, 40))}): damaged or replaced` };
  }
  return { head: { seq: Number(seq), hash: hash!, ...(kid && mac ? { kid, mac } : {}) } };
}

/** SEQ:HASH, the form `audit head` prints and `audit verify --expect` takes. */
export function formatAnchor(a: { seq: number; hash: string }): string {
  return `${a.seq}:${a.hash}`;
}

export function parseAnchor(text: string): { seq: number; hash: string } | null {
  const m = /^([1-9]\d*):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2]! } : null;
}

export interface Problem {
  /** Which segment file and line (1-based; 0: the file as a whole, missing or empty), or ledger.head. */
  readonly segment: string;
  readonly line: number;
  readonly seq: number | null;
  readonly message: string;
  /** tampered: the files say something was changed; unverifiable: they cannot be checked (no key, no signatures). */
  readonly kind: 'tampered' | 'unverifiable';
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly entries: number;
  readonly segments: number;
  readonly last: { seq: number; hash: string } | null;
  readonly problem: Problem | null;
  /** Entries whose signature checked out, and the key's fingerprint. */
  readonly signed: number;
  readonly kid: string | null;
  /** Entries from before pguard signed its ledger (a prefix: none may follow a signed one). */
  readonly unsigned: number;
  /** A last line cut short by a crash while it was written: moved to ledger.torn at the next append. */
  readonly torn: { readonly segment: string; readonly line: number; readonly bytes: number } | null;
  /** Torn lines already moved aside, each recorded by a ledger-repaired entry. */
  readonly repaired: readonly { readonly seq: number; readonly bytes: number }[];
  /** The anchor given with --expect, found in the chain. */
  readonly anchored: { seq: number; hash: string } | null;
  /** Entries 1 to this one left the live ledger by retention (ledger.anchor); null when none did. */
  /** (snake_case: `audit verify --json` prints this result as it is.) */
  readonly archived_through: number | null;
}

export interface Segment {
  readonly name: string;
  readonly lines: readonly string[];
  /** Whether the file ends with a newline: a last line without one was cut short. */
  readonly complete?: boolean;
}

export interface VerifyInput extends VerifyOptions {
  readonly segments: readonly Segment[];
}

/** What a verify needs besides the segments (which a streamed verify is given line by line). */
export interface VerifyOptions {
  /** ledger.head's text, or null when there is none. */
  readonly head: string | null;
  readonly hash: Hasher;
  /** The ledger key, or null with why (missing, unsafe). */
  readonly signer: Signer | null;
  readonly noKey?: string;
  /** An anchor kept elsewhere (`audit head`): that entry must still be in the chain, unchanged. */
  readonly expect?: { seq: number; hash: string };
  /**
   * That a ledger was begun here, as recorded outside the state directory when its first entry was
   * written (`where`: the record's path): an empty ledger was then deleted, and one whose entry 1
   * is another was begun again after that.
   */
  readonly begun?: { readonly at: string; readonly hash: string; readonly where: string } | null;
  /** Files in the state directory written only beside ledger entries (a runner's runs, alerts): an empty ledger beside them was emptied. */
  readonly traces?: readonly { readonly file: string; readonly holds: 'runs' | 'alerts' }[];
  /**
   * ledger.anchor's text (null: none): the last entry retention removed from the live chain, signed
   * like the head. The live chain then begins right after it (or, left by a retention cut short,
   * earlier, passing through it). `archived`: the archived segments are given first, from entry 1,
   * and the chain must pass through the anchor.
   */
  readonly anchor?: string | null;
  readonly archived?: boolean;
}

/** `a`, `a and b`, `a, b and c`, or the first three and how many more. */
function listOf(items: readonly string[]): string {
  const shown = items.length > 3 ? [...items.slice(0, 3), `${items.length - 3} more`] : [...items];
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

/** The text an anchor's signature covers (a head's is `head SEQ HASH`: one cannot stand for the other). */
export function anchorText(a: { seq: number; hash: string }): string {
  return `anchor ${a.seq} ${a.hash}`;
}

/** ledger.anchor's text: `SEQ HASH` then, signed, `KID MAC` (as the head). */
export function formatRetentionAnchor(last: { seq: number; hash: string }, signer: Signer | null): string {
  return signer ? `${last.seq} ${last.hash} ${signer.kid} ${signer.sign(anchorText(last))}\n` : `${last.seq} ${last.hash}\n`;
}

/**
 * Verify segments in order: each entry follows the one before it (seq, prev, its own hash), is
 * signed with the ledger key once signing began, and the chain ends where the signed head says
 * (which exposes a truncated end, an entry added past it, and a replaced head).
 */
export function verifyChain(input: VerifyInput): VerifyResult {
  const v = startChainVerify(input);
  for (const [s, seg] of input.segments.entries()) {
    v.beginSegment(seg.name);
    const last = s === input.segments.length - 1;
    for (let i = 0; i < seg.lines.length; i++) {
      if (!v.line(seg.lines[i]!, last && i === seg.lines.length - 1 && seg.complete === false)) break;
    }
    if (v.done()) break;
  }
  return v.finish();
}

/**
 * Where a verify stood after a segment: resumed from by a process that lives (the dashboard's
 * meta, MCP), so that closed segments it has verified, unchanged since, are not read again.
 */
export interface ChainState {
  readonly last: { seq: number; hash: string } | null;
  readonly entries: number;
  readonly signed: number;
  readonly unsigned: number;
  readonly segments: number;
  readonly first: { segment: string; line: number; seq: number; hash: string } | null;
  readonly repaired: readonly { seq: number; bytes: number }[];
  readonly anchorFound: boolean;
}

/** A verify fed one segment and one line at a time: its memory does not grow with the ledger. */
export interface ChainVerifier {
  /** Where it stands (between segments, before any problem): see ChainState. */
  state(): ChainState;
  beginSegment(name: string): void;
  /** The next line of the current segment; `cutShort`: the ledger's very last line, without its newline. False once a problem is found. */
  line(text: string, cutShort: boolean): boolean;
  /** Whether a problem was found (nothing more is read). */
  done(): boolean;
  finish(): VerifyResult;
}

export function startChainVerify(input: VerifyOptions, from?: ChainState): ChainVerifier {
  const { hash, signer } = input;
  let last: { seq: number; hash: string } | null = from?.last ?? null;
  let entries = from?.entries ?? 0;
  let signed = from?.signed ?? 0;
  let unsigned = from?.unsigned ?? 0;
  let segments = from?.segments ?? 0;
  let segName = 'ledger.jsonl';
  let lineNo = 0;
  let torn: VerifyResult['torn'] = null;
  let anchored: VerifyResult['anchored'] = null;
  let problem: Problem | null = null;
  // Entry 1, where it stands: the mark of where the ledger was begun names it.
  let first: { segment: string; line: number; seq: number; hash: string } | null = from?.first ?? null;
  const repaired: { seq: number; bytes: number }[] = [...(from?.repaired ?? [])];
  const result = (p: Problem | null): VerifyResult =>
    ({ ok: p === null, entries, segments, last, problem: p, signed, kid: signer?.kid ?? null, unsigned, torn, repaired, anchored, archived_through: anchor?.seq ?? null });
  const fail = (segment: string, line: number, seq: number | null, message: string, kind: Problem['kind'] = 'tampered'): false => {
    problem ??= { segment, line, seq, message, kind };
    return false;
  };
  const noKey = `the ledger key is not available (${input.noKey ?? 'none'})`;

  // The retention anchor: checked before any entry (its signature), then where the chain begins.
  let anchor: Head | null = null;
  let anchorFound = from?.anchorFound ?? false;
  if (input.anchor != null) {
    const parsed = parseHead(input.anchor);
    if ('problem' in parsed) fail('ledger.anchor', 1, null, parsed.problem.replace('is not a head', 'is not an anchor'));
    else {
      anchor = parsed.head;
      if (anchor.mac !== undefined) {
        if (!signer) fail('ledger.anchor', 1, anchor.seq, `is signed, but ${noKey}: it cannot be checked`, 'unverifiable');
        else if (anchor.kid !== signer.kid) fail('ledger.anchor', 1, anchor.seq, `is signed with another key (${String(anchor.kid)}), not your ledger key (${signer.kid})`);
        else if (anchor.mac !== signer.sign(anchorText(anchor))) fail('ledger.anchor', 1, anchor.seq, 'has a signature that does not match: it was forged or rewritten without the ledger key (the live ledger\'s start cannot be trusted)');
      }
    }
  }

  const line = (text: string, cutShort: boolean): boolean => {
    if (problem) return false;
    lineNo++;
    const seg = segName;
    const i = lineNo;
    if (text.trim() === '') return true;
    let e: LedgerEntry;
    try {
      e = JSON.parse(text) as LedgerEntry;
    } catch {
      // The very end, without its newline: a crash while it was being written.
      if (cutShort) {
        torn = { segment: seg, line: i, bytes: text.length };
        return true;
      }
      return fail(seg, i, null, 'is not valid JSON (edited or cut)');
    }
    // Where the live chain begins after retention: right after the anchor, or (a retention cut
    // short, before it removed the segment) earlier, in which case the chain must pass through it.
    const startsAfterAnchor = last === null && anchor !== null && !input.archived;
    const beforeAnchor = startsAfterAnchor && e.seq <= anchor!.seq;
    const expectSeq: number = beforeAnchor ? e.seq : (last?.seq ?? (startsAfterAnchor ? anchor!.seq : 0)) + 1;
    if (e.seq !== expectSeq) {
      const what = e.seq > expectSeq
        ? `entries ${expectSeq}${e.seq - 1 > expectSeq ? `-${e.seq - 1}` : ''} are missing (deleted)`
        : 'is out of order (reordered or duplicated)';
      return fail(seg, i, e.seq, `has seq ${e.seq} where ${expectSeq} was expected: ${what}`);
    }
    // Before the anchor, the entry it follows was archived: its prev is checked by --archive.
    const expectPrev = last?.hash ?? (!startsAfterAnchor || e.seq === 1 ? GENESIS : beforeAnchor ? null : anchor!.hash);
    if (expectPrev !== null && e.prev !== expectPrev) {
      const where = last === null && startsAfterAnchor ? ' (ledger.anchor, the last entry archived, is not the one before it: the live ledger\'s start was replaced)'
        : lineNo === 1 && last ? ' (the segment boundary is broken)' : '';
      return fail(seg, i, e.seq, `does not follow the entry before it: its prev is not that entry's hash${where}`);
    }
    if (hashOf(e, hash) !== e.hash) return fail(seg, i, e.seq, 'does not match its own hash: it was edited');
    if (e.mac !== undefined || e.kid !== undefined) {
      if (!signer) return fail(seg, i, e.seq, `is signed, but ${noKey}: the signatures cannot be checked`, 'unverifiable');
      if (e.kid !== signer.kid) return fail(seg, i, e.seq, `is signed with another key (${String(e.kid)}), not your ledger key (${signer.kid})`);
      if (e.mac !== signer.sign(`entry ${e.hash}`)) return fail(seg, i, e.seq, 'has a signature that does not match: it was rewritten without the ledger key');
      signed++;
    } else if (signed > 0) {
      return fail(seg, i, e.seq, 'is not signed, though the entries before it are: it was written without the ledger key');
    } else {
      unsigned++;
    }
    if (input.expect && e.seq === input.expect.seq) {
      if (e.hash !== input.expect.hash) {
        return fail(seg, i, e.seq, `is not the entry you anchored (hash ${e.hash.slice(0, 12)}…, anchored ${input.expect.hash.slice(0, 12)}…): the ledger was rewritten`);
      }
      anchored = input.expect;
    }
    if (anchor && e.seq === anchor.seq) {
      if (e.hash !== anchor.hash) return fail(seg, i, e.seq, `is not the entry ledger.anchor names as the last one archived (hash ${e.hash.slice(0, 12)}…, anchor ${anchor.hash.slice(0, 12)}…)`);
      anchorFound = true;
    }
    if (!first) first = { segment: seg, line: i, seq: e.seq, hash: e.hash };
    if (e.event === 'ledger-repaired') repaired.push({ seq: e.seq, bytes: Number((e.details as { torn_bytes?: number }).torn_bytes ?? 0) });
    last = { seq: e.seq, hash: e.hash };
    entries++;
    return true;
  };

  const finish = (): VerifyResult => {
    if (problem) return result(problem);
    const endSeg = segName;
    const endLine = lineNo;
    // No entry and no head: a ledger never begun, or one deleted whole (the head with it). What pguard
    // kept elsewhere, or wrote beside the ledger, tells the two apart.
    if (entries === 0 && input.head === null) {
      const what = segments > 0 && segName === 'ledger.jsonl' ? 'is empty, and ledger.head is missing' : 'is missing, and so is ledger.head';
      const b = input.begun;
      if (b) {
        return result({ segment: 'ledger.jsonl', line: 0, seq: null, kind: 'tampered', message: `${what}, but a ledger was begun here on ${b.at} (its entry 1 is ${b.hash.slice(0, 12)}…, as ${b.where} records, outside the state directory): it was deleted or emptied. If you deleted it yourself, delete that record to begin afresh.` });
      }
      const traces = input.traces ?? [];
      if (traces.length > 0) {
        const holds = [...new Set(traces.map((t) => t.holds))];
        return result({ segment: 'ledger.jsonl', line: 0, seq: null, kind: 'tampered', message: `${what}, but ${listOf(traces.map((t) => t.file))} record${traces.length === 1 ? 's' : ''} ${holds.join(' and ')} pguard wrote to the ledger: it was deleted or emptied.` });
      }
    }
    const stop = (segment: string, line: number, seq: number | null, message: string, kind: Problem['kind'] = 'tampered') => result({ segment, line, seq, message, kind });
    if (input.expect && !anchored) {
      return stop(endSeg, endLine + 1, last?.seq ?? 0, `ends at seq ${last?.seq ?? 0}, before the entry you anchored (seq ${input.expect.seq}): it was truncated or replaced`);
    }
    // Archived and live together must pass through the anchor; live alone begins after it (or passes through it).
    if (anchor && (input.archived || (first !== null && first.seq <= anchor.seq)) && !anchorFound) {
      return stop(endSeg, endLine + 1, last?.seq ?? 0, `does not hold entry ${anchor.seq}, the last one archived as ledger.anchor says: archived segments are missing`);
    }
    // The head: written after each entry, signed like one.
    if (input.head === null) {
      if (entries > 0) return stop('ledger.head', 1, null, 'is missing: the end of the ledger cannot be checked (deleted, or the ledger was replaced)');
      return result(null);
    }
    const parsed = parseHead(input.head);
    if ('problem' in parsed) return stop('ledger.head', 1, null, parsed.problem);
    const head = parsed.head;
    if (head.mac !== undefined) {
      if (!signer) return stop('ledger.head', 1, head.seq, `is signed, but ${noKey}: it cannot be checked`, 'unverifiable');
      if (head.kid !== signer.kid) return stop('ledger.head', 1, head.seq, `is signed with another key (${String(head.kid)}), not your ledger key (${signer.kid})`);
      if (head.mac !== signer.sign(`head ${head.seq} ${head.hash}`)) return stop('ledger.head', 1, head.seq, 'has a signature that does not match: it was rewritten without the ledger key');
    } else if (signed > 0) {
      return stop('ledger.head', 1, head.seq, 'is not signed, though the ledger is: it was rewritten without the ledger key');
    }
    if (anchor && anchor.mac === undefined && (signed > 0 || head.mac !== undefined)) {
      return stop('ledger.anchor', 1, anchor.seq, 'is not signed, though the ledger is: it was forged without the ledger key');
    }
    // Everything was archived, nothing written since: the chain ends at the anchor.
    if (!last && anchor && head.seq === anchor.seq && head.hash === anchor.hash) return result(null);
    if (!last || last.seq < head.seq) {
      return stop(endSeg, endLine + 1, last?.seq ?? 0, `ends at seq ${last?.seq ?? 0}, but ${head.seq} entries were written: the end was truncated`);
    }
    if (last.seq > head.seq) {
      return stop(endSeg, endLine, last.seq, `goes on past the head (seq ${head.seq}): entries were added without going through pguard (or pguard was killed between an entry and its head; the next entry settles that)`);
    }
    if (last.hash !== head.hash) return stop(endSeg, endLine, last.seq, 'the last entry is not the one that was written (replaced)');
    if (entries > 0 && signed === 0) {
      return stop(endSeg, endLine, null, `no entry is signed${signer ? '' : ` (${noKey})`}: the chain is intact, but anyone who can write the state directory could have rewritten it (written before pguard signed its ledger, or its signatures were stripped)`, 'unverifiable');
    }
    // Whole and signed, but not the ledger begun here: that one was deleted, and pguard began again.
    // (After retention, entry 1 is archived: the live ledger's first entry is not it.)
    const b = input.begun;
    const f = first as { segment: string; line: number; seq: number; hash: string } | null;
    if (b && f && f.seq === 1 && f.hash !== b.hash) {
      return stop(f.segment, f.line, 1, `begins a new ledger, but the one begun here on ${b.at} (its entry 1 is ${b.hash.slice(0, 12)}…, as ${b.where} records, outside the state directory) is gone: it was deleted and pguard began again. If you deleted it yourself, delete that record to accept this one.`);
    }
    return result(null);
  };

  return {
    state: () => ({ last, entries, signed, unsigned, segments, first, repaired: [...repaired], anchorFound }),
    beginSegment(name) { if (problem) return; segName = name; lineNo = 0; segments++; },
    line,
    done: () => problem !== null,
    finish,
  };
}
