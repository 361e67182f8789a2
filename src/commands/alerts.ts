import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { Alert } from '../core/alerts.js';

interface Args extends GlobalArgs { all?: boolean; process?: string }
interface AckArgs extends GlobalArgs { ids: string[]; all?: boolean }

const ackCommand = defineCommand<AckArgs, { acknowledged: number; remaining: number }>({
  command: 'ack [ids..]',
  describe: 'Acknowledge alerts by id (or --all); the flag file goes when none are left',
  registry: 'tolerant', // alerts name broken entries: they must be readable while the file is wrong
  builder: (y) =>
    y
      .positional('ids', { type: 'string', array: true, default: [] as string[] })
      .option('all', { type: 'boolean' }),
  run: async (argv, ctx) => {
    const { UserError } = await import('../errors.js');
    if (!argv.all && argv.ids.length === 0) throw new UserError('name the alert ids to acknowledge, or pass --all.', 2);
    const { ackAlerts } = await import('../app/alerts.js');
    return ackAlerts(ctx, argv.all ? 'all' : argv.ids);
  },
  // From another folder: each id is acknowledged in the registry that holds it (ids are unique across registries).
  anywhere: async (argv, ctxs) => {
    const { UserError } = await import('../errors.js');
    if (!argv.all && argv.ids.length === 0) throw new UserError('name the alert ids to acknowledge, or pass --all.', 2);
    const { ackAlerts, listAlerts } = await import('../app/alerts.js');
    const held = ctxs.map((ctx) => ({ ctx, ids: new Set(listAlerts(ctx, { all: true }).map((a) => a.id)) }));
    const unknown = argv.all ? [] : argv.ids.filter((id) => !held.some((h) => h.ids.has(id)));
    if (unknown.length > 0) throw new UserError(`no alert with id ${unknown.join(', ')} in any registry you have used. List them with \`pguard alerts --all\`.`);
    let acknowledged = 0;
    let remaining = 0;
    for (const h of held) {
      const mine = argv.all ? 'all' : argv.ids.filter((id) => h.ids.has(id));
      const res = mine === 'all' || mine.length > 0 ? await ackAlerts(h.ctx, mine) : { acknowledged: 0, remaining: listAlerts(h.ctx, { all: false }).length };
      acknowledged += res.acknowledged;
      remaining += res.remaining;
    }
    return { acknowledged, remaining };
  },
  render: (res, out) => out.printLine(`acknowledged ${res.acknowledged}; ${res.remaining} unacknowledged left${res.remaining === 0 ? ' (alert flag cleared)' : ''}`),
});

export const alertsCommand = defineCommand<Args, Alert[]>({
  command: 'alerts',
  describe: 'List unacknowledged alerts (--all: also acknowledged); `alerts ack` clears them',
  registry: 'tolerant',
  anywhere: 'merge', // from another folder: every registry you have used
  flags: {
    options: { all: { type: 'boolean', describe: 'Include acknowledged alerts' }, process: { type: 'string', describe: 'Only this process' } },
    examples: [['$0 alerts --json', 'what an agent reads at each turn'], ['$0 alerts ack --all', '']],
  },
  builder: (y) => y.command(ackCommand),
  run: async (argv, ctx) => {
    const { listAlerts } = await import('../app/alerts.js');
    return listAlerts(ctx, { all: argv.all ?? false, process: argv.process });
  },
  render: (alerts, { printLine, paint }) => {
    if (alerts.length === 0) return printLine('no unacknowledged alerts');
    for (const a of alerts) {
      const color = a.severity === 'critical' ? 'red' : a.severity === 'warning' ? 'yellow' : 'blue';
      const repeat = a.count > 1 ? ` x${a.count}` : '';
      printLine(`${paint(`[${a.severity}]`, color)} ${a.id} ${a.at} ${a.process} ${a.kind}${repeat}${a.acknowledged ? ' (acknowledged)' : ''}`);
      printLine(`    ${a.message}`);
      // A sending that failed is said here too, not only in notify.log.
      const failed = a.delivery?.channels.filter((c) => !c.ok && !c.skipped) ?? [];
      if (failed.length > 0) {
        printLine(`    not delivered: ${failed.map((c) => `${c.channel} ${c.detail}${c.attempts ? ` (${c.attempts} attempt${c.attempts === 1 ? '' : 's'})` : ''}`).join('; ')}`);
      }
    }
  },
});
