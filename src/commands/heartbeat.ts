import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

export const heartbeatCommand: CommandModule<GlobalArgs, Args> = {
  command: 'heartbeat <name>',
  describe: 'Record a heartbeat for a process (what a heartbeat probe checks; the same as touching $PGUARD_HEARTBEAT_FILE)',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).example('$0 heartbeat my-bot', 'from a cron job or the bot itself'),
  handler: async (argv) => {
    const { closeSync, openSync, utimesSync } = await import('node:fs');
    const { buildContext } = await import('../cli/wiring.js');
    const { requireDef } = await import('../app/context.js');
    const { heartbeatFile } = await import('../app/check.js');
    const { printJson } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    requireDef(ctx, argv.name);
    ctx.store.ensureProc(argv.name);
    const file = heartbeatFile(ctx, argv.name);
    closeSync(openSync(file, 'a', 0o600));
    const now = new Date();
    utimesSync(file, now, now);
    if (argv.json) printJson({ name: argv.name, file, at: now.toISOString() });
  },
};
