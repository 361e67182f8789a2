#!/bin/sh
':' //; case "$1" in watch|dashboard) exec node --max-semi-space-size=1 -- "$0" "$@";; esac; exec node -- "$0" "$@"
// The line above is for sh, and a string and a comment for Node: run as a command, this file
// starts Node with `--` before itself, so that no argument of pguard's is ever read as one of
// Node's (Node 20 reads `--env-file` anywhere on its command line, even after the script).
// The long-lived commands, watch and dashboard, get RESIDENT_NODE_FLAGS (src/app/jobs.ts says why;
// the watch that pguard starts itself gets them there): flags V8 reads only at start-up.
//
// CommonJS (bin/package.json): the hot commands (the runner's on-exit, cron's healthcheck, status,
// alerts...) run from a small CommonJS bundle of their own, without yargs and without starting the
// ES module loader; everything else, or a call the fast path does not take, from the full CLI (an
// ES module; scripts/bundle.mjs says why). The compile cache is used where Node has it (>= 22.1).
require('node:module').enableCompileCache?.();
// A reader that closed the pipe (`pguard status | head -1`) ends the command quietly, exit 0, as
// ls does: never a stack trace. (Nothing can be said on a closed stderr either.)
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
process.stderr.on('error', (err) => { if (err.code !== 'EPIPE') throw err; });
const argv = process.argv.slice(2);
// The same names as HOT_NAMES in src/cli/hot.ts (test/cli/fast-path.test.ts checks).
const HOT = ['status', 'healthcheck', 'on-exit', 'heartbeat', 'notify', 'alerts', 'dashboard', 'start', 'history', 'watch'];
// The long-lived commands idle, and run the same few functions once a second: TurboFan's optimised
// code buys them nothing measurable, and its compiler's pages and code cost ~4 MB of resident memory
// (bench/resident.mjs --cuts). Set on the first line: later, start-up's loops (100 entries
// validated) have been optimised already, and those pages stay resident.
if (argv[0] === 'watch' || argv[0] === 'dashboard') require('node:v8').setFlagsFromString('--no-opt');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
// A clone that was never built (npm install builds nothing): one line that says what to do, not Node's stack.
if (!existsSync(join(__dirname, '..', 'dist', 'bundle', 'pguard.js'))) {
  process.stderr.write(`pguard: not built yet: run \`npm run build\` in ${join(__dirname, '..')} (npm run demo and npm test build first).\n`);
  process.exit(1);
}
(async () => {
  if (HOT.includes(argv[0]) && (await require(`../dist/bundle/hot-${argv[0]}.cjs`).runHot(argv))) return;
  await import('../dist/bundle/pguard.js');
})();
