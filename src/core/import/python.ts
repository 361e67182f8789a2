// The bits of Python that supervisord's configuration means: shlex (how `command=` is split into
// a program and its arguments, and how `environment=` is tokenized) and %-formatting (how
// `%(here)s`, `%(program_name)s`, `%(process_num)02d` and `%(ENV_X)s` are expanded). Pure,
// linear, written from the Python library reference; each refuses what Python refuses.

export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * shlex.split(text) (POSIX mode, no comments): words split on blanks; '...' literal; "..." with
 * \" and \\ escaped; a backslash outside quotes takes the next character as is.
 */
export function shlexSplit(text: string): Parsed<string[]> {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (word !== null) { words.push(word); word = null; }
    } else if (c === '\\') {
      if (i + 1 >= text.length) return { ok: false, why: 'No escaped character' };
      word = (word ?? '') + text[++i];
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, why: 'No closing quotation' };
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let s = '';
      for (i++; ; i++) {
        if (i >= text.length) return { ok: false, why: 'No closing quotation' };
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) { s += text[++i]; continue; }
        s += d;
      }
      word = (word ?? '') + s;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return { ok: true, value: words };
}

const WORD_CHARS = /[A-Za-z0-9_/.+\-():]/; // shlex's non-POSIX wordchars, plus supervisord's '/.+-():'

/**
 * supervisord's dict_of_key_value_pairs: shlex (non-POSIX, `#` starts a comment) into tokens,
 * read as KEY = VALUE triples each followed by one separator (a comma); quotes around a value
 * are stripped. Anything else is refused, as supervisord refuses the file.
 */
export function supervisorEnvironment(text: string): Parsed<[string, string][]> {
  const tokens: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) continue;
    if (c === '#') { const nl = text.indexOf('\n', i); if (nl < 0) break; i = nl; continue; }
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return { ok: false, why: 'No closing quotation' };
      tokens.push(text.slice(i, end + 1));
      i = end;
      continue;
    }
    if (WORD_CHARS.test(c)) {
      let j = i;
      // Inside a word, quotes are word characters too (non-POSIX shlex).
      while (j < text.length && (WORD_CHARS.test(text[j]!) || text[j] === '"' || text[j] === "'")) j++;
      tokens.push(text.slice(i, j));
      i = j - 1;
      continue;
    }
    tokens.push(c);
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i < tokens.length; i += 4) {
    if (i + 2 >= tokens.length || tokens[i + 1] !== '=') return { ok: false, why: `Unexpected end of key/value pairs in value '${text}'` };
    pairs.push([tokens[i]!, tokens[i + 2]!.replace(/^['"]+|['"]+$/g, '')]);
  }
  return { ok: true, value: pairs };
}

/** A value %-formatting may insert: text, a number (for %d), or a reference kept for later. */
export type Expansion = string | number | { readonly ref: string };

/**
 * Python's `text % mapping`, for the conversions a configuration uses: %(name)s, %(name)d with
 * flags and width (`%(process_num)02d`), and %% for a literal %. A name the mapping does not hold,
 * a bare % or a conversion of the wrong type is refused, as Python (and so supervisord) refuses it.
 * Pieces are returned in order; a reference stays a reference.
 */
export function percentFormat(text: string, mapping: (name: string) => Expansion | undefined): Parsed<(string | { ref: string })[]> {
  const out: (string | { ref: string })[] = [];
  let lit = '';
  const re = /%(?:(%)|\(([^)]*)\)([#0\- +]*)(\d*)(?:\.(\d+))?[hlL]?([diouxXeEfFgGcrsa])?)/y;
  for (let i = 0; i < text.length; ) {
    const pct = text.indexOf('%', i);
    if (pct < 0) { lit += text.slice(i); break; }
    lit += text.slice(i, pct);
    re.lastIndex = pct;
    const m = re.exec(text);
    if (!m) return { ok: false, why: `badly formatted: a % that is not %(name)s or %% at character ${pct + 1}` };
    i = re.lastIndex;
    if (m[1]) { lit += '%'; continue; }
    const [, , name, flags, width, precision, conv] = m as unknown as [string, string, string, string, string, string | undefined, string | undefined];
    if (!conv) return { ok: false, why: `badly formatted: %(${name}) has no conversion (s, d ...)` };
    const v = mapping(name);
    if (v === undefined) return { ok: false, why: `names ${name}, which cannot be expanded` };
    if (typeof v === 'object') {
      if (conv !== 's' && conv !== 'r' && conv !== 'a') return { ok: false, why: `%(${name})${conv} needs a number` };
      if (lit) out.push(lit);
      lit = '';
      out.push({ ref: v.ref });
      continue;
    }
    let s: string;
    if ('diu'.includes(conv)) {
      const n = typeof v === 'number' ? v : Number.NaN;
      if (!Number.isInteger(n)) return { ok: false, why: `%(${name})${conv} needs a number, got ${JSON.stringify(v)}` };
      s = String(Math.abs(n));
      if (precision !== undefined) s = s.padStart(Number(precision), '0');
      const w = Number(width || 0) - (n < 0 ? 1 : 0);
      if (flags.includes('0') && !flags.includes('-')) s = s.padStart(w, '0');
      if (n < 0) s = `-${s}`;
    } else if (conv === 's') {
      s = String(v);
      if (precision !== undefined) s = s.slice(0, Number(precision));
    } else return { ok: false, why: `%(${name})${conv}: a conversion supervisord's settings do not use (s or d)` };
    const w = Number(width || 0);
    lit += flags.includes('-') ? s.padEnd(w) : s.padStart(w);
  }
  if (lit) out.push(lit);
  return { ok: true, value: out };
}
