import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { port: number; host: string; open?: boolean; 'read-only'?: boolean }

export const dashboardCommand = defineCommand<Args, undefined>({
  command: 'dashboard',
  describe: 'Serve a live web dashboard for this registry (127.0.0.1:7070) until Ctrl-C: status, controls, alerts, logs, history',
  registry: 'tolerant', // an invalid entry is shown as such, not a reason to show nothing
  // As data: the dashboard, a long-lived server, starts through the fast path without yargs (and
  // its ~15 MB): bin/pguard.js runs it from a bundle of its own.
  flags: {
    options: {
      port: { type: 'number', default: 7070, describe: 'Port (0: any free one)' },
      host: { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (anything but loopback is reachable by others)' },
      open: { type: 'boolean', describe: 'Open it in the browser' },
      'read-only': { type: 'boolean', describe: 'Show, but refuse every control' },
    },
    examples: [['$0 dashboard --open', ''], ['$0 dashboard --port 0 --read-only', 'any free port; nothing can be changed from the page']],
  },
  run: async (argv, ctx) => {
    const { UserError } = await import('../errors.js');
    if (!Number.isInteger(argv.port) || argv.port < 0 || argv.port > 65535) throw new UserError(`--port expects a port from 0 to 65535, got ${JSON.stringify(argv.port)}.`, 2);
    const { isLoopback, startDashboard } = await import('../dashboard/server.js');
    const { reloader } = await import('../cli/wiring.js');
    const { cronStatus } = await import('../app/cron.js');
    if (!isLoopback(argv.host)) {
      process.stderr.write(`pguard: warning: listening on ${argv.host}: anyone who can reach it and has the token can start and stop your processes${argv['read-only'] ? ' (read-only: see them)' : ''}.\n`);
    }
    const path = ctx.registry.path;
    const stateDir = ctx.store.dir;
    let dash;
    let opened: { remove: () => void } | undefined;
    try {
      dash = await startDashboard({
        host: argv.host, port: argv.port, readOnly: argv['read-only'] ?? false,
        load: reloader(path, stateDir, ctx.env),
        cronInstalled: async (c) => (await cronStatus(c)).installed,
        onFirstAuthorized: () => opened?.remove(),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UserError(`port ${argv.port} on ${argv.host} is in use (another dashboard?). Pass --port N, or --port 0 for any free one.`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`cannot listen on ${argv.host}: not an address of this machine.`, 2);
      throw err;
    }
    process.stdout.write(`pguard dashboard: ${dash.url}\n`);
    process.stdout.write(`serving ${path}${argv['read-only'] ? ' (read-only)' : ''}; Ctrl-C stops it\n`);
    if (argv.open) {
      const { openInBrowser } = await import('../effects/browser.js');
      opened = openInBrowser(stateDir, dash.url, Number(new URL(dash.url).port), (m) => process.stderr.write(`pguard: ${m}\n`));
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dash.close();
    opened?.remove();
    return undefined;
  },
});
