// Reading a PM2 ecosystem file without running it: the object literal after `module.exports =`
// (or `export default`), parsed as data. Only literals are understood: strings (' " `without ${}),
// numbers, true/false/null, arrays and objects with plain or quoted keys, comments and trailing
// commas. Anything else (a require, an environment variable, a function call, a variable) makes it give up with
// a reason, and the caller says the file must be evaluated instead. Pure.

export type LiteralResult = { ok: true; value: unknown } | { ok: false; why: string };

export function readExportedLiteral(source: string): LiteralResult {
  const m = /(?:module\.exports\s*=|export\s+default)\s*/.exec(source);
  if (!m) return { ok: false, why: 'no `module.exports =` or `export default` in it' };
  let i = m.index + m[0].length;
  const fail = (why: string): never => { throw new Error(why); };
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
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      for (;;) {
        skip();
        if (source[i] === '}') { i++; return obj; }
        let key: string;
        if (source[i] === '"' || source[i] === "'") key = readString();
        else {
          const k = /^[A-Za-z_$][\w$]*|^\d+/.exec(source.slice(i));
          if (!k) fail(`a key it cannot read at offset ${i}`);
          key = k![0];
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
        if (source[i] === ']') { i++; return arr; }
        arr.push(value());
        skip();
        if (source[i] === ',') i++;
        else if (source[i] !== ']') fail('something other than a literal in an array');
      }
    }
    if (c === '"' || c === "'" || c === '`') return readString();
    const word = /^(?:-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|true|false|null|undefined)/i.exec(source.slice(i));
    if (word && !/^[\w$.(]/.test(source.slice(i + word[0].length))) {
      i += word[0].length;
      const w = word[0];
      return w === 'true' ? true : w === 'false' ? false : w === 'null' ? null : w === 'undefined' ? undefined : Number(w);
    }
    const what = /^[\w$.]+/.exec(source.slice(i))?.[0] ?? source.slice(i, i + 12);
    return fail(`\`${what}\` is code, not a literal`);
  };
  try {
    return { ok: true, value: value() };
  } catch (err) {
    return { ok: false, why: err instanceof Error ? err.message : String(err) };
  }
}
