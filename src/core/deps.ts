// depends_on: start order (dependencies first) and cycle detection, as pure functions.
import { allProbesPass } from './lineage.js';
import type { ProcessRecord } from './record.js';
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

/**
 * The processes to restart after `name` restarts (restart_dependents): those that depend on it, but
 * not over an edge marked `"restart": false` (they survive it), and in turn their own, in start order.
 */
export function restartDependentsOf(defs: ReadonlyMap<string, Pick<ProcessDef, 'dependsOn' | 'survivesRestartOf'>>, name: string): string[] {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [n, d] of defs) {
      if (out.has(n) || n === name) continue;
      const direct = d.dependsOn.includes(name) && !d.survivesRestartOf.includes(name);
      if (direct || d.dependsOn.some((x) => out.has(x) && !d.survivesRestartOf.includes(x))) {
        out.add(n);
        grew = true;
      }
    }
  }
  const order = orderByDependencies(defs, [...out]);
  return order.ok ? order.order.filter((n) => out.has(n)) : [...out];
}

/**
 * Which of the dependents of `after` (restartDependentsOf, in start order) must be restarted once
 * it is ready again, and which are left running. A dependent with probes that only `after` could
 * have broken is left running when `passed(name)` says its probes pass again (it reconnected by
 * itself: restarting it would be a second outage). One without probes, or that depends on another
 * dependent being restarted, is restarted; one whose dependents-in-question are all left running,
 * and that does not depend on `after` itself, is left running too.
 */
export function partitionDependents(
  defs: ReadonlyMap<string, Pick<ProcessDef, 'dependsOn' | 'survivesRestartOf' | 'health'>>,
  after: string,
  ordered: readonly string[],
  passed: (name: string) => boolean,
): { restart: string[]; kept: { name: string; why: 'probes-pass' | 'deps-kept' }[] } {
  const restart: string[] = [];
  const kept: { name: string; why: 'probes-pass' | 'deps-kept' }[] = [];
  for (const n of ordered) {
    const d = defs.get(n);
    if (!d) continue;
    const causes = d.dependsOn.filter((x) => (x === after || restart.includes(x)) && !d.survivesRestartOf.includes(x));
    if (causes.length === 0) kept.push({ name: n, why: 'deps-kept' });
    else if (causes.every((x) => x === after) && d.health.length > 0 && passed(n)) kept.push({ name: n, why: 'probes-pass' });
    else restart.push(n);
  }
  return { restart, kept };
}

/**
 * How long a dependent's probes are given to pass again once its dependency is ready (a client
 * reconnecting, a pool refilling): 5 s, or failure_threshold x interval of its probes if shorter
 * (no longer than its own probes would take to call it unhealthy).
 */
export function recoveryWindowMs(def: Pick<ProcessDef, 'health'>): number {
  return Math.min(5_000, Math.max(0, ...def.health.map((p) => p.failureThreshold * p.intervalS * 1000)));
}

/** The dependents whose probes decide whether they are restarted after `after` (partitionDependents). */
export function probedDependents(
  defs: ReadonlyMap<string, Pick<ProcessDef, 'dependsOn' | 'survivesRestartOf' | 'health'>>,
  after: string,
  names: readonly string[],
): string[] {
  return names.filter((n) => {
    const d = defs.get(n);
    return !!d && d.health.length > 0 && d.dependsOn.includes(after) && !d.survivesRestartOf.includes(after);
  });
}

/**
 * Is a dependency ready for its dependents, from its record alone: up and past its start (its
 * probes all passed last, or without probes it has run ready_after), or a job that completed.
 */
export function isReady(
  def: Pick<ProcessDef, 'health' | 'readyAfterS'>,
  record: Pick<ProcessRecord, 'status' | 'run' | 'probes'>,
  now: number,
): boolean {
  if (record.status === 'completed') return true;
  if (record.status !== 'running' || !record.run) return false;
  if (def.health.length > 0) return allProbesPass(def, record);
  return now - record.run.startedAt >= def.readyAfterS * 1000;
}

/** The dependencies of `def` that are not ready, by name (what its restarts wait for). */
export function notReadyDependencies(
  def: Pick<ProcessDef, 'dependsOn'>,
  deps: ReadonlyMap<string, { def: Pick<ProcessDef, 'health' | 'readyAfterS'>; record: Pick<ProcessRecord, 'status' | 'run' | 'probes'> }>,
  now: number,
): string[] {
  return def.dependsOn.filter((n) => {
    const d = deps.get(n);
    return d !== undefined && !isReady(d.def, d.record, now);
  });
}
