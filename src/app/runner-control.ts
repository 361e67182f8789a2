// Bringing up a runner for a process and recording it: shared by start, healthcheck and on-exit.
import { armFor } from '../core/policy.js';
import type { ProcessRecord } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { rotateLog } from '../effects/log-file.js';
import { spawnRunner } from '../effects/spawn.js';
import { runCliLater, type Context } from './context.js';
import { recordEvent } from './ledger.js';
import { lastKnownGood, readGenerations, recordGeneration } from './generations.js';

/** Spawn a new runner generation (after delayMs), record it and arm it. Call under the process lock. */
export async function launchRunner(ctx: Context, def: ProcessDef, record: ProcessRecord, delayMs: number): Promise<ProcessRecord> {
  ctx.store.ensureProc(def.name);
  ctx.store.setStopMarker(def.name, false);
  ctx.store.rotateRuns(def.name);
  rotateLog(ctx.store.logFile(def.name), def.logMaxMb, def.logKeep);
  const epoch = record.epoch + 1;
  const generation = recordGeneration(ctx, def.name)?.gen ?? null;
  const runner = spawnRunner({
    def,
    registryPath: ctx.registry.path,
    procDir: ctx.store.procDir(def.name),
    logFile: ctx.store.logFile(def.name),
    epoch,
    delayMs,
    baseEnv: ctx.env,
    stateDir: ctx.store.dir,
  });
  const next: ProcessRecord = { ...record, epoch, runner, run: null, overrunAlerted: null, generation, updatedAt: ctx.clock.now() };
  ctx.store.writeRecord(def.name, next);
  writeArmFor(ctx, def, next);
  await recordEvent(ctx, 'start', def.name, { reason: record.reason, epoch, generation, runner_pid: runner.pid, ...(delayMs > 0 ? { delay_ms: delayMs } : {}) });
  return next;
}

/** The arm the runner may use at its next exit; also for a runner about to restart after a cooldown. */
export function writeArmFor(ctx: Context, def: ProcessDef, record: ProcessRecord): void {
  const pending = record.status === 'crashed' && record.nextRestartAt !== null;
  ctx.store.writeArm(def.name, armFor(def, pending ? { ...record, status: 'running' } : record));
}

/**
 * A new definition that fails (spent its budget, or never passed its probes) is rolled back to the
 * last known-good one, by a detached `pguard rollback --auto` (it waits for the current runner).
 */
export function rollbackLater(ctx: Context, name: string, reason: string): boolean {
  const rec = ctx.store.readRecord(name);
  const current = rec.generation;
  const gens = readGenerations(ctx, name);
  if (current === null || gens.find((g) => g.gen === current)?.known_good_at) return false;
  if (!lastKnownGood(ctx, name, current)) return false;
  runCliLater(ctx, ['rollback', name, '--auto', '--reason', reason]);
  return true;
}
