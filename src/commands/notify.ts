import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { action: string; ids: string[]; channel?: string }

interface TestAnswer { channel: string; type: string; ok: boolean; detail: string; attempts: number; skipped?: boolean }
type Result = { test: TestAnswer[] } | undefined;

/**
 * `notify test [--channel NAME]`: a test message through each channel, and what each service
 * answered. `notify send IDS` is pguard's own detached notifier (app/jobs.ts): the channels for
 * alerts already recorded, then their recovery.
 */
export const notifyCommand = defineCommand<Args, Result>({
  command: 'notify <action> [ids..]',
  describe: 'Notification channels ($settings.notify): `notify test [--channel NAME]` sends a test message through each and says what each service answered',
  registry: 'tolerant',
  flags: {
    positionals: { action: { type: 'string', describe: 'test' }, ids: { type: 'string', array: true } },
    options: { channel: { type: 'string', describe: 'With test: only this channel (its name)' } },
    examples: [['$0 notify test', 'every channel'], ['$0 notify test --channel ops-telegram', '']],
  },
  run: async (argv, ctx) => {
    const { UserError } = await import('../errors.js');
    if (argv.action === 'test') {
      if ((argv.ids ?? []).length > 0) throw new UserError(`notify test takes no ids (got ${argv.ids.join(' ')}); name a channel with --channel NAME.`, 2);
      const { testChannels } = await import('../app/notify.js');
      return { test: await testChannels(ctx, argv.channel) };
    }
    if (argv.action === 'send') {
      const { notifyByIds } = await import('../app/notify.js');
      await notifyByIds(ctx, argv.ids ?? []);
      return undefined;
    }
    throw new UserError(`unknown notify action "${argv.action}": use \`pguard notify test\` (or --channel NAME).`, 2);
  },
  failed: (res) => Boolean(res?.test.some((t) => !t.ok && !t.skipped)),
  render: (res, { printLine, paint }) => {
    if (!res) return;
    for (const t of res.test) {
      const mark = t.ok ? paint('✓', 'green') : t.skipped ? paint('-', 'yellow') : paint('✗', 'red');
      const name = t.channel === t.type ? t.channel : `${t.channel} (${t.type})`;
      const tries = !t.ok && t.attempts > 1 ? ` after ${t.attempts} attempts` : '';
      const what = t.ok ? 'sent; ' : t.skipped ? 'skipped; ' : t.attempts === 0 ? '' : 'not delivered; ';
      printLine(`${mark} ${t.type === 'invalid' ? t.channel : name}: ${what}${t.detail}${tries}`);
    }
  },
});
