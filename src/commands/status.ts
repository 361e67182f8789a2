import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StatusView } from '../app/status.js';

interface Args extends GlobalArgs { name?: string }

export const statusCommand = defineCommand<Args, StatusView[]>({
  command: 'status [name]',
  describe: 'Show every process (or one): status, PID, uptime, restarts, last exit',
  registry: 'tolerant', // every process is listed, broken entries as "invalid" with their issues
  anywhere: 'merge', // from another folder: every registry you have used
  flags: { positionals: { name: { type: 'string' } }, examples: [['$0 status --json', '']] },
  run: async (argv, ctx) => {
    const { describeRegistryStatus } = await import('../app/status.js');
    return describeRegistryStatus(ctx, argv.name);
  },
  render: (views, out) => out.printStatusTable(views),
});
