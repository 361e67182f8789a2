// Putting a known-good definition back: stop what runs, write the old entry into the registry
// (formatting of the rest kept), start it, and say so in an alert and in the ledger.
import { readRegistry, updateRegistry } from '../effects/registry-file.js';
import { UserError } from '../errors.js';
import { raiseAndNotify } from './alerts.js';
import { requireDef, type Context } from './context.js';
import { lastKnownGood, readGenerations, recordGeneration } from './generations.js';
import { recordEvent } from './ledger.js';
import { startMany, stopOne, type StartResult } from './lifecycle.js';

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
  const gens = readGenerations(ctx, name);
  const target = opts.to !== undefined ? gens.find((g) => g.gen === opts.to) : lastKnownGood(ctx, name, current);
  if (!target) {
    throw new UserError(opts.to !== undefined
      ? `"${name}" has no generation ${opts.to}. List them with \`pguard history ${name} --generations\`.`
      : `"${name}" has no known-good generation to roll back to (one becomes known-good after running min_uptime with its probes passing).`);
  }
  if (opts.auto && target.gen === current) return { name, from: current, to: target.gen, reason: 'already there', start: undefined };
  await stopOne(ctx, name);
  await updateRegistry(ctx.registry.path, (data) => { data[name] = target.entry; });
  const fresh: Context = { ...ctx, registry: readRegistry(ctx.registry.path, { allowIssues: true }) };
  const [start] = await startMany(fresh, [name], { waitMs: 1000, by: 'rollback' });
  const message = `rolled back from generation ${current ?? '?'} to known-good generation ${target.gen}: ${opts.reason}`;
  await recordEvent(fresh, 'rollback', name, { from: current, to: target.gen, reason: opts.reason, auto: opts.auto });
  await raiseAndNotify(fresh, name, [{ kind: 'rollback', severity: 'warning', message, evidence: { restarts: 0, action: 'rollback', from: current, to: target.gen } }]);
  return { name, from: current, to: target.gen, reason: opts.reason, start };
}
