import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StartResult } from '../app/start.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean; wait: number | boolean; after?: string }

export const restartCommand = defineCommand<Args, StartResult[]>({
  command: 'restart [names..]',
  describe: 'Stop, then start with the current definition (resets the restart budget)',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean' })
      .option('wait', { describe: 'Seconds to watch the new start for an early death', default: 1 })
      .option('after', { type: 'string', hidden: true, describe: 'First wait until this process is ready (restart_dependents)' })
      .example('$0 restart my-bot', ''),
  run: async (argv, ctx) => {
    const { selectNames } = await import('../app/context.js');
    const { startMany } = await import('../app/start.js');
    const { stopMany } = await import('../app/stop.js');
    const { parseWaitSeconds } = await import('../cli/args.js');
    const names = selectNames(ctx, argv.names, argv.all ?? false, 'restart');
    if (argv.after) {
      const { readyTimeoutMs, waitReady } = await import('../app/ready.js');
      const r = await waitReady(ctx, argv.after, readyTimeoutMs(ctx, argv.after));
      if (!r.ready) {
        const { UserError } = await import('../errors.js');
        throw new UserError(`not restarting ${names.join(', ')}: ${r.detail}.`);
      }
    }
    if (!argv.json) ctx.progress(`restarting ${names.join(', ')}...`);
    await stopMany(ctx, names);
    const waitS = parseWaitSeconds(argv.wait);
    return startMany(ctx, names, { waitMs: waitS * 1000 });
  },
  render: (results, out) => out.printStartResults(results),
  failed: (results) => results.some((r) => r.outcome === 'died' || r.outcome === 'not-started'),
});
