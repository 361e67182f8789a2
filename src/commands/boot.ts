import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StartResult } from '../app/start.js';

export const bootCommand = defineCommand<GlobalArgs, StartResult[]>({
  command: 'boot',
  describe: 'Start every process with "autostart": true, in dependency order (for @reboot)',
  builder: (y) => y.example('$0 boot', ''),
  run: async (_argv, ctx) => {
    const { startMany } = await import('../app/start.js');
    const names = [...ctx.registry.defs.values()].filter((d) => d.autostart).map((d) => d.name);
    return startMany(ctx, names, { waitMs: 1000, by: 'boot' });
  },
  render: (results, out) => out.printStartResults(results),
  failed: (results) => results.some((r) => r.outcome === 'died' || r.outcome === 'not-started'),
});
