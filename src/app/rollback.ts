// Putting a known-good definition back: stop what runs, write the old entry into the registry
// (formatting of the rest kept), start it, and say so in an alert and in the ledger.
import { readRegistry, updateRegistry } from '../effects/registry-file.js';
import { UserError } from '../errors.js';
import { lastKnownGood } from '../core/lineage.js';
import { announce } from './alerts.js';
import { requireDef, type Context } from './context.js';
import { recordGeneration } from './generations.js';
import { recordEvent } from './ledger.js';
import { startMany, type StartResult } from './start.js';
import { stopOne } from './stop.js';

export interface RollbackResult {
  readonly name: string;
  readonly from: number | null;
  readonly to: number;
  readonly reason: string;
  readonly start: StartResult | undefined;
}

export async function rollbackProcess(ctx: Context, name: string, opts: { to?: number; reason: string; auto: boolean }): Promise<RollbackResult> {
  requireDef(ctx, name);
  const current = ctx.store.readRecord(name).generation ?? recordGeneration(ctx, name)?.gen ?? null;
  const gens = ctx.store.readGenerations(name);
  const target = opts.to !== undefined ? gens.find((g) => g.gen === opts.to) : lastKnownGood(gens, current);
  // Already there: the current generation is the one asked for, or the only known-good one.
  const here = gens.find((g) => g.gen === current);
  const inFile = recordGeneration(ctx, name)?.gen ?? null;
  if (!opts.auto && inFile === current && (target?.gen === current || (!target && opts.to === undefined && here?.known_good_at))) {
    throw new UserError(`"${name}" already runs ${here?.known_good_at ? 'known-good ' : ''}generation ${current}: nothing to roll back.`, 1);
  }
  if (!target) {
    throw new UserError(opts.to !== undefined
      ? `"${name}" has no generation ${opts.to}. List them with \`pguard history ${name} --generations\`.`
      : `"${name}" has no known-good generation to roll back to (one becomes known-good after running min_uptime with its probes passing).`);
  }
  if (opts.auto && target.gen === current) return { name, from: current, to: target.gen, reason: 'already there', start: undefined };
  await stopOne(ctx, name);
  await updateRegistry(ctx.registry.path, (data) => { data[name] = target.entry; }, { lockDir: ctx.store.path('locks') });
  const fresh: Context = { ...ctx, registry: readRegistry(ctx.registry.path, { allowIssues: true }) };
  // Said before it starts (the slow channels in the background): whoever sees the restored
  // definition running also finds why.
  // From the definition the file held (a changed one not yet restarted included), to the target.
  const from = inFile ?? current;
  const message = `rolled back from generation ${from ?? '?'} to known-good generation ${target.gen}: ${opts.reason}`;
  await recordEvent(fresh, 'rollback', name, { from, to: target.gen, reason: opts.reason, auto: opts.auto });
  await announce(fresh, name, [{ kind: 'rollback', severity: 'warning', message, evidence: { restarts: 0, action: 'rollback', from, to: target.gen } }]);
  const [start] = await startMany(fresh, [name], { waitMs: 1000, by: 'rollback' });
  return { name, from, to: target.gen, reason: opts.reason, start };
}
