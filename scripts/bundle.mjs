#!/usr/bin/env node
// After tsc: the bundles bin/pguard.js loads (npm run build). Loading ~60 ES modules one by one
// cost ~40 ms of every start on Node 20 (no compile cache there), and each module loaded is ~0.35 ms
// more, so:
//   dist/bundle/hot-NAME.cjs each hot command (status, healthcheck, on-exit, alerts, heartbeat,
//                          notify) with only what it uses, in one file (cli/hot.ts)
//   dist/bundle/pguard.js  the full CLI with yargs, code-split so a command loads what it uses
//                          (the MCP SDK, the dashboard, YAML only for their commands)
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Built beside dist/bundle, then swapped in with two renames: a pguard started meanwhile (a
// runner's on-exit, cron's healthcheck, a test) never loads a half-written bundle.
const final = join(root, 'dist', 'bundle');
const out = `${final}.new-${process.pid}`;
rmSync(out, { recursive: true, force: true });
const common = {
  bundle: true, platform: 'node', format: 'esm', logLevel: 'warning', absWorkingDir: root,
  // Optional at run time: node-notifier loaded only for desktop alerts (it ships binaries), koffi's
  // native module on Windows only, nodemailer only when an email channel sends.
  external: ['node-notifier', '@koromix/*', 'nodemailer'],
  // Bundled CommonJS dependencies call require(): give the ES module one.
  banner: { js: "import { createRequire as __pguardRequire } from 'node:module'; const require = __pguardRequire(import.meta.url);" },
};
await build({ ...common, entryPoints: { pguard: 'dist/cli/main.js' }, splitting: true, outdir: out, chunkNames: 'chunk-[hash]' });
// One self-contained bundle per hot command (cli/hot.ts), with only the code that command uses.
// execa and json-file-plus stay in node_modules for them: imported only inside the functions that
// use them (an exec probe, a command channel, crontab, a registry write), never at start-up.
const { HOT_NAMES } = await import('../dist/cli/hot.js');
const exportOf = (name) => `${name.replace(/-([a-z])/g, (_m, c) => c.toUpperCase())}Command`; // on-exit -> onExitCommand
for (const name of HOT_NAMES) {
  const exported = exportOf(name);
  await build({
    ...common,
    stdin: {
      contents: `import { ${exported} } from './dist/commands/${name}.js';\nimport { runHot as run } from './dist/cli/hot.js';\nexport const runHot = (argv) => run(argv, [${exported}]);\n`,
      resolveDir: root, sourcefile: `hot-${name}.js`, loader: 'js',
    },
    // CommonJS, loaded by bin/pguard.js (itself CommonJS, bin/package.json) with require(): no ES
    // module loader to start for a hot call (~3 ms of it on Node 20).
    format: 'cjs', banner: { js: "const __pguardUrl = require('node:url').pathToFileURL(__filename).href;" }, define: { 'import.meta.url': '__pguardUrl' },
    outfile: join(out, `hot-${name}.cjs`),
    external: [...common.external, 'execa', 'json-file-plus'],
  });
}

// The Windows runner (src/runner-win/main.ts): one CommonJS file, all it needs in it but koffi's
// native module (an optional dependency, installed on Windows only).
await build({
  ...common, entryPoints: ['dist/runner-win/main.js'], outfile: join(out, 'runner-win.cjs'), format: 'cjs',
  banner: { js: "const __pguardUrl = require('node:url').pathToFileURL(__filename).href;" }, define: { 'import.meta.url': '__pguardUrl' },
  external: common.external,
});

const old = `${final}.old-${process.pid}`;
try { renameSync(final, old); } catch (err) { if (err.code !== 'ENOENT') throw err; }
renameSync(out, final);
rmSync(old, { recursive: true, force: true });

// Built: what scripts/build-if-stale.mjs compares the sources with.
writeFileSync(join(root, 'dist', '.built'), '');
