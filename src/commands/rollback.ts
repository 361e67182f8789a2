import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string; to?: number; auto?: boolean; reason?: string }

export const rollbackCommand: CommandModule<GlobalArgs, Args> = {
  command: 'rollback <name>',
  describe: 'Put the last known-good definition (or generation --to) back into the registry and start it',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('to', { type: 'number', describe: 'The generation to go back to (pguard history <name> --generations)' })
      .option('auto', { type: 'boolean', hidden: true })
      .option('reason', { type: 'string', hidden: true })
      .example('$0 rollback my-bot', '')
      .example('$0 rollback my-bot --to 2', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { rollbackProcess } = await import('../app/rollback.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv, { tolerant: true });
    const res = await rollbackProcess(ctx, argv.name, {
      ...(argv.to !== undefined ? { to: argv.to } : {}), reason: argv.reason ?? 'asked by the user', auto: argv.auto ?? false,
    });
    if (argv.json) return printJson(res);
    printLine(`${argv.name}: rolled back from generation ${res.from ?? '?'} to ${res.to}${res.start ? `; ${res.start.message}` : ''}`);
    if (res.start && res.start.outcome !== 'started' && res.start.outcome !== 'already-running') process.exitCode = 1;
  },
};
