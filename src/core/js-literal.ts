// Reading a PM2 ecosystem file without running it: the value of `module.exports =` (or `export
// default`), taken as data. The file is parsed by acorn, a real JavaScript parser (a syntax error
// is named with its line and column; a `module.exports` inside a comment or a string is none of the
// file's), and only literal nodes are accepted: strings (templates without ${}), numbers, true/
// false/null/undefined, arrays, and objects with plain or quoted keys; the exported value may also
// be a top-level `const NAME = <literal>` it names. Anything else (a require, an environment
// variable, a call) makes it give up with the code it found and where, and the caller says the file
// must be evaluated instead. Pure.
import { parse, parseExpressionAt, tokenizer, type Node } from 'acorn';

export type LiteralResult = { ok: true; value: unknown } | { ok: false; why: string; syntax?: true };

/** How deep a literal may nest (arrays and objects): the reader recurses. */
export const MAX_LITERAL_DEPTH = 64;

// acorn's ESTree nodes, as far as this file looks at them.
type AnyNode = Node & Record<string, any>;

class NotLiteral extends Error {}

function where(source: string, node: AnyNode): string {
  const text = source.slice(node.start, Math.min(node.end, node.start + 40)).split('\n')[0]!;
  const loc = node.loc ? ` (line ${node.loc.start.line}, column ${node.loc.start.column + 1})` : '';
  return `\`${text}${node.end - node.start > text.length ? '...' : ''}\`${loc}`;
}

/** acorn's SyntaxError in words, with its line and column. */
function describeSyntaxError(err: unknown): string {
  const e = err as SyntaxError & { loc?: { line: number; column: number } };
  const message = e.message.replace(/\s*\(\d+:\d+\)$/, '');
  return e.loc ? `a syntax error at line ${e.loc.line}, column ${e.loc.column + 1}: ${message}` : `a syntax error: ${message}`;
}

/** The program, as a CommonJS script first (what PM2 loads), then as an ES module (for `export default`). */
function parseProgram(source: string): { program: AnyNode } | { error: string } {
  const options = { ecmaVersion: 'latest', locations: true, allowHashBang: true, allowReturnOutsideFunction: true } as const;
  try {
    return { program: parse(source, { ...options, sourceType: 'script' }) as AnyNode };
  } catch (scriptError) {
    try {
      return { program: parse(source, { ...options, sourceType: 'module' }) as AnyNode };
    } catch {
      return { error: describeSyntaxError(scriptError) };
    }
  }
}

function isModuleExports(node: AnyNode): boolean {
  return node.type === 'MemberExpression' && !node.computed && node.object.type === 'Identifier' && node.object.name === 'module'
    && node.property.type === 'Identifier' && node.property.name === 'exports';
}

export function readExportedLiteral(source: string): LiteralResult {
  const parsed = parseProgram(source);
  if ('error' in parsed) return { ok: false, why: parsed.error, syntax: true };
  const body = parsed.program.body as AnyNode[];
  // Top-level `const NAME = ...`: the exported value may name one (`const config = {...}; module.exports = config`).
  const consts = new Map<string, AnyNode>();
  let exported: AnyNode | null = null;
  for (const statement of body) {
    if (statement.type === 'VariableDeclaration' && statement.kind === 'const') {
      for (const d of statement.declarations as AnyNode[]) if (d.id.type === 'Identifier' && d.init) consts.set(d.id.name, d.init);
    }
    if (statement.type === 'ExportDefaultDeclaration') exported = statement.declaration;
    if (statement.type === 'ExpressionStatement' && statement.expression.type === 'AssignmentExpression'
      && statement.expression.operator === '=' && isModuleExports(statement.expression.left)) exported = statement.expression.right;
  }
  if (!exported) return { ok: false, why: 'no `module.exports =` or `export default` in it' };
  // A name the file gave its literal (followed once: a name of a name is code).
  if (exported.type === 'Identifier' && exported.name !== 'undefined' && consts.has(exported.name)) exported = consts.get(exported.name)!;
  return literalOf(source, exported);
}

/**
 * A JSON file as PM2 reads one: PM2 evaluates it as a JavaScript expression, so comments, trailing
 * commas, single quotes and unquoted keys are allowed. Read here as one, without running it.
 */
export function readLiteralExpression(source: string): LiteralResult {
  const options = { ecmaVersion: 'latest', locations: true } as const;
  let root: AnyNode;
  try {
    root = parseExpressionAt(source, 0, options) as AnyNode;
    const rest = [...tokenizer(source.slice(root.end), options)];
    if (rest.length > 0) return { ok: false, why: `something after the value at line ${(rest[0]!.loc?.start.line ?? 1) + source.slice(0, root.end).split('\n').length - 1}`, syntax: true };
  } catch (err) {
    return { ok: false, why: describeSyntaxError(err), syntax: true };
  }
  return literalOf(source, root);
}

/** The value of a literal node (objects, arrays, strings, numbers, booleans, null, undefined), or why it is code. */
function literalOf(source: string, root: AnyNode): LiteralResult {
  let depth = 0;
  const value = (node: AnyNode): unknown => {
    switch (node.type) {
      case 'Literal':
        if (node.regex || typeof node.value === 'bigint') throw new NotLiteral(`${where(source, node)} is code, not a literal`);
        return node.value;
      case 'TemplateLiteral':
        if (node.expressions.length > 0) throw new NotLiteral(`a template string with \${...} in it (line ${node.loc!.start.line}, column ${node.loc!.start.column + 1})`);
        return node.quasis[0].value.cooked;
      case 'UnaryExpression':
        if ((node.operator === '-' || node.operator === '+') && node.argument.type === 'Literal' && typeof node.argument.value === 'number') {
          return node.operator === '-' ? -node.argument.value : node.argument.value;
        }
        break;
      case 'Identifier':
        if (node.name === 'undefined') return undefined;
        break;
      case 'ArrayExpression': {
        if (++depth > MAX_LITERAL_DEPTH) throw new NotLiteral(`nested more than ${MAX_LITERAL_DEPTH} levels deep`);
        const out = (node.elements as (AnyNode | null)[]).map((e) => {
          if (e === null || e.type === 'SpreadElement') throw new NotLiteral(`${e ? where(source, e) : 'a hole'} in an array is not a literal`);
          return value(e);
        });
        depth--;
        return out;
      }
      case 'ObjectExpression': {
        if (++depth > MAX_LITERAL_DEPTH) throw new NotLiteral(`nested more than ${MAX_LITERAL_DEPTH} levels deep`);
        const out: Record<string, unknown> = {};
        for (const p of node.properties as AnyNode[]) {
          if (p.type !== 'Property' || p.computed || p.kind !== 'init') throw new NotLiteral(`${where(source, p)} is code, not a literal`);
          const key = p.key.type === 'Identifier' ? p.key.name : String(p.key.value);
          if (p.method || p.shorthand) throw new NotLiteral(`"${key}" is not followed by a value (a shorthand or a method)`);
          if (key === '__proto__') throw new NotLiteral('a __proto__ key');
          out[key] = value(p.value);
        }
        depth--;
        return out;
      }
    }
    throw new NotLiteral(`${where(source, node)} is code, not a literal`);
  };
  try {
    return { ok: true, value: value(root) };
  } catch (err) {
    if (err instanceof NotLiteral) return { ok: false, why: err.message };
    throw err;
  }
}
