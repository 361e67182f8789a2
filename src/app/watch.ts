// `pguard watch`: the optional resident loop. Every tick it looks at every process (deaths are seen
// within a second), runs the probes that are due and samples resource use, and applies the same
// decide() as healthcheck. A singleton by an OS-released lock. Cheap when idle: a process whose
// look changes nothing costs a few file reads, without a lock.
import { readFileSync, statSync, writeFileSync, rmSync, existsSync, utimesSync } from 'node:fs';
import type { ProcessRecord, RunInfo } from '../core/record.js';
import { isOurs, readCommandLine, readIdentity } from '../effects/identity.js';
import { lookAtRun } from '../effects/runner-scan.js';
import { CLI_PATH } from '../effects/spawn.js';
import type { Alert } from '../core/alerts.js';
import { isLockHeld, readLockHolder, signallablePid, tryLock, type LockHolder } from '../effects/lock.js';
import { readRegistry } from '../effects/registry-file.js';
import { rotateLog } from '../effects/log-file.js';
import { UserError } from '../errors.js';
import { isProbeDue } from '../core/probes.js';
import { announceAndSend, flushHeldAlerts } from './notify.js';
import { checkProcess } from './check.js';
import { supervisedDefs, type Context } from './context.js';
import { defer } from './jobs.js';
import { WATCH_LATE_MS } from './schedules.js';

/** Every process is looked at once a second. */
export const WATCH_TICK_MS = 1000;
/** The loop's own step: what is due (a memory sample, a look) is done on the next step. */
const LOOP_MS = 100;
const MEMORY_EVERY_MS = 500;
const MEMORY_NEAR_EVERY_MS = 100;
const CPU_EVERY_MS = 2000;
/** How often watch sends the digests of quiet hours that are over. */
const DIGEST_EVERY_MS = 30_000;

/** A watch whose beat is older than this is stalled (stopped, or stuck): the guardian replaces it. */
export const WATCH_STALL_MS = 30_000;

export function readWatchHolder(ctx: Context): Promise<LockHolder | null> {
  return readLockHolder(ctx.store.path('locks'), 'watch');
}

function describeHolder(h: LockHolder | null): string {
  return h ? ` (pid ${h.pid}, since ${h.since})` : '';
}

