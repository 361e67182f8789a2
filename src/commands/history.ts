import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { Generation } from '../core/lineage.js';
import type { HistoryView } from '../app/history.js';

interface Args extends GlobalArgs { name?: string; since?: string; generations?: boolean }

type GenerationRow = Generation & { current: boolean };

export const historyCommand = defineCommand<Args, GenerationRow[] | HistoryView>({
  command: 'history [name]',
  describe: 'Failures with their cause, the action taken and recovery times; a summary per process',
  anywhere: 'merge', // from another folder: every registry you have used
  // As data: the fast path parses them (history is hot: a ledger of a year must not add yargs to it).
  flags: {
    positionals: { name: { type: 'string' } },
    options: {
      since: { type: 'string', describe: 'Only this recent: 90s, 15m, 2h, 7d, 2w' },
      generations: { type: 'boolean', describe: "List the process's definition generations" },
    },
    examples: [['$0 history --since 24h', ''], ['$0 history my-bot --generations', '']],
  },
  run: async (argv, ctx) => {
    const { requireDef } = await import('../app/context.js');
    const { UserError } = await import('../errors.js');
    if (argv.name) requireDef(ctx, argv.name);
    if (argv.generations) {
      if (!argv.name) throw new UserError('--generations needs a process name: pguard history <name> --generations.', 2);
      const current = ctx.store.readRecord(argv.name).generation;
      return ctx.store.readGenerations(argv.name).map((g) => ({ ...g, current: g.gen === current }));
    }
    const { describeHistory, DURATION_EXAMPLES, parseDuration } = await import('../app/history.js');
    let sinceMs: number | undefined;
    if (argv.since !== undefined) {
      const d = parseDuration(argv.since);
      if (d === null) throw new UserError(`--since expects a duration like ${DURATION_EXAMPLES}, got ${JSON.stringify(argv.since)}.`, 2);
      sinceMs = d;
    }
    return describeHistory(ctx, { name: argv.name, sinceMs });
  },
  render: (result, { printLine, renderTable, paint }, argv) => {
    if (Array.isArray(result)) {
      const gens = result;
      if (gens.length === 0) return printLine(`${argv.name} has no generations yet (one is recorded at each register and start)`);
      return printLine(renderTable(gens, [
        { header: 'GEN', value: (g) => `${g.gen}${g.current ? '*' : ''}`, align: 'right' },
        { header: 'SINCE', value: (g) => g.at },
        { header: 'KNOWN-GOOD', value: (g) => g.known_good_at ?? '-' },
        { header: 'COMMAND', value: (g) => String(g.entry.command ?? ''), max: 50 },
      ]));
    }
    const h = result;
    // Under the runner's 10 ms clock step a figure is not measured: "<10 ms" (--json keeps the number), as the dashboard says.
    const fmt = (x: number | null) => (x === null ? '-' : x < 10 ? '<10 ms' : x < 10_000 ? `${x} ms` : `${(x / 1000).toFixed(1)} s`);
    if (h.failures.length === 0) printLine(`no failures${h.since ? ` since ${h.since}` : ''}`);
    else {
      printLine(renderTable(h.failures, [
        { header: 'AT', value: (f) => f.at },
        { header: 'PROCESS', value: (f) => f.process },
        { header: 'CAUSE', value: (f) => paint(f.cause, 'yellow'), max: 48 },
        { header: 'ACTION', value: (f) => f.action, max: 40 },
        { header: 'RECOVERY', value: (f) => fmt(f.recovery_ms), align: 'right' },
        { header: 'HEALTHY', value: (f) => fmt(f.healthy_ms), align: 'right' },
      ]));
    }
    printLine('');
    printLine(renderTable(h.summary, [
      { header: 'PROCESS', value: (s) => s.process },
      { header: 'RUNS', value: (s) => String(s.runs), align: 'right' },
      { header: 'FAILURES', value: (s) => String(s.failures), align: 'right' },
      { header: 'RESTARTS', value: (s) => String(s.restarts), align: 'right' },
      { header: 'MEDIAN RECOVERY', value: (s) => fmt(s.median_recovery_ms), align: 'right' },
      { header: 'WORST', value: (s) => fmt(s.worst_recovery_ms), align: 'right' },
      { header: 'UPTIME', value: (s) => (s.uptime_percent === null ? '-' : `${s.uptime_percent}%`), align: 'right' },
    ]));
  },
});
