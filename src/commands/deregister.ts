import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

export const deregisterCommand = defineCommand<Args, { name: string; stopped: boolean; removed: boolean; message: string }>({
  command: 'deregister <name>',
  describe: 'Stop a process if it runs, and remove it, its state and its logs',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).example('$0 deregister my-bot', ''),
  run: async (argv, ctx) => {
    const { requireDef } = await import('../app/context.js');
    const { stopOne } = await import('../app/stop.js');
    const { removeFromRegistry } = await import('../app/register.js');
    const { recordEvent } = await import('../app/ledger.js');
    requireDef(ctx, argv.name);
    const stop = await stopOne(ctx, argv.name);
    await removeFromRegistry(ctx.registry.path, ctx.store.path('locks'), argv.name);
    ctx.store.removeProcess(argv.name);
    await recordEvent(ctx, 'deregister', argv.name, { was_running: stop.outcome === 'stopped' });
    return { name: argv.name, stopped: stop.outcome === 'stopped', removed: true, message: stop.message };
  },
  render: (res, out) => {
    if (res.stopped) out.printLine(res.message);
    out.printLine(`deregistered ${res.name}`);
  },
});
