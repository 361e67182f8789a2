import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { foreground?: boolean; stop?: boolean; status?: boolean }

type WatchResult =
  | { readonly kind: 'status'; readonly running: boolean; readonly pid: number | null; readonly since: string | null }
  | { readonly kind: 'stopped'; readonly pid: number | null }
  | { readonly kind: 'started'; readonly pid: number; readonly already: boolean; readonly log: string };

export const watchCommand = defineCommand<Args, WatchResult | undefined>({
  command: 'watch',
  describe: 'The optional watcher: sub-second detection, live probes and resource limits (a singleton; starts in the background)',
  registry: 'tolerant',
  // As data: the watcher, a long-lived loop, starts through the fast path without yargs (bin/pguard.js
  // runs it from a bundle of its own, cli/hot.ts): yargs and the full CLI were a third of its memory.
  flags: {
    options: {
      foreground: { type: 'boolean', describe: 'Run in this process (under systemd/launchd)' },
      stop: { type: 'boolean', describe: 'Stop the running watcher' },
      status: { type: 'boolean', describe: 'Say whether it runs' },
    },
    examples: [['$0 watch', 'start it in the background; its log is <state_dir>/watch.log'], ['$0 watch --foreground', 'for a service manager']],
  },
  run: async (argv, ctx) => {
    const watch = await import('../app/watch.js');
    if (argv.status) {
      const h = await watch.readWatchHolder(ctx);
      return { kind: 'status', running: h !== null, pid: h?.pid ?? null, since: h?.since ?? null };
    }
    if (argv.stop) return { kind: 'stopped', ...(await watch.stopWatchDaemon(ctx)) };
    if (argv.foreground) {
      await watch.runWatch(ctx, { log: (l) => process.stdout.write(`${l}\n`) });
      return undefined;
    }
    const res = await watch.startWatchDaemon(ctx);
    if (res.already) {
      const { UserError } = await import('../errors.js');
      throw new UserError(`pguard watch is already running (pid ${res.pid}). Stop it with \`pguard watch --stop\`.`);
    }
    return { kind: 'started', ...res, log: ctx.store.path('watchLog') };
  },
  render: (res, { printLine }) => {
    if (res?.kind === 'status') printLine(res.running ? `pguard watch is running (pid ${res.pid}, since ${res.since})` : 'pguard watch is not running');
    if (res?.kind === 'stopped') printLine(res.pid ? `stopped pguard watch (pid ${res.pid})` : 'pguard watch was not running');
    if (res?.kind === 'started') printLine(`pguard watch started (pid ${res.pid}); log: ${res.log}`);
  },
  failed: (res) => res?.kind === 'status' && !res.running,
});
