import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { StartResult } from '../app/start.js';

interface Args extends GlobalArgs { names: string[]; all?: boolean; wait: number | boolean; now?: boolean }

export const startCommand = defineCommand<Args, StartResult[]>({
  command: 'start [names..]',
  describe: 'Start processes fully detached (their own session; they outlive this shell)',
  registry: 'tolerant', // a broken entry keeps only itself (and what needs it) from starting
  flags: {
    positionals: { names: { type: 'string', array: true, default: [] } },
    options: {
      all: { type: 'boolean', describe: 'Every registered process, in dependency order' },
      wait: { type: 'number', negatable: true, describe: 'Seconds to watch each start for an early death (--no-wait: return at once)', default: 1 },
      now: { type: 'boolean', describe: 'A job (`schedule`): run it now as well (start alone arms its schedule)' },
    },
    examples: [['$0 start my-bot', ''], ['$0 start --all --wait 3', ''], ['$0 start scraper --now', 'arm its schedule and run it once now']],
  },
  run: async (argv, ctx) => {
    const { selectNames } = await import('../app/context.js');
    const { refuseBroken, startMany } = await import('../app/start.js');
    const { observe } = await import('../app/observe.js');
    const { parseWaitSeconds } = await import('../cli/args.js');
    let names = selectNames(ctx, argv.names, argv.all ?? false, 'start');
    let skipped: StartResult[] = [];
    if (argv.all) {
      // --all starts what it can: not a broken entry (a cycle included), nor what depends on one;
      // each of those is named with why, and the start fails (exit 1).
      const { brokenStarts } = await import('../app/start.js');
      skipped = brokenStarts(ctx, names);
      names = names.filter((n) => !skipped.some((r) => r.name === n));
    }
    refuseBroken(ctx, names);
    const waitS = parseWaitSeconds(argv.wait);
    const toStart = names.filter((n) => !observe(ctx, n).processAlive);
    if (waitS > 0 && !argv.json && toStart.length > 0) ctx.progress(`starting ${toStart.length} process${toStart.length === 1 ? '' : 'es'}; watching ${waitS} s for early deaths...`);
    return [...skipped, ...(await startMany(ctx, names, { waitMs: waitS * 1000, now: argv.now ?? false }))];
  },
  render: (results, out) => out.printStartResults(results),
  failed: (results) => results.some((r) => r.outcome === 'died' || r.outcome === 'not-started'),
});
