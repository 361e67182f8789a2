#!/usr/bin/env node
// `npm test`, `npm run demo` and the benches build first, but only what changed since the last
// build: `npm install && npm test` builds once, and a second `npm test` not at all. The build
// is stale when any source (src/, bin/, scripts/, templates/, tsconfig.json, package.json) is newer
// than dist/.built, which `npm run build` touches last.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mtime = (p) => { try { return statSync(p).mtimeMs; } catch { return -1; } };
function newest(p) {
  let st;
  try { st = statSync(p); } catch { return -1; }
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newest(join(p, e))));
}
const built = mtime(join(root, 'dist', '.built'));
const sources = Math.max(...['src', 'bin', 'scripts', 'templates', 'tsconfig.json', 'package.json'].map((p) => newest(join(root, p))));
if (built < 0 || sources > built) {
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  execFileSync(npm[0], [...npm.slice(1), 'run', 'build'], { cwd: root, stdio: 'inherit' });
}
