import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

export const bootCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'boot',
  describe: 'Start every process with "autostart": true, in dependency order (for @reboot)',
  builder: (y) => y.example('$0 boot', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { startMany } = await import('../app/lifecycle.js');
    const { printStartResults } = await import('../cli/views.js');
    const ctx = buildContext(argv);
    const names = [...ctx.registry.defs.values()].filter((d) => d.autostart).map((d) => d.name);
    const results = await startMany(ctx, names, { waitMs: 1000, by: 'boot' });
    printStartResults(results, argv.json ?? false);
    if (results.some((r) => r.outcome === 'died' || r.outcome === 'not-started')) process.exitCode = 1;
  },
};
