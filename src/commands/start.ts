import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StartResult } from '../app/start.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean; wait: number | boolean }

export const startCommand = defineCommand<Args, StartResult[]>({
  command: 'start [names..]',
  describe: 'Start processes fully detached (their own session; they outlive this shell)',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean', describe: 'Every registered process, in dependency order' })
      .option('wait', { describe: 'Seconds to watch each start for an early death (--no-wait: return at once)', default: 1 })
      .example('$0 start my-bot', '')
      .example('$0 start --all --wait 3', ''),
  run: async (argv, ctx) => {
    const { selectNames } = await import('../app/context.js');
    const { startMany } = await import('../app/start.js');
    const { parseWaitSeconds } = await import('../cli/args.js');
    const names = selectNames(ctx, argv.names, argv.all ?? false, 'start');
    const waitS = parseWaitSeconds(argv.wait);
    if (waitS > 0 && !argv.json) ctx.progress(`starting ${names.length} process${names.length === 1 ? '' : 'es'}; watching ${waitS} s for early deaths...`);
    return startMany(ctx, names, { waitMs: waitS * 1000 });
  },
  render: (results, out) => out.printStartResults(results),
  failed: (results) => results.some((r) => r.outcome === 'died' || r.outcome === 'not-started'),
});
