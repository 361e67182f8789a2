import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { HealthSummary } from '../app/healthcheck.js';

interface Args extends GlobalArgs { wait: number }

export const healthcheckCommand = defineCommand<Args, HealthSummary>({
  command: 'healthcheck',
  describe: 'One pass: recover processes that died with their runner, retry failed ones, raise alerts (cron runs this)',
  flags: {
    options: { wait: { type: 'number', default: 0, describe: 'Seconds to wait for a running healthcheck to finish before skipping' } },
    examples: [['$0 healthcheck --json', 'exit 0 when all is well, 1 when something is crashed or failed']],
  },
  registry: 'tolerant',
  run: async (argv, ctx) => {
    const { healthcheck } = await import('../app/healthcheck.js');
    const summary = await healthcheck(ctx, { waitMs: Math.max(0, argv.wait) * 1000 });
    // Bad input, the exit 2's reason: on stderr, as every command says it (a JSON object with --json);
    // the others were handled, and the summary goes to stdout as usual.
    const issues = (summary.invalid ?? []).flatMap((i) => i.issues.map((issue) => `${issue} (not supervised until fixed)`));
    if (argv.json && issues.length > 0) process.stderr.write(`${JSON.stringify({ error: issues.join('; '), code: 'registry-invalid', issues })}\n`);
    else for (const issue of issues) process.stderr.write(`pguard: ${issue}\n`);
    return summary;
  },
  render: (summary, { printLine, paint }) => {
    const stamp = new Date().toISOString();
    if (summary.skipped) return printLine(`${stamp} healthcheck skipped: ${summary.skipped}`);
    const counts = Object.entries(summary.counts).map(([s, n]) => `${n} ${s}`).join(', ') || 'nothing registered';
    printLine(`${stamp} healthcheck: ${summary.checked} checked in ${summary.duration_ms} ms (${counts})`);
    for (const a of summary.actions) printLine(`  ${a.name}: ${a.action}: ${a.detail}`);
    for (const p of summary.problems) printLine(paint(`  ${p.name} is ${p.status}: ${p.reason}`, p.status === 'failed' ? 'red' : 'yellow'));
    for (const e of summary.errors) printLine(paint(`  ${e.name}: error: ${e.error}`, 'red'));
  },
  // 2: an entry breaks the schema (the others were handled); 1: something is crashed or failed.
  failed: (summary) => (summary.invalid ? 2 : !summary.ok),
});
