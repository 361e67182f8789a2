import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StopResult } from '../app/stop.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean }

export const stopCommand = defineCommand<Args, StopResult[]>({
  command: 'stop [names..]',
  describe: 'Stop processes: stop_signal to the whole tree and group, SIGKILL after kill_timeout',
  registry: 'tolerant', // a broken entry must never keep its process from being stopped
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean', describe: 'Every registered process (dependents first)' })
      .example('$0 stop my-bot', ''),
  run: async (argv, ctx) => {
    const { selectAnyNames } = await import('../app/context.js');
    const { stopMany } = await import('../app/stop.js');
    const { describeList } = await import('../core/plan.js');
    const names = selectAnyNames(ctx, argv.names, argv.all ?? false, 'stop');
    if (!argv.json) ctx.progress(`stopping ${describeList(names)}...`);
    return stopMany(ctx, names);
  },
  render: (results, out) => { for (const r of results) out.printLine(r.message); },
});
