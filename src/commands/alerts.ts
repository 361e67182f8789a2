import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { all?: boolean; process?: string }
interface AckArgs extends GlobalArgs { ids: string[]; all?: boolean }

const ackCommand: CommandModule<GlobalArgs, AckArgs> = {
  command: 'ack [ids..]',
  describe: 'Acknowledge alerts by id (or --all); the flag file goes when none are left',
  builder: (y) => y.positional('ids', { type: 'string', array: true, default: [] as string[] }).option('all', { type: 'boolean' }),
  handler: async (argv) => {
    const { UserError } = await import('../errors.js');
    if (!argv.all && argv.ids.length === 0) throw new UserError('name the alert ids to acknowledge, or pass --all.', 2);
    const { buildContext } = await import('../cli/wiring.js');
    const { ackAlerts } = await import('../app/alerts.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    const res = await ackAlerts(ctx, argv.all ? 'all' : argv.ids);
    if (argv.json) return printJson(res);
    printLine(`acknowledged ${res.acknowledged}; ${res.remaining} unacknowledged left${res.remaining === 0 ? ' (alert flag cleared)' : ''}`);
  },
};

export const alertsCommand: CommandModule<GlobalArgs, Args> = {
  command: 'alerts',
  describe: 'List unacknowledged alerts (--all: also acknowledged); `alerts ack` clears them',
  builder: (y) =>
    y
      .command(ackCommand)
      .option('all', { type: 'boolean', describe: 'Include acknowledged alerts' })
      .option('process', { type: 'string', describe: 'Only this process' })
      .example('$0 alerts --json', 'what an agent reads at each turn')
      .example('$0 alerts ack --all', ''),
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { listAlerts } = await import('../app/alerts.js');
    const { printJson, printLine, paint } = await import('../cli/output.js');
    const ctx = buildContext(argv);
    const alerts = listAlerts(ctx, { all: argv.all ?? false, process: argv.process });
    if (argv.json) return printJson(alerts);
    if (alerts.length === 0) return printLine('no unacknowledged alerts');
    for (const a of alerts) {
      const color = a.severity === 'critical' ? 'red' : a.severity === 'warning' ? 'yellow' : 'blue';
      const repeat = a.count > 1 ? ` x${a.count}` : '';
      printLine(`${paint(`[${a.severity}]`, color)} ${a.id} ${a.at} ${a.process} ${a.kind}${repeat}${a.acknowledged ? ' (acknowledged)' : ''}`);
      printLine(`    ${a.message}`);
    }
  },
};
