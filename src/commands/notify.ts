import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { ids: string[] }

/** Hidden: deliver recorded alerts to the slow channels, detached from whoever raised them. */
export const notifyCommand: CommandModule<GlobalArgs, Args> = {
  command: 'notify <ids..>',
  describe: false,
  builder: (y) => y.positional('ids', { type: 'string', array: true, demandOption: true }),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { notifyByIds } = await import('../app/alerts.js');
    await notifyByIds(buildContext(argv, { tolerant: true }), argv.ids);
  },
};
