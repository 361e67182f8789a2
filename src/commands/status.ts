import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StatusView } from '../app/status.js';

interface Args extends GlobalArgs { name?: string }

export const statusCommand = defineCommand<Args, StatusView[]>({
  command: 'status [name]',
  describe: 'Show every process (or one): status, PID, uptime, restarts, last exit',
  builder: (y) => y.positional('name', { type: 'string' }).example('$0 status --json', ''),
  run: async (argv, ctx) => {
    const { requireDef } = await import('../app/context.js');
    const { describeStatuses } = await import('../app/status.js');
    const names = argv.name ? [requireDef(ctx, argv.name).name] : [...ctx.registry.defs.keys()];
    return describeStatuses(ctx, names);
  },
  render: (views, out) => out.printStatusTable(views),
});
