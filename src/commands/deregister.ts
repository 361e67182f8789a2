import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

export const deregisterCommand = defineCommand<Args, { name: string; stopped: boolean; removed: boolean; message: string }>({
  command: 'deregister <name>',
  describe: 'Stop a process if it runs, and remove it, its state and its logs',
  registry: 'tolerant', // a broken entry can be removed: that is how a hand edit gone wrong is undone
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).example('$0 deregister my-bot', ''),
  run: async (argv, ctx) => {
    const { requireAnyDef } = await import('../app/context.js');
    const { stopOne } = await import('../app/stop.js');
    const { removeFromRegistry } = await import('../app/register.js');
    const { recordEvent } = await import('../app/ledger.js');
    requireAnyDef(ctx, argv.name);
    const { dependentsOf } = await import('../core/deps.js');
    const { UserError } = await import('../errors.js');
    const dependents = dependentsOf(ctx.registry.defs, argv.name);
    if (dependents.length > 0) throw new UserError(`${dependents.join(', ')} depend${dependents.length === 1 ? 's' : ''} on "${argv.name}": deregister ${dependents.length === 1 ? 'it' : 'them'} first, or take "${argv.name}" out of ${dependents.length === 1 ? 'its' : 'their'} depends_on.`, 2);
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
