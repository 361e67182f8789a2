import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { WaitResult } from '../app/wait.js';

interface Args extends GlobalArgs { names: string[]; until: string; timeout: number }

export const waitCommand = defineCommand<Args, WaitResult>({
  command: 'wait <names..>',
  describe: 'Wait until every named process is running, healthy, stopped, completed or failed (exit 1 on timeout)',
  registry: 'tolerant',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, demandOption: true })
      .option('until', { type: 'string', default: 'running', describe: 'running | healthy | stopped | completed | failed' })
      .option('timeout', { type: 'number', default: 60, describe: 'Seconds to wait at most' })
      .example('$0 wait db api --until healthy --timeout 30', 'then go on; exit 1 says which did not get there'),
  run: async (argv, ctx) => {
    const { WAIT_STATES, waitFor } = await import('../app/wait.js');
    const { requireAnyDef } = await import('../app/context.js');
    const { parseSeconds } = await import('../cli/args.js');
    const { UserError } = await import('../errors.js');
    const until = WAIT_STATES.find((s) => s === argv.until);
    if (!until) throw new UserError(`--until expects one of ${WAIT_STATES.join(', ')}, got ${JSON.stringify(argv.until)}.`, 2);
    const timeoutS = parseSeconds(argv.timeout, '--timeout');
    const names = [...new Set(argv.names)];
    for (const n of names) requireAnyDef(ctx, n);
    return waitFor(ctx, names, until, timeoutS * 1000);
  },
  failed: (res) => !res.reached,
  render: (res, out) => {
    for (const p of res.processes) {
      const line = p.reached ? `✓ ${p.name} ${res.until === 'healthy' ? 'healthy' : p.status}` : `✗ ${p.name} ${p.status}${p.reason ? `: ${p.reason}` : ''}`;
      out.printLine(out.paint(line, p.reached ? 'green' : 'red'));
    }
    if (res.outcome === 'timed-out') out.printLine(`not every process was ${res.until} after ${res.waited_s} s`);
    if (res.outcome === 'unreachable') out.printLine(`stopped waiting after ${res.waited_s} s: a process cannot become ${res.until} by itself (see above)`);
  },
});
