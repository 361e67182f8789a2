// Definition generations: each change of a process's entry (by `register` or by editing the file)
// is a numbered generation, kept with the entry as written. A generation that ran min_uptime with
// its probes passing is known-good; a failing new one is rolled back to the last known-good.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '../core/ledger-chain.js';
import { sha256 } from '../effects/ledger-file.js';
import { writeFileAtomic } from '../effects/registry-file.js';
import type { ProcessRecord } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import type { Context } from './context.js';
import type { PendingEvent } from './ledger.js';

export interface Generation {
  readonly gen: number;
  readonly hash: string;
  /** The entry as written in the registry (snake_case, unknown fields kept). */
  readonly entry: Record<string, unknown>;
  readonly at: string;
  readonly known_good_at: string | null;
  /** First time all its probes passed (processes without probes: null). */
  readonly healthy_at: string | null;
}

function file(ctx: Context, name: string): string {
  return join(ctx.store.procDir(name), 'generations.json');
}

export function readGenerations(ctx: Context, name: string): Generation[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file(ctx, name), 'utf8'));
    return Array.isArray(parsed) ? (parsed as Generation[]) : [];
  } catch {
    return [];
  }
}

function writeGenerations(ctx: Context, name: string, gens: readonly Generation[]): void {
  ctx.store.ensureProc(name);
  // At most 50 kept: the oldest that are not known-good go first.
  let list = [...gens];
  while (list.length > 50) {
    const i = list.findIndex((g) => !g.known_good_at);
    list.splice(i >= 0 ? i : 0, 1);
  }
  writeFileAtomic(file(ctx, name), `${JSON.stringify(list, null, 1)}\n`, 0o600, { durable: false });
}

/** The generation of the entry as it is in the registry now (a new one if it changed). */
export function recordGeneration(ctx: Context, name: string): Generation | null {
  const entry = ctx.registry.data[name];
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return null;
  const hash = sha256(canonicalize(entry));
  const gens = readGenerations(ctx, name);
  const latest = gens.at(-1);
  if (latest && latest.hash === hash) return latest;
  // Back to an earlier definition (a rollback, or an edit undone): that generation again.
  const earlier = gens.find((g) => g.hash === hash);
  if (earlier) {
    writeGenerations(ctx, name, [...gens.filter((g) => g !== earlier), earlier]);
    return earlier;
  }
  const gen: Generation = {
    gen: Math.max(0, ...gens.map((g) => g.gen)) + 1, hash, entry: entry as Record<string, unknown>,
    at: new Date(ctx.clock.now()).toISOString(), known_good_at: null, healthy_at: null,
  };
  writeGenerations(ctx, name, [...gens, gen]);
  return gen;
}

/** Mark a generation (returns true the first time). */
export function markGeneration(ctx: Context, name: string, gen: number, what: 'known_good_at' | 'healthy_at'): boolean {
  const gens = readGenerations(ctx, name);
  const g = gens.find((x) => x.gen === gen);
  if (!g || g[what]) return false;
  writeGenerations(ctx, name, gens.map((x) => (x === g ? { ...x, [what]: new Date(ctx.clock.now()).toISOString() } : x)));
  return true;
}

/** The last known-good generation other than `current`. */
export function lastKnownGood(ctx: Context, name: string, current: number | null): Generation | null {
  const good = readGenerations(ctx, name).filter((g) => g.known_good_at && g.gen !== current);
  return good.sort((a, b) => (a.known_good_at! < b.known_good_at! ? -1 : 1)).at(-1) ?? null;
}

/**
 * The one rule for known-good: a run of this generation has lasted min_uptime, pguard did not end
 * it, it is not unhealthy, and, if the process has probes, they pass (`probesPass`; callers that
 * did not just probe pass false). Returns the ledger event the first time it holds.
 */
export function noteKnownGood(ctx: Context, def: ProcessDef, record: ProcessRecord, ranMs: number, probesPass: boolean): PendingEvent | null {
  if (record.generation === null || record.killReason || record.status === 'unhealthy') return null;
  if (ranMs < def.minUptimeS * 1000 || (def.health.length > 0 && !probesPass)) return null;
  if (!markGeneration(ctx, def.name, record.generation, 'known_good_at')) return null;
  return { event: 'known-good', process: def.name, details: { generation: record.generation } };
}
