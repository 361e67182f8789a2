import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StatusView } from '../app/status.js';

interface Args extends GlobalArgs { names: string[] }

export const statusCommand = defineCommand<Args, StatusView[]>({
  command: 'status [names..]',
  aliases: ['ls', 'list'],
  describe: 'Show every process (or those named): status, PID, uptime, restarts, last exit',
  registry: 'tolerant', // every process is listed, broken entries as "invalid" with their issues
  anywhere: 'merge', // from another folder: every registry you have used
  flags: { positionals: { names: { type: 'string', array: true, default: [] } }, examples: [['$0 status --json', ''], ['$0 status web worker', '']] },
  run: async (argv, ctx) => {
    const { describeRegistryStatus } = await import('../app/status.js');
    return describeRegistryStatus(ctx, argv.names);
  },
  render: (views, out) => out.printStatusTable(views),
});
