import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface InstallArgs extends GlobalArgs { every: number; boot?: boolean; watch?: boolean; print?: boolean; format: string }

const installCommand: CommandModule<GlobalArgs, InstallArgs> = {
  command: 'install',
  describe: 'Add the marked crontab line that runs healthcheck (idempotent; other lines untouched)',
  builder: (y) =>
    y
      .option('every', { type: 'number', default: 5, describe: 'Minutes between healthchecks (1-60)' })
      .option('boot', { type: 'boolean', describe: 'Also add @reboot pguard boot (starts autostart processes)' })
      .option('watch', { type: 'boolean', describe: 'Also keep `pguard watch` running: sets $settings.watch (healthcheck guards it) and starts it' })
      .option('print', { type: 'boolean', describe: 'Print the scheduler entry instead of installing it' })
      .option('format', { type: 'string', choices: ['crontab', 'systemd', 'launchd', 'schtasks'], default: 'crontab', describe: 'With --print' })
      .example('$0 cron install --every 5 --boot', '')
      .example('$0 cron install --watch', 'the watcher, guarded by the cron healthcheck')
      .example('$0 cron install --print --format systemd', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const cron = await import('../app/cron.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    const opts = { every: argv.every, boot: argv.boot ?? false };
    if (argv.print) return void process.stdout.write(cron.renderSchedule(ctx, argv.format as 'crontab', opts));
    const res = await cron.installCron(ctx, opts);
    const watch = argv.watch ? await cron.enableWatch(ctx) : null;
    if (argv.json) return printJson({ ...res, ...(watch ? { watch } : {}) });
    printLine(res.changed ? 'installed in your crontab:' : 'already installed:');
    for (const l of res.lines) printLine(`  ${l}`);
    if (watch) printLine(`$settings.watch is on; pguard watch ${watch.already ? 'was already running' : 'started'} (pid ${watch.pid})`);
  },
};

const uninstallCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'uninstall',
  describe: "Remove this registry's crontab lines (only those)",
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { uninstallCron } = await import('../app/cron.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const res = await uninstallCron(buildContext(argv));
    if (argv.json) return printJson(res);
    printLine(res.removed.length ? `removed ${res.removed.length} line(s) from your crontab` : 'nothing to remove');
  },
};

const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: "Show this registry's crontab lines",
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { cronStatus } = await import('../app/cron.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const res = await cronStatus(buildContext(argv));
    if (argv.json) return printJson(res);
    if (!res.installed) return printLine('not installed: run `pguard cron install`');
    for (const l of res.lines) printLine(l);
    printLine(`output goes to ${res.log}`);
  },
};

export const cronCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'cron <action>',
  describe: 'Schedule the healthcheck: install | uninstall | status',
  builder: (y) => y.command(installCommand).command(uninstallCommand).command(statusCommand).demandCommand(1),
  handler: () => {},
};
