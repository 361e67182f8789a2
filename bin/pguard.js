#!/bin/sh
':' //; exec node -- "$0" "$@"
// The line above is for sh, and a string and a comment for Node: run as a command, this file
// starts Node with `--` before itself, so that no argument of pguard's is ever read as one of
// Node's (Node 20 reads `--env-file` anywhere on its command line, even after the script).
//
// One bundle (dist/bundle, made by esbuild at build time) loads in ~40 ms less than the ~60 ES
// modules it is made of: cron and every runner report start this CLI. The compile cache is used
// where Node has it (>= 22.1).
import module from 'node:module';
module.enableCompileCache?.();
await import('../dist/bundle/pguard.js');
