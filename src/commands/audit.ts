import { defineCommand, defineGroup } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { VerifyResult } from '../core/ledger-chain.js';

interface VerifyArgs extends GlobalArgs { expect?: string; archive?: boolean }

const verifyCommand = defineCommand<VerifyArgs, VerifyResult>({
  command: 'verify',
  describe: 'Check the ledger: its hash chain across segments, its signatures (key outside the state directory) and its head; ok with the count, or the first thing tampered with',
  registry: 'tolerant',
  builder: (y) =>
    y
      .option('expect', { type: 'string', describe: 'SEQ:HASH from an earlier `pguard audit head`, kept elsewhere: that entry must still be there, unchanged' })
      .option('archive', { type: 'boolean', describe: 'Check the segments retention archived (ledger_keep_days) too: the whole chain from entry 1' })
      .example('$0 audit verify --expect 1042:9f2c…', ''),
  run: async (argv, ctx) => {
    const { verifyLedger } = await import('../app/ledger.js');
    const { parseAnchor } = await import('../core/ledger-chain.js');
    const { UserError } = await import('../errors.js');
    const expect = argv.expect === undefined ? undefined : parseAnchor(argv.expect);
    if (expect === null) throw new UserError(`--expect takes SEQ:HASH as \`pguard audit head\` prints it (a number, a colon, 64 hex digits), got ${JSON.stringify(argv.expect)}.`, 2);
    return verifyLedger(ctx, expect, { archive: argv.archive === true });
  },
  render: (res, out, argv) => {
    if (res.ok) {
      const segs = `${res.segments} segment${res.segments === 1 ? '' : 's'}`;
      out.printLine(res.entries === 0 ? 'ok: the ledger is empty' : `ok: ${res.entries} entries in ${segs}, chain intact, signed with ledger key ${res.kid}`);
      if (res.anchored) out.printLine(`  entry ${res.anchored.seq} is the one you anchored`);
      if (res.archived_through !== null) {
        out.printLine(res.entries > 0 && res.last !== null && res.last.seq - res.entries < res.archived_through
          ? `  entries 1-${res.archived_through} went through retention (ledger.anchor); checked here from the archive and the live ledger`
          : `  entries 1-${res.archived_through} left the live ledger by retention (ledger.anchor, signed); \`pguard audit verify --archive\` checks the archived ones`);
      } else if (argv.archive) {
        out.printLine('  nothing is archived yet: $settings.ledger_keep_days moves a closed segment (4 MB) to the archive once all of it is older than that');
      }
      if (res.unsigned > 0) out.printLine(`  entries 1-${res.unsigned} were written before pguard signed its ledger: the chain covers them, no signature does`);
      for (const r of res.repaired) out.printLine(`  a line cut short by a crash (${r.bytes} bytes) was moved to ledger.torn at seq ${r.seq}`);
      if (res.torn) out.printLine(`  ${res.torn.segment} line ${res.torn.line} was cut short by a crash while written (${res.torn.bytes} bytes); the next entry moves it to ledger.torn`);
      return;
    }
    const p = res.problem!;
    // Line 0: the file as a whole (missing or empty).
    const where = p.segment === 'ledger.head' || p.segment === 'ledger.anchor' || p.line === 0 ? p.segment : `${p.segment} line ${p.line}${p.seq !== null ? ` (seq ${p.seq})` : ''}`;
    out.printLine(`${p.kind === 'tampered' ? 'TAMPERED' : 'UNVERIFIED'}: ${where} ${p.message}`);
  },
  failed: (res) => !res.ok,
});

interface HeadView { seq: number; hash: string; anchor: string }

const headCommand = defineCommand<GlobalArgs, HeadView>({
  command: 'head',
  describe: 'Print the ledger\'s last entry as SEQ:HASH, once it verifies: keep it off this machine, and check against it later with `audit verify --expect`',
  registry: 'tolerant',
  run: async (_argv, ctx) => {
    const { verifyLedger } = await import('../app/ledger.js');
    const { formatAnchor } = await import('../core/ledger-chain.js');
    const { UserError } = await import('../errors.js');
    const res = verifyLedger(ctx);
    if (!res.ok) throw new UserError(`the ledger does not verify (${res.problem!.segment}: ${res.problem!.message}); no head to anchor. See \`pguard audit verify\`.`, 1);
    if (!res.last) throw new UserError('the ledger is empty: nothing to anchor yet.', 1);
    return { ...res.last, anchor: formatAnchor(res.last) };
  },
  render: (res, out) => out.printLine(res.anchor),
});

export const auditCommand = defineGroup('audit <action>', 'The tamper-evident audit ledger: verify, head', [verifyCommand, headCommand]);
