import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editTopLevel } from '../../src/core/json-edit.js';

/** Apply `change` to the parsed text and edit the text to match, as the registry writer does. */
function edit(text: string, change: (d: Record<string, unknown>) => void, indent: string | number = 2): string | null {
  const before = JSON.parse(text) as Record<string, unknown>;
  const after = structuredClone(before);
  change(after);
  const out = editTopLevel(text, before, after, indent);
  if (out !== null) expect(JSON.parse(out)).toEqual(after); // whatever the style, the data is right
  return out;
}

describe('editing a registry entry by entry (hand formatting kept)', () => {
  const hand = '{\n  "a": { "command": "sleep 1", "duration_min": 0 },\n  "b": {"command":"x"},\n  "c": {\n    "command": "y"\n  }\n}\n';

  it('keeps a one-line entry on one line when it changes, in its own spacing', () => {
    expect(edit(hand, (d) => { d.a = { command: 'sleep 2', duration_min: 0, env: { X: '1' } }; })).toBe(
      '{\n  "a": { "command": "sleep 2", "duration_min": 0, "env": { "X": "1" } },\n  "b": {"command":"x"},\n  "c": {\n    "command": "y"\n  }\n}\n');
    expect(edit(hand, (d) => { d.b = { command: 'z' }; })).toContain('"b": {"command":"z"},');
  });

  it('rewrites a multi-line entry indented as it was, and leaves every other byte alone', () => {
    expect(edit(hand, (d) => { d.c = { command: 'y', cwd: '/srv' }; })).toBe(
      '{\n  "a": { "command": "sleep 1", "duration_min": 0 },\n  "b": {"command":"x"},\n  "c": {\n    "command": "y",\n    "cwd": "/srv"\n  }\n}\n');
  });

  it('appends a new entry after the last one, and removes one with its comma', () => {
    const added = edit(hand, (d) => { d.d = { command: 'w' }; })!;
    expect(added).toBe(`${hand.slice(0, -3)},\n  "d": {\n    "command": "w"\n  }\n}\n`);
    expect(edit(added, (d) => { delete d.d; })).toBe(hand);
    expect(edit(hand, (d) => { delete d.a; })).toBe('{\n  "b": {"command":"x"},\n  "c": {\n    "command": "y"\n  }\n}\n');
    expect(edit(hand, (d) => { delete d.a; delete d.b; delete d.c; })).toBe('{}\n');
  });

  it('keeps a one-line file one line, tabs as tabs, and escaped keys and strings intact', () => {
    expect(edit('{"a": {"command": "x"}}', (d) => { d.b = { command: 'y' }; })).toBe('{"a": {"command": "x"}, "b": {"command": "y"}}');
    expect(edit('{\n\t"a": {\n\t\t"command": "x"\n\t}\n}', (d) => { d.a = { command: 'x}"{' }; }, '\t')).toBe('{\n\t"a": {\n\t\t"command": "x}\\"{"\n\t}\n}');
    expect(edit('{"we\\"ird": {"command": "a\\\\"}, "b": 1}', (d) => { d.b = 2; })).toBe('{"we\\"ird": {"command": "a\\\\"}, "b": 2}');
  });

  // Found by the property test below (in CI): a process named toString, constructor... was taken
  // as still there after its removal (`in` sees Object.prototype), and written `"toString": undefined`.
  it.each(['toString', 'constructor', 'hasOwnProperty', 'valueOf'])('removes a process named %s (a name Object.prototype also has)', (name) => {
    const text = `{\n  ${JSON.stringify(name)}: { "command": "x" },\n  "a": { "command": "y" }\n}\n`;
    expect(edit(text, (d) => { delete d[name]; })).toBe('{\n  "a": { "command": "y" }\n}\n');
  });

  // Found by the property test: removing every entry while adding another cut the closing brace.
  it('replaces every entry at once (all removed, one added) and keeps the file an object', () => {
    expect(edit('{\n  "a": {\n    "command": "x"\n  }\n}\n', (d) => { delete d.a; d.b = { command: 'y' }; })).toBe('{\n  "b": {\n    "command": "y"\n  }\n}\n');
    expect(edit('{"a": {"command": "x"}}', (d) => { delete d.a; d.b = { command: 'y' }; })).toBe('{"b": {"command": "y"}}');
  });

  // Found by the property test (in CI): the spacing was read from inside a string value too.
  it('keeps a compact entry compact when a string in it holds ": "', () => {
    expect(edit('{"s":{"command":"x","env":{"A":": "}}}', (d) => { d.s = { command: 'y', env: {} }; })).toBe('{"s":{"command":"y","env":{}}}');
  });

  it('gives up (null: the caller writes the whole file) on a key written twice or a text that is not an object', () => {
    expect(editTopLevel('{"a": 1, "a": 2}', { a: 2 }, { a: 3 }, 2)).toBeNull();
    expect(editTopLevel('[1]', {}, { a: 1 }, 2)).toBeNull();
  });

  // Kept rather than jsonc-parser's modify() (README, Dependencies): any registry, written in any
  // of the styles people use, and any change of its entries: the text parses to exactly the new
  // data, and every entry that did not change keeps its text byte for byte.
  it('any edit of any registry in any style: the new data exactly, untouched entries byte for byte', () => {
    const entry = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ command: fc.string(), env: fc.dictionary(fc.string(), fc.string()) }));
    // A style: how the whole file is written, and how one of its entries then reads in it.
    const indented = (unit: string | number) => [
      (v: unknown) => JSON.stringify(v, null, unit),
      (k: string, v: unknown) => `${JSON.stringify(k)}: ${JSON.stringify(v, null, unit).split('\n').join(`\n${typeof unit === 'number' ? ' '.repeat(unit) : unit}`)}`,
      unit,
    ] as const;
    const style = fc.constantFrom(indented(2), indented(4), indented('\t'), [(v: unknown) => JSON.stringify(v), (k: string, v: unknown) => `${JSON.stringify(k)}:${JSON.stringify(v)}`, 2] as const);
    fc.assert(fc.property(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), entry, { maxKeys: 6 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.option(entry), { maxKeys: 4 }),
      style,
      (before, change, [write, entryText, unit]) => {
        const text = `${write(before)}\n`;
        const after: Record<string, unknown> = structuredClone(before);
        for (const [k, v] of Object.entries(change)) {
          if (v === null) delete after[k];
          else Object.defineProperty(after, k, { value: v, enumerable: true, writable: true, configurable: true }); // "__proto__" too
        }
        const out = editTopLevel(text, before, after, unit); // the file's own unit, as the registry writer finds it
        if (out === null) return; // the caller writes the whole file
        expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(after))); // (-0 is written 0)
        for (const [k, v] of Object.entries(before)) {
          if (!Object.hasOwn(after, k)) continue;
          if (JSON.stringify(after[k]) === JSON.stringify(v)) {
            expect(text).toContain(entryText(k, v));
            expect(out).toContain(entryText(k, v));
          } else if (JSON.stringify(v, null, 2).includes('\n') && JSON.stringify(after[k], null, 2).includes('\n')) {
            expect(out).toContain(entryText(k, after[k])); // a changed entry, in the file's own indentation
          }
        }
      },
    ), { numRuns: 500 });
  });
});
