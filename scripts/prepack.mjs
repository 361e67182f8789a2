#!/usr/bin/env node
// `npm pack` runs this (as prepack): pguard ships a bundle built from TypeScript, so the tarball is
// built here, and `npm install -g ./pguard-*.tgz` then installs a copy of its own, which the clone
// can move or go away from (and the crontab line points at). Without the dev dependencies that
// build it (typescript, esbuild), they are installed first, into this folder only, without
// touching the global prefix. (Not a `prepare` script: npm would warn of it at every install.)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const run = (args) => execFileSync(npm[0], [...npm.slice(1), ...args], { cwd: root, stdio: 'inherit', env: localEnv() });

/** npm's settings for this install (global, its prefix) must not reach the install of the build tools. */
function localEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^npm_config_(global|location|prefix|install_links|omit|include|only|production)$/i.test(k)) delete env[k];
  }
  return env;
}

if (!existsSync(bin('tsc')) || !existsSync(bin('esbuild'))) {
  process.stderr.write('pguard: installing the build tools (typescript, esbuild) into this folder to build the CLI...\n');
  run(['install', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save']);
}
run(['run', 'build']);
