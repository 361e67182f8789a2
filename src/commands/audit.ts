import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

const verifyCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'verify',
  describe: 'Check the ledger\'s hash chain across its segments: ok with the count, or the first entry that was tampered with',
  handler: async (argv) => {
    const { buildContext } = await import('../cli/wiring.js');
    const { verifyLedger } = await import('../app/ledger.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const ctx = buildContext(argv, { tolerant: true });
    const res = verifyLedger(ctx.store.dir);
    if (!res.ok) process.exitCode = 1;
    if (argv.json) return printJson(res);
    if (res.ok) return printLine(`ok: ${res.entries} entries in ${res.segments} segment${res.segments === 1 ? '' : 's'}, chain intact`);
    const p = res.problem!;
    printLine(`TAMPERED: ${p.segment} line ${p.line}${p.seq !== null ? ` (seq ${p.seq})` : ''} ${p.message}`);
  },
};

export const auditCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'audit <action>',
  describe: 'The tamper-evident audit ledger: verify',
  builder: (y) => y.command(verifyCommand).demandCommand(1),
  handler: () => {},
};
