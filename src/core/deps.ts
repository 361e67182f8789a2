// depends_on: start order (dependencies first) and cycle detection, as pure functions.
import type { ProcessDef } from './schema.js';

export type OrderResult =
  | { readonly ok: true; readonly order: readonly string[] }
  | { readonly ok: false; readonly cycle: readonly string[] };

/**
 * Order `names` and everything they depend on so that each process comes after its dependencies.
 * Ties keep registry order. A cycle is returned as the path that closes it (a -> b -> a).
 */
export function orderByDependencies(defs: ReadonlyMap<string, Pick<ProcessDef, 'dependsOn'>>, names: readonly string[]): OrderResult {
  const order: string[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (name: string): readonly string[] | null => {
    if (done.has(name)) return null;
    const at = onPath.indexOf(name);
    if (at >= 0) return [...onPath.slice(at), name];
    onPath.push(name);
    for (const dep of defs.get(name)?.dependsOn ?? []) {
      if (!defs.has(dep)) continue; // unknown names are validation issues, reported there
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(name);
    order.push(name);
    return null;
  };
  for (const name of names) {
    const cycle = visit(name);
    if (cycle) return { ok: false, cycle };
  }
  return { ok: true, order };
}

/** Every process that depends on `name`, directly or not, in start order. */
export function dependentsOf(defs: ReadonlyMap<string, Pick<ProcessDef, 'dependsOn'>>, name: string): string[] {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [n, d] of defs) {
      if (!out.has(n) && n !== name && d.dependsOn.some((x) => x === name || out.has(x))) {
        out.add(n);
        grew = true;
      }
    }
  }
  return [...out];
}
