import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { foreground?: boolean; stop?: boolean; status?: boolean }

export const watchCommand: CommandModule<GlobalArgs, Args> = {
  command: 'watch',
  describe: 'The optional watcher: sub-second detection, live probes and resource limits (a singleton; starts in the background)',
  builder: (y) =>
    y
      .option('foreground', { type: 'boolean', describe: 'Run in this process (under systemd/launchd)' })
      .option('stop', { type: 'boolean', describe: 'Stop the running watcher' })
      .option('status', { type: 'boolean', describe: 'Say whether it runs' })
      .example('$0 watch', 'start it in the background; its log is <state_dir>/watch.log')
      .example('$0 watch --foreground', 'for a service manager'),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const watch = await import('../app/watch.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    if (argv.status) {
      const h = await watch.readWatchHolder(ctx);
      if (argv.json) return printJson({ running: h !== null, pid: h?.pid ?? null, since: h?.since ?? null });
      printLine(h ? `pguard watch is running (pid ${h.pid}, since ${h.since})` : 'pguard watch is not running');
      if (!h) process.exitCode = 1;
      return;
    }
    if (argv.stop) {
      const res = await watch.stopWatchDaemon(ctx);
      if (argv.json) return printJson(res);
      return printLine(res.pid ? `stopped pguard watch (pid ${res.pid})` : 'pguard watch was not running');
    }
    if (argv.foreground) {
      await watch.runWatch(ctx, { log: (l) => process.stdout.write(`${l}\n`) });
      return;
    }
    const res = await watch.startWatchDaemon(ctx);
    if (res.already) {
      const { UserError } = await import('../errors.js');
      throw new UserError(`pguard watch is already running (pid ${res.pid}). Stop it with \`pguard watch --stop\`.`);
    }
    if (argv.json) return printJson(res);
    printLine(`pguard watch started (pid ${res.pid}); log: ${ctx.store.dir}/watch.log`);
  },
};
