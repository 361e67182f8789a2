import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { RollbackResult } from '../app/rollback.js';

interface Args extends GlobalArgs { name: string; to?: number; auto?: boolean; reason?: string }

export const rollbackCommand = defineCommand<Args, RollbackResult>({
  command: 'rollback <name>',
  describe: 'Put the last known-good definition (or generation --to) back into the registry and start it',
  registry: 'tolerant',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('to', { type: 'number', describe: 'The generation to go back to (pguard history <name> --generations)' })
      .option('auto', { type: 'boolean', hidden: true })
      .option('reason', { type: 'string', hidden: true })
      .example('$0 rollback my-bot', '')
      .example('$0 rollback my-bot --to 2', ''),
  run: async (argv, ctx) => {
    const { rollbackProcess } = await import('../app/rollback.js');
    return rollbackProcess(ctx, argv.name, {
      ...(argv.to !== undefined ? { to: argv.to } : {}), reason: argv.reason ?? 'asked by the user', auto: argv.auto ?? false,
    });
  },
  render: (res, out) => out.printLine(`${res.name}: rolled back from generation ${res.from ?? '?'} to ${res.to}${res.start ? `; ${res.start.message}` : ''}`),
  failed: (res) => res.start !== undefined && res.start.outcome !== 'started' && res.start.outcome !== 'already-running',
});
