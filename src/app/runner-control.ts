// Bringing up a runner for a process and recording it: shared by start, healthcheck and on-exit.
import { armFor } from '../core/policy.js';
import type { ProcessRecord } from '../core/record.js';
import type { ProcessDef } from '../core/schema.js';
import { rotateLog } from '../effects/log-file.js';
import { spawnRunner } from '../effects/spawn.js';
import type { Context } from './context.js';

/** Spawn a new runner generation (after delayMs), record it and arm it. Call under the process lock. */
export function launchRunner(ctx: Context, def: ProcessDef, record: ProcessRecord, delayMs: number): ProcessRecord {
  ctx.store.ensureProc(def.name);
  ctx.store.setStopMarker(def.name, false);
  ctx.store.rotateRuns(def.name);
  rotateLog(ctx.store.logFile(def.name), def.logMaxMb, def.logKeep);
  const epoch = record.epoch + 1;
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
  const next: ProcessRecord = { ...record, epoch, runner, run: null, overrunAlerted: null, updatedAt: ctx.clock.now() };
  ctx.store.writeRecord(def.name, next);
  writeArmFor(ctx, def, next);
  return next;
}

/** The arm the runner may use at its next exit; also for a runner about to restart after a cooldown. */
export function writeArmFor(ctx: Context, def: ProcessDef, record: ProcessRecord): void {
  const pending = record.status === 'crashed' && record.nextRestartAt !== null;
  ctx.store.writeArm(def.name, armFor(def, pending ? { ...record, status: 'running' } : record));
}
