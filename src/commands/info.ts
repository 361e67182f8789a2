import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

export const infoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'info',
  describe: 'Where things are: registry, state, logs, alert files, ledger',
  builder: (y) => y.example('$0 info --json', ''),
  handler: async (argv) => {
    const { join } = await import('node:path');
    const { buildContext } = await import('../cli/wiring.js');
    const { RUNNER_PATH, CLI_PATH } = await import('../effects/spawn.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    const info = {
      registry: ctx.registry.path,
      state_dir: ctx.store.dir,
      log_dir: join(ctx.store.dir, 'logs'),
      alert_flag: ctx.alertFlag,
      alert_text: ctx.alertText,
      ledger: join(ctx.store.dir, 'ledger.jsonl'),
      processes: ctx.registry.defs.size,
      pguard: CLI_PATH,
      runner: RUNNER_PATH,
      node: process.execPath,
    };
    if (argv.json) return printJson(info);
    const width = Math.max(...Object.keys(info).map((k) => k.length));
    for (const [k, v] of Object.entries(info)) printLine(`${k.padEnd(width)}  ${v}`);
  },
};
