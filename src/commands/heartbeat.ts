import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

export const heartbeatCommand = defineCommand<Args, { name: string; file: string; at: string }>({
  command: 'heartbeat <name>',
  describe: 'Record a heartbeat for a process (what a heartbeat probe checks; the same as touching $PGUARD_HEARTBEAT_FILE)',
  flags: { positionals: { name: { type: 'string', demandOption: true } }, examples: [['$0 heartbeat my-bot', 'from a cron job or the bot itself']] },
  run: async (argv, ctx) => {
    const { closeSync, openSync, utimesSync } = await import('node:fs');
    const { requireDef } = await import('../app/context.js');
    requireDef(ctx, argv.name);
    ctx.store.ensureProc(argv.name);
    const file = ctx.store.procFile(argv.name, 'heartbeat');
    closeSync(openSync(file, 'a', 0o600));
    const now = new Date();
    utimesSync(file, now, now);
    return { name: argv.name, file, at: now.toISOString() };
  },
  render: () => {}, // silent: it is called from scripts every few seconds
});
