// Definition generations: each change of a process's entry (by `register` or by editing the file)
// is a numbered generation, kept with the entry as written (effects/state-store.ts). The rules for
// known-good and rollback are core/lineage.ts.
import { canonicalize } from '../core/ledger-chain.js';
import type { Generation } from '../core/lineage.js';
import { sha256 } from '../effects/hash.js';
import type { Context } from './context.js';

/** The generation of the entry as it is in the registry now (a new one if it changed). */
export function recordGeneration(ctx: Context, name: string): Generation | null {
  const entry = ctx.registry.data[name];
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return null;
  const hash = sha256(canonicalize(entry));
  const gens = ctx.store.readGenerations(name);
  const latest = gens.at(-1);
  if (latest && latest.hash === hash) return latest;
  // Back to an earlier definition (a rollback, or an edit undone): that generation again.
  const earlier = gens.find((g) => g.hash === hash);
  if (earlier) {
    ctx.store.writeGenerations(name, [...gens.filter((g) => g !== earlier), earlier]);
    return earlier;
  }
  const gen: Generation = {
    gen: Math.max(0, ...gens.map((g) => g.gen)) + 1, hash, entry: entry as Record<string, unknown>,
    at: new Date(ctx.clock.now()).toISOString(), known_good_at: null, healthy_at: null,
  };
  ctx.store.writeGenerations(name, [...gens, gen]);
  return gen;
}
