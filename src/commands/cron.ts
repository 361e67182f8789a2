import { defineCommand, defineGroup } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { CronStatus, InstallResult } from '../app/cron.js';

interface InstallArgs extends GlobalArgs { every: number; boot?: boolean; watch?: boolean; print?: boolean; format: string }

type Installed = InstallResult & { watch?: { pid: number; already: boolean } };

/** Where the entries go, in the words of each scheduler. */
const where = (res: { scheduler?: 'schtasks' }) => (res.scheduler === 'schtasks' ? 'Task Scheduler' : 'your crontab');

const installCommand = defineCommand<InstallArgs, Installed | undefined>({
  command: 'install',
  describe: 'Add the marked crontab line that runs healthcheck (Windows: a Task Scheduler task; idempotent; nothing else touched)',
  builder: (y) =>
    y
      .option('every', { type: 'number', default: 5, describe: 'Minutes between healthchecks (1-60)' })
      .option('boot', { type: 'boolean', describe: 'Also add @reboot pguard boot (Windows: a logon task), which starts the autostart processes' })
      .option('watch', { type: 'boolean', describe: 'Also keep `pguard watch` running: sets $settings.watch (healthcheck guards it) and starts it' })
      .option('print', { type: 'boolean', describe: 'Print the scheduler entry instead of installing it' })
      .option('format', { type: 'string', choices: ['crontab', 'systemd', 'launchd', 'schtasks'], default: process.platform === 'win32' ? 'schtasks' : 'crontab', describe: 'With --print' })
      .example('$0 cron install --every 5 --boot', '')
      .example('$0 cron install --watch', 'the watcher, guarded by the cron healthcheck')
      .example('$0 cron install --print --format systemd', ''),
  run: async (argv, ctx) => {
    const cron = await import('../app/cron.js');
    const opts = { every: argv.every, boot: argv.boot ?? false };
    if (argv.print) {
      process.stdout.write(cron.renderSchedule(ctx, argv.format as 'crontab', opts));
      return undefined;
    }
    const res = await cron.installCron(ctx, { ...opts, watch: argv.watch ?? false });
    const watch = argv.watch ? await cron.enableWatch(ctx) : null;
    return { ...res, ...(watch ? { watch } : {}) };
  },
  render: (res, { printLine }) => {
    if (!res) return;
    printLine(res.changed ? `installed in ${where(res)}:` : 'already installed:');
    for (const l of res.lines) printLine(`  ${l}`);
    if (res.watch) printLine(`$settings.watch is on; pguard watch ${res.watch.already ? 'was already running' : 'started'} (pid ${res.watch.pid})`);
    if (res.warning) process.stderr.write(`pguard: warning: ${res.warning}\n`);
  },
});

const uninstallCommand = defineCommand<GlobalArgs, { removed: string[]; scheduler?: 'schtasks' }>({
  command: 'uninstall',
  describe: "Remove this registry's crontab lines or scheduled tasks (only those)",
  run: async (_argv, ctx) => {
    const { uninstallCron } = await import('../app/cron.js');
    return uninstallCron(ctx);
  },
  render: (res, out) => out.printLine(res.removed.length ? `removed ${res.removed.length} ${res.scheduler === 'schtasks' ? 'task' : 'line'}(s) from ${where(res)}` : 'nothing to remove'),
});

const statusCommand = defineCommand<GlobalArgs, CronStatus>({
  command: 'status',
  describe: "Show this registry's crontab lines or scheduled tasks",
  run: async (_argv, ctx) => {
    const { cronStatus } = await import('../app/cron.js');
    return cronStatus(ctx);
  },
  render: (res, { printLine }) => {
    if (!res.installed) printLine('not installed: run `pguard cron install`');
    if (!res.installed && res.lines.length === 0) return;
    for (const l of res.lines) printLine(l);
    if (res.log) printLine(`output goes to ${res.log}`);
    if (res.warning) process.stderr.write(`pguard: warning: ${res.warning}\n`);
  },
});

export const cronCommand = defineGroup('cron <action>', 'Schedule the healthcheck: install | uninstall | status', [installCommand, uninstallCommand, statusCommand]);
