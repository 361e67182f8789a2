import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string }

/** Hidden: what a schedule's own crontab line runs (`cron install`): one look at that process, which fires its due time. */
export const fireCommand = defineCommand<Args, { name: string; action: string | null; detail: string }>({
  command: 'fire <name>',
  describe: false,
  flags: { positionals: { name: { type: 'string', demandOption: true } } },
  run: async (argv, ctx) => {
    const { fireFromCron } = await import('../app/schedules.js');
    const res = await fireFromCron(ctx, argv.name);
    return { name: res.name, action: res.action, detail: res.detail };
  },
  render: (r, { printLine }) => printLine(`${new Date().toISOString()} fire ${r.name}: ${r.action ?? 'nothing due'}${r.action ? `: ${r.detail}` : ''}`),
});
