import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name?: string }

export const statusCommand: CommandModule<GlobalArgs, Args> = {
  command: 'status [name]',
  describe: 'Show every process (or one): status, PID, uptime, restarts, last exit',
  builder: (y) => y.positional('name', { type: 'string' }).example('$0 status --json', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { requireDef } = await import('../app/context.js');
    const { describeStatuses } = await import('../app/status.js');
    const ctx = buildContext(argv);
    const names = argv.name ? [requireDef(ctx, argv.name).name] : [...ctx.registry.defs.keys()];
    const views = await describeStatuses(ctx, names);
    if (argv.json) {
      const { printJson } = await import('../cli/output.js');
      return printJson(views);
    }
    const { printStatusTable } = await import('../cli/views.js');
    printStatusTable(views);
  },
};
