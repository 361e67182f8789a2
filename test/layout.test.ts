// The architecture, enforced: imports go one way (commands -> app -> core/effects; core imports
// only core; effects never reach up into app, cli or commands), and no module imports itself back
// through others (the check/lifecycle/ready circle of old).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = walk(src).map((f) => relative(src, f));
/** Every module a file imports (static, re-exported or dynamic), as paths relative to src/. */
const imports = new Map(files.map((f) => {
  const text = readFileSync(join(src, f), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return [f, specs.map((s) => relative(src, resolve(dirname(join(src, f)), s)).replace(/\.js$/, '.ts'))];
}));
const layer = (f: string) => f.split('/')[0]!;

describe('the layout', () => {
  it('imports only what exists', () => {
    const missing = [...imports].flatMap(([f, deps]) => deps.filter((d) => !files.includes(d)).map((d) => `${f} -> ${d}`));
    expect(missing).toEqual([]);
  });

  it.each([
    ['core', ['core', 'errors.ts']], // errors.ts is a leaf (its Issue type)
    ['effects', ['effects', 'core', 'errors.ts']],
    ['app', ['app', 'effects', 'core', 'errors.ts']],
  ])('%s imports only from %j', (from, allowed) => {
    const wrong = [...imports].filter(([f]) => layer(f) === from)
      .flatMap(([f, deps]) => deps.filter((d) => !allowed.includes(layer(d))).map((d) => `${f} -> ${d}`));
    expect(wrong).toEqual([]);
  });

  it('has no import circles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (f: string) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      path.push(f);
      for (const d of imports.get(f) ?? []) visit(d);
      path.pop();
      state.set(f, 'done');
    };
    for (const f of files) visit(f);
    expect(cycles).toEqual([]);
  });
});