/** Run the loop in this process until SIGTERM/SIGINT (or `ticks` ticks, for tests and benches). */
export async function runWatch(ctx: Context, opts: { log: (line: string) => void; ticks?: number }): Promise<void> {
  const lock = await tryLock(ctx.store.path('locks'), 'watch', 'watch');
  if (!lock) throw new UserError(`pguard watch is already running${describeHolder(await readWatchHolder(ctx))}. Stop it with \`pguard watch --stop\`.`);
  const me = readIdentity(process.pid);
  writeFileSync(ctx.store.path('watchMarker'), `${process.pid} ${me?.startTime ?? ''} ${me?.bootId ?? ''}\n`, { mode: 0o600 });
  let stopping = false;
  const stop = () => { stopping = true; };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  opts.log(`${new Date().toISOString()} watch started (pid ${process.pid}) for ${ctx.registry.path}: ${ctx.registry.defs.size} processes`);
  let current = ctx;
  let mtime = statSync(ctx.registry.path).mtimeMs;
  const last = new Map<string, { look: number; mem: number; cpu: number; rssMb: number | null }>();
  let lastBeat = 0;
  let step = WATCH_TICK_MS;
  let ticks = 0;
  let lastDigest = 0;
  const idle = new Map<string, { run: RunInfo; record: ProcessRecord; until: number }>();
  try {
    while (!stopping && (opts.ticks === undefined || ticks < opts.ticks)) {
      const t0 = Date.now();
      ticks++;
      if (t0 - lastBeat >= WATCH_TICK_MS) {
        beat(ctx);
        lastBeat = t0;
      }
      // The registry may be edited while we run: reload it when it changes (keep the last good one).
      // Gone altogether (its project deleted): nothing left to watch.
      if (!existsSync(ctx.registry.path)) {
        opts.log(`${new Date().toISOString()} ${ctx.registry.path} is gone; watch exits`);
        break;
      }
      try {
        const m = statSync(ctx.registry.path).mtimeMs;
        if (m !== mtime) {
          mtime = m;
          current = { ...ctx, registry: readRegistry(ctx.registry.path, { allowIssues: true }) };
          idle.clear();
          const bad = current.registry.issues.length;
          opts.log(`${new Date().toISOString()} registry reloaded: ${supervisedDefs(current).length} processes${bad ? `; ${bad} issue(s) left unsupervised (healthcheck raises the alerts)` : ''}`);
        }
      } catch (err) {
        opts.log(`${new Date().toISOString()} registry not reloaded: ${err instanceof Error ? err.message : String(err)}`);
      }
      const defs = supervisedDefs(current);
      // The loop steps every 100 ms only while a process has a memory limit to sample; else every second.
      step = defs.some((d) => d.maxMemoryMb !== undefined) ? LOOP_MS : WATCH_TICK_MS;
      const stepNow = current.clock.now();
      const due = defs.flatMap((def) => {
        const at = last.get(def.name) ?? { look: 0, mem: 0, cpu: 0, rssMb: null };
        // Each process is looked at every second; its memory more often when it has a limit:
        // every 500 ms, every 100 ms once within 15% of it (a 10 MB/s leak is caught within 5%).
        const near = def.maxMemoryMb !== undefined && at.rssMb !== null && at.rssMb >= def.maxMemoryMb * 0.85;
        const memDue = def.maxMemoryMb !== undefined && stepNow - at.mem >= (near ? MEMORY_NEAR_EVERY_MS : MEMORY_EVERY_MS);
        const cpuDue = def.maxCpuPercent !== undefined && stepNow - at.cpu >= CPU_EVERY_MS;
        // A look is due a second after the last; a step early is close enough.
        if (stepNow - at.look < WATCH_TICK_MS - LOOP_MS && !memDue && !cpuDue) return [];
        return [{ def, at, memDue, cpuDue }];
      });
      await Promise.all(due.map(async ({ def, at, memDue, cpuDue }) => {
        try {
          const now = current.clock.now();
          const sample = memDue || cpuDue;
          // Idle fast path: a process that was up with nothing to decide and nothing due last
          // look, still the same live process beside a live runner (its parent: the same read),
          // with still nothing due, costs one /proc read.
          const seen = idle.get(def.name);
          if (seen && now < seen.until && isSupervised(seen.run, seen.record.runner) && !sample &&
              !def.health.some((p, i) => isProbeDue(p, seen.record.probes[i] ?? undefined, now))) {
            last.set(def.name, { ...at, look: now });
            return;
          }
          idle.delete(def.name);
          const res = await checkProcess(current, def, { sample, lateAfterMs: WATCH_LATE_MS });
          last.set(def.name, {
            look: now, mem: memDue ? now : at.mem, cpu: cpuDue ? now : at.cpu, rssMb: res.rssMb ?? (memDue ? null : at.rssMb),
          });
          if (res.idle) idle.set(def.name, { run: res.idle.run, until: res.idle.until, record: res.after });
          // An alert alone (a skipped run, an overrun) is said in its own words, as healthcheck says it.
          if (res.action) opts.log(`${new Date().toISOString()} ${def.name}: ${res.action}: ${res.action === 'alerted' ? res.alerts.map((a) => a.message).join('; ') : res.detail}`);
          if (res.alerts.length > 0) void announceAndSend(current, def.name, res.alerts).catch(() => undefined);
          if (res.kill) void res.kill.catch(() => undefined);
        } catch (err) {
          opts.log(`${new Date().toISOString()} ${def.name}: error: ${err instanceof Error ? err.message : String(err)}`);
        }
      }));
      // Alerts held during a channel's quiet hours: their digest once the hours are over.
      if (t0 - lastDigest >= DIGEST_EVERY_MS) {
        lastDigest = t0;
        void flushHeldAlerts(current).catch((err: unknown) => opts.log(`${new Date().toISOString()} notify: ${err instanceof Error ? err.message : String(err)}`));
      }
      const wait = step - (Date.now() - t0);
      if (wait > 0 && !stopping) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    rmSync(ctx.store.path('watchMarker'), { force: true });
    await lock.release();
    opts.log(`${new Date().toISOString()} watch stopped`);
  }
}

/** The run lives, and so does a runner beside it (else a look adopts it: core/on-check.ts). */
function isSupervised(run: RunInfo, runner: ProcessRecord['runner']): boolean {
  const look = lookAtRun(run.identity, runner);
  return look.processAlive && look.runnerAlive;
}

/** The watch's heartbeat: its mtime is its last tick. */
function beat(ctx: Context): void {
  const file = ctx.store.path('watchBeat');
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    writeFileSync(file, '', { mode: 0o600 });
  }
}

