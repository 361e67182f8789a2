// The hot path, a small bundle per command (dist/bundle/hot-NAME.cjs, scripts/bundle.mjs): the
// commands that run every few seconds or minutes (the runner's on-exit, cron's healthcheck, an
// agent's status and alerts, heartbeat, notify), the long-lived dashboard, and start (a `start
// --all` of many keeps up with PM2's only without yargs' load), parsed by the fast path from their
// declared flags, with only the code they use. Anything else (another command, help, a short flag,
// an error in the words) is handed to the full CLI (cli/main.ts), which parses it with yargs.
import type { AnyCommand } from './command.js';
import { parseFast } from './fast.js';
import { reportError, wantsJson } from './report.js';

/** The hot commands by name, as bin/pguard.js knows them (test/cli/fast-path.test.ts checks both). */
export const HOT_NAMES = ['status', 'healthcheck', 'on-exit', 'heartbeat', 'notify', 'alerts', 'dashboard', 'start', 'history', 'watch'] as const;

/** Run the command if the words are a plain call of it; false: the full CLI must take them. */
export async function runHot(argv: readonly string[], commands: readonly AnyCommand[]): Promise<boolean> {
  const fast = parseFast(argv, commands);
  if (!fast) return false;
  try {
    await fast.command.handler(fast.args as never);
  } catch (err) {
    process.exitCode = reportError(err, wantsJson(argv));
  }
  return true;
}
