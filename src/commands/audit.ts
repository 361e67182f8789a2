import { defineCommand, defineGroup } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { VerifyResult } from '../core/ledger-chain.js';

const verifyCommand = defineCommand<GlobalArgs, VerifyResult>({
  command: 'verify',
  describe: 'Check the ledger\'s hash chain across its segments: ok with the count, or the first entry that was tampered with',
  registry: 'tolerant',
  run: async (_argv, ctx) => {
    const { verifyLedger } = await import('../app/ledger.js');
    return verifyLedger(ctx.store.dir);
  },
  render: (res, out) => {
    if (res.ok) return out.printLine(`ok: ${res.entries} entries in ${res.segments} segment${res.segments === 1 ? '' : 's'}, chain intact`);
    const p = res.problem!;
    out.printLine(`TAMPERED: ${p.segment} line ${p.line}${p.seq !== null ? ` (seq ${p.seq})` : ''} ${p.message}`);
  },
  failed: (res) => !res.ok,
});

export const auditCommand = defineGroup('audit <action>', 'The tamper-evident audit ledger: verify', [verifyCommand]);
