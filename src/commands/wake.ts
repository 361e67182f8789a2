import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { names: string[]; after: string }

/** Hidden: start dependents that wait for AFTER once it is ready (app/jobs.ts, app/wake.ts). */
export const wakeCommand = defineCommand<Args, undefined>({
  command: 'wake <names..>',
  describe: false,
  flags: {
    positionals: { names: { type: 'string', array: true, demandOption: true } },
    options: { after: { type: 'string', demandOption: true } },
  },
  run: async (argv, ctx) => {
    const { wakeDependents } = await import('../app/wake.js');
    const res = await wakeDependents(ctx, argv.after, argv.names);
    for (const n of res.started) ctx.progress(`${n} started: ${argv.after} is ready`);
    if (res.notReady) ctx.progress(`${res.waiting.join(', ')} still waiting: ${res.notReady}`);
    return undefined;
  },
});
