import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string; run: string; 'restarted-at'?: number }

/** Hidden: the runner reports each exit here and reads back what to do. */
export const onExitCommand: CommandModule<GlobalArgs, Args> = {
  command: 'on-exit <name>',
  describe: false,
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('run', { type: 'string', demandOption: true })
      .option('restarted-at', { type: 'number' }),
  handler: async (argv) => {
    const { buildContext, requireValidEntry } = await import('../cli/wiring.js');
    const { reportExit, restartDependentsLater } = await import('../app/lifecycle.js');
    const { recordAlerts, spawnNotifier } = await import('../app/alerts.js');
    const { closeSync, writeSync } = await import('node:fs');
    const ctx = buildContext(argv, { tolerant: true });
    requireValidEntry(ctx.registry, argv.name);
    const { instruction, alerts, restarted } = await reportExit(ctx, argv.name, argv.run, argv['restarted-at'] ?? null);
    // Hand the runner its instruction first. Its $(...) waits for this process to exit, so the
    // slow channels (webhook retries and all) go to a detached notifier: they never delay a restart.
    writeSync(1, `${instruction}\n`);
    closeSync(1);
    const toNotify = await recordAlerts(ctx, argv.name, alerts);
    if (toNotify.length > 0) spawnNotifier(ctx, toNotify.map((a) => a.id));
    if (restarted) restartDependentsLater(ctx, argv.name);
  },
};
