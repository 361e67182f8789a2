import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

export const deregisterCommand: CommandModule<GlobalArgs, Args> = {
  command: 'deregister <name>',
  describe: 'Stop a process if it runs, and remove it, its state and its logs',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).example('$0 deregister my-bot', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { requireDef } = await import('../app/context.js');
    const { stopOne } = await import('../app/lifecycle.js');
    const { removeFromRegistry } = await import('../app/register.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    requireDef(ctx, argv.name);
    const stop = await stopOne(ctx, argv.name);
    await removeFromRegistry(ctx.registry.path, argv.name);
    ctx.store.removeProcess(argv.name);
    const { recordEvent } = await import('../app/ledger.js');
    await recordEvent(ctx, 'deregister', argv.name, { was_running: stop.outcome === 'stopped' });
    const res = { name: argv.name, stopped: stop.outcome === 'stopped', removed: true };
    if (argv.json) return printJson(res);
    if (res.stopped) printLine(stop.message);
    printLine(`deregistered ${argv.name}`);
  },
};
