import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string; run: string; 'restarted-at'?: number }

/** Hidden: the runner reports each exit here and reads back what to do (effects/runner-protocol.ts). */
export const onExitCommand = defineCommand<Args, undefined>({
  command: 'on-exit <name>',
  describe: false,
  registry: 'tolerant',
  flags: {
    positionals: { name: { type: 'string', demandOption: true } },
    options: { run: { type: 'string', demandOption: true }, 'restarted-at': { type: 'number' } },
  },
  run: async (argv, ctx) => {
    const { requireValidEntry } = await import('../cli/wiring.js');
    const { reportExit } = await import('../app/report.js');
    const { announce } = await import('../app/alerts.js');
    const { closeSync, writeSync } = await import('node:fs');
    requireValidEntry(ctx.registry, argv.name);
    const { instruction, alerts } = await reportExit(ctx, argv.name, argv.run, argv['restarted-at'] ?? null);
    // Hand the runner its instruction first. Its $(...) waits for this process to exit, so the
    // slow channels (webhook retries and all) go to a detached notifier: they never delay a restart.
    writeSync(1, `${instruction}\n`);
    closeSync(1);
    await announce(ctx, argv.name, alerts);
    return undefined;
  },
});
