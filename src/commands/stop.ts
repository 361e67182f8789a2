import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean }

export const stopCommand: CommandModule<GlobalArgs, Args> = {
  command: 'stop [names..]',
  describe: 'Stop processes: stop_signal to the whole tree and group, SIGKILL after kill_timeout',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean', describe: 'Every registered process (dependents first)' })
      .example('$0 stop my-bot', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { selectNames } = await import('../app/context.js');
    const { stopMany } = await import('../app/lifecycle.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    const names = selectNames(ctx, argv.names, argv.all ?? false, 'stop');
    if (!argv.json) ctx.progress(`stopping ${names.join(', ')}...`);
    const results = await stopMany(ctx, names);
    if (argv.json) return printJson(results);
    for (const r of results) printLine(r.message);
  },
};