/** How long ago the watch last ticked (ms), or null when it never did. */
function beatAge(ctx: Context): number | null {
  const st = statSync(ctx.store.path('watchBeat'), { throwIfNoEntry: false });
  return st ? Date.now() - st.mtimeMs : null;
}

/** Start `pguard watch --foreground` detached, its output appended to <state>/watch.log. */
export async function startWatchDaemon(ctx: Context): Promise<{ pid: number; already: boolean }> {
  const holder = await readWatchHolder(ctx);
  if (holder) return { pid: holder.pid, already: true };
  const logFile = ctx.store.path('watchLog');
  rotateLog(logFile, 1, 1); // it only logs actions, but over months: at most 1 MB plus one old file
  defer(ctx, { kind: 'watch' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const h = await readWatchHolder(ctx);
    if (h) return { pid: h.pid, already: false };
    if (Date.now() > deadline) throw new UserError(`pguard watch did not start; see ${logFile}.`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stopWatchDaemon(ctx: Context): Promise<{ pid: number | null }> {
  const holder = await readWatchHolder(ctx);
  if (!holder) return { pid: null };
  // A PID read from a socket is a claim: signalled only when it is this user's pguard watch.
  const pid = signallablePid(holder);
  if (pid === null || !isWatchProcess(pid)) {
    throw new UserError(`the watch lock's holder says it is pid ${holder.pid}, which is not a pguard watch of yours: nothing was signalled.`);
  }
  try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  const deadline = Date.now() + 10_000;
  while ((await readWatchHolder(ctx)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  rmSync(ctx.store.path('watchMarker'), { force: true });
  return { pid: holder.pid };
}

/**
 * The guardian, called by healthcheck when $settings.watch is true: start watch when it is not
 * running, and say so in an alert when it had been running (its marker is still there).
 */
export async function guardWatch(ctx: Context): Promise<{ started: number | null; died: boolean; stalled: boolean; alerts: Alert[] }> {
  const holder = await readWatchHolder(ctx);
  // A watch that is stopped (SIGSTOP) keeps its lock but cannot answer who holds it: its marker says.
  const pid = holder ? signallablePid(holder) : (await isWatchLockHeld(ctx) ? readMarkerPid(ctx) : null);
  // Held by a process that may not be signalled (not this user's, or not what it says): left alone.
  if (holder && pid === null) return { started: null, died: false, stalled: false, alerts: [] };
  const age = beatAge(ctx);
  let message = 'pguard watch had died; healthcheck started it again';
  let stalled = false;
  if (pid !== null) {
    // Alive is not enough: a watch that is stopped or stuck holds its lock and does nothing.
    if (age === null || age <= WATCH_STALL_MS || !isWatchProcess(pid)) return { started: null, died: false, stalled: false, alerts: [] };
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    const deadline = Date.now() + 5_000;
    while ((await isWatchLockHeld(ctx)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    stalled = true;
    message = `pguard watch had stalled (no tick for ${Math.round(age / 1000)} s: stopped or stuck); healthcheck ended it (pid ${pid}) and started it again`;
  }
  const died = stalled || existsSync(ctx.store.path('watchMarker'));
  const alerts = died
    ? await announceAndSend(ctx, 'pguard-watch', [{ kind: 'watch-died', severity: 'warning', message, evidence: { restarts: 0, action: 'restarted' } }])
    : [];
  const started = await startWatchDaemon(ctx);
  return { started: started.pid, died, stalled, alerts };
}

function isWatchLockHeld(ctx: Context): Promise<boolean> {
  return isLockHeld(ctx.store.path('locks'), 'watch');
}

/** The watch's PID from its marker, only while it names the same live process (PID, start time, boot). */
function readMarkerPid(ctx: Context): number | null {
  try {
    const [pid, startTime = '', bootId = ''] = readFileSync(ctx.store.path('watchMarker'), 'utf8').trim().split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 1 && isOurs({ pid: n, startTime, bootId }) ? n : null;
  } catch {
    return null;
  }
}

/** The lock's holder is a `pguard watch --foreground` (never signal a PID read from a lock unchecked). */
function isWatchProcess(pid: number): boolean {
  // Windows gives no other process's command line without reading its memory: there the holder's
  // own word, in the private state folder, with its identity checked (signallablePid), has to do.
  if (process.platform === 'win32') return true;
  const argv = readCommandLine(pid);
  return argv !== null && argv.includes(CLI_PATH) && argv.includes('watch') && argv.includes('--foreground');
}
