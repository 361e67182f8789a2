import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

export const deregisterCommand = defineCommand<Args, { name: string; stopped: boolean; removed: boolean; message: string }>({
  command: 'deregister <name>',
  describe: 'Stop a process if it runs, and remove it, its state and its logs',
  registry: 'tolerant', // a broken entry can be removed: that is how a hand edit gone wrong is undone
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).example('$0 deregister my-bot', ''),
  run: async (argv, ctx) => {
    const { deregisterProcess } = await import('../app/register.js');
    return deregisterProcess(ctx, argv.name);
  },
  render: (res, out) => {
    if (res.stopped) out.printLine(res.message);
    out.printLine(`deregistered ${res.name}`);
  },
});
