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

  it('gives up (null: the caller writes the whole file) on a key written twice or a text that is not an object', () => {
    expect(editTopLevel('{"a": 1, "a": 2}', { a: 2 }, { a: 3 }, 2)).toBeNull();
    expect(editTopLevel('[1]', {}, { a: 1 }, 2)).toBeNull();
  });
});
