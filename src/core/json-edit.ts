// Editing a registry's text entry by entry, so that what the user wrote by hand stays as written:
// a one-line entry stays one line, comments-free JSON keeps its spacing, and only the entries that
// changed are rewritten. Pure: text in, text out.

interface Span {
  readonly key: string;
  /** Offset of the key's opening quote. */
  readonly keyStart: number;
  readonly valueStart: number;
  /** Offset just past the value. */
  readonly valueEnd: number;
}

interface TopLevel {
  readonly open: number;
  readonly close: number;
  readonly entries: readonly Span[];
}

const WS = /[ \t\r\n]/;

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.test(text[i]!)) i++;
  return i;
}

/** Offset just past the string that opens at `i` (a `"`). */
function skipString(text: string, i: number): number {
  i++;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return i;
}

/** Offset just past the JSON value that starts at `i` (the text is known to parse). */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < text.length) {
      const d = text[i]!;
      if (d === '"') { i = skipString(text, i); continue; }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') { depth--; if (depth === 0) return i + 1; }
      i++;
    }
    return i;
  }
  while (i < text.length && !/[,}\]\s]/.test(text[i]!)) i++;
  return i;
}

/** The top-level object's entries with where each sits, or null when the text is not one object. */
function scanTopLevel(text: string): TopLevel | null {
  let i = skipWs(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  if (text[i] !== '{') return null;
  const open = i;
  const entries: Span[] = [];
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    if (text[i] !== '"') return null;
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') return null;
    const valueStart = skipWs(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    entries.push({ key, keyStart, valueStart, valueEnd });
    i = skipWs(text, valueEnd);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  if (text[i] !== '}') return null;
  return { open, close: i, entries };
}

/** JSON on one line in a hand-written style: `{ "a": 1 }` (padded), `{"a": 1}` (spaced) or `{"a":1}`. */
interface LineStyle { readonly padded: boolean; readonly spaced: boolean }

function oneLine(value: unknown, style: LineStyle): string {
  const sep = style.spaced ? ', ' : ',';
  const colon = style.spaced ? ': ' : ':';
  const wrap = (open: string, body: string, close: string) => (body === '' ? `${open}${close}` : style.padded ? `${open} ${body} ${close}` : `${open}${body}${close}`);
  if (Array.isArray(value)) return wrap('[', value.map((v) => oneLine(v, style)).join(sep), ']');
  if (value && typeof value === 'object') {
    return wrap('{', Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}${colon}${oneLine(v, style)}`).join(sep), '}');
  }
  return JSON.stringify(value);
}

/** The indentation of the line `offset` is on. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** A value written in the style of the one it replaces: one line stays one line; else indented. */
function render(value: unknown, like: string | null, baseIndent: string, unit: string | number): string {
  if (like !== null && !like.includes('\n')) {
    // The style is read from the JSON's own punctuation, not from inside its strings (`"a": ": "`).
    const bare = like.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    return oneLine(value, { padded: /^[{[]\s/.test(bare), spaced: /[:,] /.test(bare) });
  }
  const text = JSON.stringify(value, null, unit);
  return text.split('\n').join(`\n${baseIndent}`);
}

/**
 * Rewrite `text` (a JSON object) so that it holds `after`, touching only the top-level entries that
 * differ from `before`: changed ones in their own style, new ones appended after the last entry in
 * the style of the file, removed ones cut out with their comma. Null when the text's shape is not
 * one the editor knows (the caller then writes the whole file).
 */
export function editTopLevel(
  text: string,
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
  indentUnit: string | number,
): string | null {
  const top = scanTopLevel(text);
  if (!top) return null;
  // A key written twice: JSON.parse keeps the last; so many places to edit are not worth guessing at.
  if (new Set(top.entries.map((e) => e.key)).size !== top.entries.length) return null;
  // Everything removed: an empty object, and the text around it as it was.
  if (Object.keys(after).length === 0) return `${text.slice(0, top.open)}{}${text.slice(top.close + 1)}`;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const edits: { start: number; end: number; text: string }[] = [];
  const unit = typeof indentUnit === 'number' ? ' '.repeat(indentUnit) : indentUnit;
  for (const [idx, e] of top.entries.entries()) {
    if (!Object.hasOwn(after, e.key)) {
      // Cut the entry and one comma: the one after it, or (for the last entry) the one before it.
      const next = top.entries[idx + 1];
      if (next) edits.push({ start: e.keyStart, end: next.keyStart, text: '' });
      else {
        const prev = top.entries[idx - 1];
        edits.push({ start: prev ? prev.valueEnd : e.keyStart, end: prev ? e.valueEnd : skipWs(text, e.valueEnd), text: '' });
      }
    } else if (!same(before[e.key], after[e.key])) {
      const old = text.slice(e.valueStart, e.valueEnd);
      edits.push({ start: e.valueStart, end: e.valueEnd, text: render(after[e.key], old, indentAt(text, e.keyStart), indentUnit) });
    }
  }
  const added = Object.keys(after).filter((k) => !top.entries.some((e) => e.key === k));
  // Every entry there removed and others added: the object's inside is written anew (the cuts and
  // the insertion would otherwise fall on one another).
  if (added.length > 0 && !top.entries.some((e) => Object.hasOwn(after, e.key))) {
    const multiLine = text.slice(top.open, top.close).includes('\n') || top.entries.length === 0;
    const last = top.entries[top.entries.length - 1];
    const sample = !multiLine && last ? text.slice(last.valueStart, last.valueEnd) : null; // a one-line file stays one line, in its spacing
    const entries = added.map((k) => `${JSON.stringify(k)}: ${render(after[k], sample, unit, indentUnit)}`);
    const inside = multiLine ? `\n${unit}${entries.join(`,\n${unit}`)}\n` : entries.join(', ');
    return `${text.slice(0, top.open)}{${inside}}${text.slice(top.close + 1)}`;
  }
  if (added.length > 0) {
    const kept = top.entries.filter((e) => Object.hasOwn(after, e.key));
    const last = kept[kept.length - 1];
    // New entries follow the file: one line each where every entry is one line, else indented.
    const oneLineFile = top.entries.length > 0 && top.entries.every((e) => !text.slice(e.valueStart, e.valueEnd).includes('\n'));
    const multiLineFile = text.slice(top.open, top.close).includes('\n');
    const indent = last ? indentAt(text, last.keyStart) : unit;
    const sample = last ? text.slice(last.valueStart, last.valueEnd) : null;
    const entries = added.map((k) => `${JSON.stringify(k)}: ${render(after[k], oneLineFile ? sample : null, indent, indentUnit)}`);
    if (multiLineFile || !last) {
      const sep = `,\n${indent}`;
      const body = entries.join(sep);
      if (last) edits.push({ start: last.valueEnd, end: last.valueEnd, text: `${sep}${body}` });
      else edits.push({ start: top.open + 1, end: top.close, text: `\n${indent}${body}\n` });
    } else {
      edits.push({ start: last.valueEnd, end: last.valueEnd, text: `, ${entries.join(', ')}` });
    }
  }
  // From the end, so earlier offsets stay right.
  let out = text;
  // At one offset, a cut goes before an insertion (else the cut would take the inserted text).
  for (const ed of edits.sort((a, b) => b.start - a.start || (b.end - b.start) - (a.end - a.start))) out = out.slice(0, ed.start) + ed.text + out.slice(ed.end);
  return out;
}
