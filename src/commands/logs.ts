import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { name: string; lines: string; follow?: boolean }

export const logsCommand = defineCommand<Args, { name: string; file: string; lines: string[]; never_ran?: boolean } | undefined>({
  command: 'logs <name>',
  describe: "Show a process's log (stdout and stderr); -f follows it",
  registry: 'tolerant',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('lines', { alias: 'n', type: 'string', default: '50', describe: 'How many last lines' })
      .option('follow', { alias: 'f', type: 'boolean', describe: 'Keep printing new lines until Ctrl-C' })
      .example('$0 logs my-bot -n 100 -f', ''),
  run: async (argv, ctx) => {
    const { UserError } = await import('../errors.js');
    const count = /^\d+$/.test(String(argv.lines)) ? Number(argv.lines) : NaN;
    if (!Number.isInteger(count)) throw new UserError(`--lines expects a non-negative whole number, got ${JSON.stringify(argv.lines)}.`, 2);
    const { requireAnyDef } = await import('../app/context.js');
    const { followLog, readLogTail } = await import('../effects/log-file.js');
    const { existsSync } = await import('node:fs');
    requireAnyDef(ctx, argv.name);
    const file = ctx.store.logFile(argv.name);
    if (!argv.follow && !existsSync(file)) return { name: argv.name, file, lines: [], never_ran: true };
    if (!argv.follow) return { name: argv.name, file, lines: readLogTail(file, count) };
    // Following: the tail, then bytes as they come (across rotations), until Ctrl-C.
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    process.stdout.on('error', () => abort.abort()); // the reader went away (| head)
    await followLog(file, (chunk) => process.stdout.write(chunk), abort.signal, {
      tailLines: count,
      waitDrain: () => new Promise((resolve) => {
        const done = () => { process.stdout.off('drain', done); abort.signal.removeEventListener('abort', done); resolve(); };
        process.stdout.once('drain', done);
        abort.signal.addEventListener('abort', done, { once: true });
      }),
    });
    return undefined;
  },
  render: (res, out) => {
    if (res?.never_ran) return out.printLine(`${res.name} has no log yet: it has never run (start it with \`pguard start ${res.name}\`)`);
    if (res && res.lines.length > 0) process.stdout.write(`${res.lines.join('\n')}\n`);
  },
});
