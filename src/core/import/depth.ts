// How deep a file nests, counted before it is parsed: parsers recurse, and a hostile file is deep.

/** How deep a file nests, at most, counted before it is parsed (parsers recurse). */
export const MAX_IMPORT_DEPTH = 64;

/**
 * The deepest nesting of `[` and `{` in JSON or a JavaScript literal (strings and comments
 * skipped), in one pass; stops counting past `limit`.
 */
export function literalDepth(text: string, limit = MAX_IMPORT_DEPTH): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const e = text.indexOf('\n', i);
      i = e < 0 ? text.length : e;
    } else if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? text.length : e + 1;
    } else if (c === '[' || c === '{') {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return max;
}

/**
 * An upper bound on how deep a YAML file nests, in one pass: its block levels (a stack of
 * indentations, and `- ` / `? ` markers on a line) plus its flow brackets outside quoted scalars,
 * comments and block scalars (`|`, `>`); stops counting past `limit`.
 */
export function yamlDepth(text: string, limit = MAX_IMPORT_DEPTH): number {
  const indents: number[] = [];
  let flow = 0;
  let max = 0;
  let blockScalarOf = -1; // the indentation of the line a block scalar (| or >) belongs to
  for (const line of text.split('\n')) {
    let i = 0;
    while (line[i] === ' ') i++;
    if (i === line.length || line[i] === '#' || line[i] === '\r') continue;
    if (blockScalarOf >= 0 && i > blockScalarOf) continue; // its text, not structure
    blockScalarOf = -1;
    while (indents.length > 0 && indents[indents.length - 1]! >= i) indents.pop();
    indents.push(i);
    const indent = i;
    let level = indents.length;
    // `- - - x`: each marker a level of its own.
    while ((line[i] === '-' || line[i] === '?') && (line[i + 1] === ' ' || i + 1 >= line.length)) {
      level++;
      i += 2;
      while (line[i] === ' ') i++;
    }
    for (; i < line.length; i++) {
      const c = line[i]!;
      const prev = i === 0 ? ' ' : line[i - 1]!;
      if ((c === '"' || c === "'") && /[\s[{,:-]/.test(prev)) {
        for (i++; i < line.length && line[i] !== c; i++) if (c === '"' && line[i] === '\\') i++;
      } else if (c === '#' && /\s/.test(prev)) break;
      else if (c === '[' || c === '{') {
        flow++;
        if (level + flow > max) max = level + flow;
        if (max > limit) return max;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (level + flow > max) max = level + flow;
    if (max > limit) return max;
    if (/(^|[\s:-])[|>][-+0-9]*\s*(#.*)?\r?$/.test(line)) blockScalarOf = indent;
  }
  return max;
}
