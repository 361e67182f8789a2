import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { ids: string[] }

/** Hidden: deliver recorded alerts to the slow channels, detached from whoever raised them (app/jobs.ts). */
export const notifyCommand = defineCommand<Args, undefined>({
  command: 'notify <ids..>',
  describe: false,
  registry: 'tolerant',
  flags: { positionals: { ids: { type: 'string', array: true, demandOption: true } } },
  run: async (argv, ctx) => {
    const { notifyByIds } = await import('../app/alerts.js');
    await notifyByIds(ctx, argv.ids);
    return undefined;
  },
});
