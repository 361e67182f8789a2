// supervisord is Python: what its configuration means is what Python's configparser, shlex and
// %-formatting make of it. pguard's readers of those (src/core/import/python.ts, supervisord.ts)
// are checked against Python itself (python3, in CI too) on random inputs: the same words, the
// same expansion, the same sections and values, or the same refusal.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { percentFormat, shlexSplit, supervisorEnvironment } from '../../src/core/import/python.js';
import { parseIni, readIni } from '../../src/core/import/supervisord.js';

/** Python's answer for each input, in one run: the script reads a JSON list and writes one back. */
function python(script: string, inputs: unknown[]): unknown[] {
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(inputs), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out) as unknown[];
}

/** Text made of what these grammars care about, so that random strings hit their edges. */
const text = (chars: string, maxLength = 30) => fc.array(fc.constantFrom(...chars.split('')), { maxLength }).map((a) => a.join(''));
const samples = <T>(arb: fc.Arbitrary<T>, n: number) => fc.sample(arb, { numRuns: n, seed: 24 });

/** A % that is neither %% nor %(name)...: Python formats the whole mapping there. */
function bareConversion(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '%') continue;
    if (s[i + 1] === '%') { i++; continue; }
    if (s[i + 1] !== '(') return true;
    const close = s.indexOf(')', i);
    if (close < 0) return false;
    i = close;
  }
  return false;
}

describe('the Python supervisord is written in, against python3', () => {
  it('shlex.split: the same words, or a refusal where Python refuses', () => {
    const inputs = samples(text(` a\\b'"c\t$(%)#;\n`), 3000);
    const want = python(`
import json, shlex, sys
out = []
for s in json.load(sys.stdin):
    try: out.append({"ok": True, "value": shlex.split(s)})
    except ValueError: out.append({"ok": False})
print(json.dumps(out))`, inputs);
    inputs.forEach((s, i) => {
      const got = shlexSplit(s);
      expect(got.ok ? { ok: true, value: got.value } : { ok: false }, JSON.stringify(s)).toEqual(want[i]);
    });
  });

  it('text % mapping: the same expansion, or a refusal where Python refuses', () => {
    const inputs = samples(text('a %()sd02-.x5', 20), 3000);
    const mapping = { a: 'A', x: 7, '': 'E', sd: 'S' };
    const want = python(`
import json, sys
m = ${JSON.stringify(mapping)}
out = []
for s in json.load(sys.stdin):
    try: out.append({"ok": True, "value": s % m})
    except (KeyError, ValueError, TypeError): out.append({"ok": False})
print(json.dumps(out))`, inputs);
    inputs.forEach((s, i) => {
      const got = percentFormat(s, (k) => (Object.hasOwn(mapping, k) ? mapping[k as keyof typeof mapping] : undefined));
      // A conversion with no (name) formats the whole mapping in Python ("{'a': 'A', ...}"): refused here, deliberately.
      const w = want[i] as { ok: boolean; value?: string };
      const expected = w.ok && bareConversion(s) ? { ok: false } : w;
      expect(got.ok ? { ok: true, value: got.value.join('') } : { ok: false }, JSON.stringify(s)).toEqual(expected);
    });
  });

  it("environment=: supervisord's key/value pairs (shlex with its word characters), or its refusal", () => {
    const inputs = samples(text(`AB=,"' x/.:#;@1`, 24), 3000);
    // supervisor/datatypes.py's dict_of_key_value_pairs, over Python's own shlex.
    const want = python(`
import json, shlex, sys
out = []
for s in json.load(sys.stdin):
    try:
        lexer = shlex.shlex(s)
        lexer.wordchars += '/.+-():'
        tokens = list(lexer)
        pairs, i = [], 0
        while i < len(tokens):
            kv = tokens[i:i+3]
            if len(kv) != 3 or kv[1] != '=': raise ValueError('end')
            pairs.append([kv[0], kv[2].strip('\\'"')])
            i += 4
        out.append({"ok": True, "value": pairs})
    except ValueError: out.append({"ok": False})
print(json.dumps(out))`, inputs);
    inputs.forEach((s, i) => {
      const got = supervisorEnvironment(s);
      expect(got.ok ? { ok: true, value: got.value } : { ok: false }, JSON.stringify(s)).toEqual(want[i]);
    });
  });

  it("configparser (supervisord's settings: ; and # comments inline after a blank, strict off): the same sections and values", () => {
    const line = fc.oneof(
      text('ab', 3).map((n) => `[program:${n || 'x'}]`),
      fc.tuple(text('abK ', 5), fc.constantFrom('=', ':', ' = '), text('v ;#=:x', 10)).map(([k, d, v]) => `${k.trim() || 'k'}${d}${v}`),
      text(' v;#', 6).map((v) => `  ${v}`),
      fc.constantFrom('', ';c', '#c', '  ; c', 'nodelimiter', '[program:open'),
    );
    const inputs = samples(fc.tuple(fc.boolean(), fc.array(line, { maxLength: 8 })).map(([head, ls]) => `${head ? '[program:first]\n' : ''}${ls.join('\n')}\n`), 2000);
    const want = python(`
import configparser, json, sys
out = []
for s in json.load(sys.stdin):
    p = configparser.RawConfigParser(inline_comment_prefixes=(';', '#'), strict=False)
    try:
        p.read_string(s)
        out.append({"ok": True, "value": [[sec, [[k, v] for k, v in p.items(sec)]] for sec in p.sections()]})
    except configparser.Error: out.append({"ok": False})
print(json.dumps(out))`, inputs);
    let compared = 0;
    inputs.forEach((s, i) => {
      const w = want[i] as { ok: boolean; value?: [string, [string, string][]][] };
      // A file Python refuses, supervisord refuses: so does the import, naming the line.
      expect(readIni(s).problem !== undefined, JSON.stringify(s)).toBe(!w.ok);
      if (!w.ok) return;
      compared++;
      const got = parseIni(s).map((sec) => [sec.section, Object.entries(sec.values)]);
      expect(got, JSON.stringify(s)).toEqual(w.value);
    });
    expect(compared).toBeGreaterThan(500);
  });
});
