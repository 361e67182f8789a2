import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean; wait: number | boolean }

export const startCommand: CommandModule<GlobalArgs, Args> = {
  command: 'start [names..]',
  describe: 'Start processes fully detached (their own session; they outlive this shell)',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean', describe: 'Every registered process, in dependency order' })
      .option('wait', { describe: 'Seconds to watch each start for an early death (--no-wait: return at once)', default: 1 })
      .example('$0 start my-bot', '')
      .example('$0 start --all --wait 3', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { selectNames } = await import('../app/context.js');
    const { startMany } = await import('../app/lifecycle.js');
    const { parseWaitSeconds } = await import('../cli/args.js');
    const { printStartResults } = await import('../cli/views.js');
    const ctx = buildContext(argv);
    const names = selectNames(ctx, argv.names, argv.all ?? false, 'start');
    const waitS = parseWaitSeconds(argv.wait);
    if (waitS > 0 && !argv.json) ctx.progress(`starting ${names.length} process${names.length === 1 ? '' : 'es'}; watching ${waitS} s for early deaths...`);
    const results = await startMany(ctx, names, { waitMs: waitS * 1000 });
    printStartResults(results, argv.json ?? false);
    if (results.some((r) => r.outcome === 'died' || r.outcome === 'not-started')) process.exitCode = 1;
  },
};
