// Reading a PM2 ecosystem file without running it: the object literal after `module.exports =`
// (or `export default`), parsed as data. Only literals are understood: strings (' " `without ${}),
// numbers, true/false/null, arrays and objects with plain or quoted keys, comments and trailing
// commas. Anything else (a require, an environment variable, a function call, a variable) makes it give up with
// a reason, and the caller says the file must be evaluated instead. Pure.

export type LiteralResult = { ok: true; value: unknown } | { ok: false; why: string };

/** How deep a literal may nest (arrays and objects): the reader recurses. */
export const MAX_LITERAL_DEPTH = 64;

/**
 * Where the code's own `module.exports =` or `export default` ends: the first one outside
 * comments, strings and template strings (one in a `//` comment is not the file's export); -1 if none.
 */
function exportStart(source: string): number {
  const at = /module\.exports\s*=|export\s+default\b/y;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '/' && source[i + 1] === '/') { const e = source.indexOf('\n', i); if (e < 0) return -1; i = e; continue; }
    if (c === '/' && source[i + 1] === '*') { const e = source.indexOf('*/', i + 2); if (e < 0) return -1; i = e + 1; continue; }
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === '\\') i++;
      continue;
    }
    if ((c === 'm' || c === 'e') && (i === 0 || !/[\w$.]/.test(source[i - 1]!))) {
      at.lastIndex = i;
      const m = at.exec(source);
      if (m) return i + m[0].length;
    }
  }
  return -1;
}

export function readExportedLiteral(source: string): LiteralResult {
  const start = exportStart(source);
  if (start < 0) return { ok: false, why: 'no `module.exports =` or `export default` in it' };
  let i = start;
  let depth = 0;
  const fail = (why: string): never => { throw new Error(why); };
  /** A sticky pattern matched at i (no copy of the rest of the file per token). */
  const at = (re: RegExp): string | null => { re.lastIndex = i; return re.exec(source)?.[0] ?? null; };
  const KEY = /[A-Za-z_$][\w$]*|\d+/y;
  const WORD = /(?:-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|true|false|null|undefined)/iy;
  const CODE = /[\w$.]+/y;
  const skip = () => {
    for (;;) {
      while (i < source.length && /\s/.test(source[i]!)) i++;
      if (source.startsWith('//', i)) { const e = source.indexOf('\n', i); i = e < 0 ? source.length : e + 1; continue; }
      if (source.startsWith('/*', i)) { const e = source.indexOf('*/', i + 2); if (e < 0) fail('an unclosed comment'); i = e + 2; continue; }
      return;
    }
  };
  const readString = (): string => {
    const q = source[i]!;
    let out = '';
    i++;
    while (i < source.length && source[i] !== q) {
      const c = source[i]!;
      if (q === '`' && c === '$' && source[i + 1] === '{') fail('a template string with ${...} in it');
      if (c === '\\') {
        const n = source[i + 1]!;
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', v: '\v' };
        if (n === 'u' || n === 'x') {
          const hex = n === 'u' ? source.slice(i + 2, i + 6) : source.slice(i + 2, i + 4);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 2 + hex.length;
          continue;
        }
        out += map[n] ?? n;
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
    if (source[i] !== q) fail('an unclosed string');
    i++;
    return out;
  };
  const value = (): unknown => {
    skip();
    const c = source[i];
    if ((c === '{' || c === '[') && ++depth > MAX_LITERAL_DEPTH) fail(`nested more than ${MAX_LITERAL_DEPTH} levels deep`);
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      for (;;) {
        skip();
        if (source[i] === '}') { i++; depth--; return obj; }
        let key: string;
        if (source[i] === '"' || source[i] === "'") key = readString();
        else {
          const k = at(KEY);
          if (k === null) fail(`a key it cannot read at offset ${i}`);
          key = k!;
          i += key.length;
        }
        skip();
        if (source[i] !== ':') fail(`"${key}" is not followed by a value (a shorthand or a method)`);
        i++;
        if (key === '__proto__') fail('a __proto__ key');
        obj[key] = value();
        skip();
        if (source[i] === ',') i++;
        else if (source[i] !== '}') fail(`something other than a literal after "${key}"`);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      for (;;) {
        skip();
        if (source[i] === ']') { i++; depth--; return arr; }
        arr.push(value());
        skip();
        if (source[i] === ',') i++;
        else if (source[i] !== ']') fail('something other than a literal in an array');
      }
    }
    if (c === '"' || c === "'" || c === '`') return readString();
    const w = at(WORD);
    if (w !== null && !/[\w$.(]/.test(source[i + w.length] ?? '')) {
      i += w.length;
      return w === 'true' ? true : w === 'false' ? false : w === 'null' ? null : w === 'undefined' ? undefined : Number(w);
    }
    const what = at(CODE) ?? source.slice(i, i + 12);
    return fail(`\`${what}\` is code, not a literal`);
  };
  try {
    return { ok: true, value: value() };
  } catch (err) {
    return { ok: false, why: err instanceof Error ? err.message : String(err) };
  }
}
