import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StartResult } from '../app/start.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean; wait: number | boolean; after?: string; dependents: boolean; scheduled?: boolean }

export const restartCommand = defineCommand<Args, StartResult[]>({
  command: 'restart [names..]',
  describe: 'Stop, then start with the current definition (resets the restart budget); then its running dependents, once it is ready',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean' })
      .option('wait', { describe: 'Seconds to watch the new start for an early death', default: 1 })
      .option('dependents', { type: 'boolean', default: true, describe: 'Also restart what depends on it (restart_dependents), once it is ready; --no-dependents: only these' })
      .option('after', { type: 'string', hidden: true, describe: 'pguard\'s own job: restart these dependents of AFTER once it is ready' })
      .option('scheduled', { type: 'boolean', hidden: true, describe: 'pguard\'s own job: the restart_schedule came' })
      .example('$0 restart my-bot', '')
      .example('$0 restart db --no-dependents', 'db alone; api, which depends on it, keeps running'),
  run: async (argv, ctx) => {
    const { selectNames } = await import('../app/context.js');
    const { parseWaitSeconds } = await import('../cli/args.js');
    const waitMs = parseWaitSeconds(argv.wait) * 1000;
    const names = selectNames(ctx, argv.names, argv.all ?? false, 'restart');
    const dependents = await import('../app/dependents.js');
    if (argv.after) {
      const res = await dependents.restartDependents(ctx, argv.after, names, { waitMs });
      if (res.notReady) {
        const { UserError } = await import('../errors.js');
        throw new UserError(`not restarting ${names.join(', ')}: ${res.notReady}.`);
      }
      if (res.coalesced && !argv.json) ctx.progress(`the restart of ${argv.after}'s dependents is already under way`);
      return [...res.results];
    }
    const { restartProcesses } = await import('../app/restart.js');
    return restartProcesses(ctx, names, { waitMs, dependents: argv.dependents, quiet: argv.json ?? false, ...(argv.scheduled ? { by: 'restart_schedule' as const } : {}) });
  },
  render: (results, out) => out.printStartResults(results),
  failed: (results) => results.some((r) => r.outcome === 'died' || r.outcome === 'not-started'),
});
