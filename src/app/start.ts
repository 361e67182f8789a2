// `start` (and boot, restart, rollback): not-running dependencies first, level by level; each start
// is observe -> decide -> apply under the process lock; then every fresh start is watched through
// its grace period, all at once.
import { decide } from '../core/decide.js';
import { orderByDependencies } from '../core/deps.js';
import { describeDuration, describeExit, ranSeconds } from '../core/exit.js';
import { onProbation } from '../core/lineage.js';
import { describeNames } from '../core/plan.js';
import { isUp } from '../core/states.js';
import { isJob, nextScheduledAt } from '../core/on-schedule.js';
import type { StartedBy } from '../core/plan.js';
import { compareRunIds, exitOf } from '../core/runs.js';
import { logSize, readLogTail } from '../effects/log-file.js';
import { isChannelIssue } from '../core/channels.js';
import { describeIssue, RegistryInvalidError, UserError } from '../errors.js';
import { apply } from './apply.js';
import { issuesOf, requireDef, supervisedDefs, withProcessLock, type Context } from './context.js';
import { lineageOf, observe } from './observe.js';
import { readyTimeoutMs, waitReady } from './ready.js';

export interface StartResult {
  readonly name: string;
  /** scheduled: a job (`schedule`) armed by start, not run (start --now runs it too). */
  readonly outcome: 'started' | 'already-running' | 'died' | 'not-started' | 'scheduled';
  readonly pid: number | null;
  readonly message: string;
  /** How it ended within its start check, in the JSON dialect of `status --json`'s last_exit. */
  readonly exit?: { run_id: string; started_at: string; ended_at: string; code: number | null; signal: string | null; ran_s: number };
  readonly log_tail?: string[];
}

type Launch =
  | { readonly name: string; readonly already: true; readonly pid: number | null; readonly pending: string }
  | { readonly name: string; readonly already: 'armed'; readonly message: string }
  | { readonly name: string; readonly already: false; readonly epoch: number; readonly logFrom: number };

/** Bring up a runner for one process unless it (or its runner) is alive. */
async function launchOne(ctx: Context, name: string, by: StartedBy, after?: string, now = false): Promise<Launch> {
  const def = requireDef(ctx, name);
  return withProcessLock(ctx, name, async () => {
    const seen = observe(ctx, name);
    if (seen.processAlive || seen.runnerAlive) {
      if (seen.rebuilt) ctx.store.writeRecord(name, seen.record); // its lost record, rebuilt
      const pending = !seen.processAlive && seen.record.nextRestartAt !== null
        ? ` (restart pending at ${new Date(seen.record.nextRestartAt).toISOString()})` : '';
      return { name, already: true as const, pid: seen.liveRun?.identity.pid ?? null, pending };
    }
    if (isJob(def) && !now) {
      // A job: start arms its schedule; its time runs it (start --now: this start runs it too).
      const plan = decide(def, ctx.registry.settings, seen.record, { kind: 'arm-requested' }, ctx.clock.now());
      const { record } = await apply(ctx, def, seen, plan);
      const next = nextScheduledAt(def, record);
      const when = next === null ? 'never' : new Date(next).toISOString();
      return { name, already: 'armed' as const, message: plan.record === seen.record ? `${name} is already scheduled: next run at ${when}` : `${name} scheduled (${def.schedule}): next run at ${when}; \`pguard start ${name} --now\` runs it now` };
    }
    const plan = decide(def, ctx.registry.settings, seen.record, { kind: 'start-requested', by, ...(after ? { after } : {}) }, ctx.clock.now());
    // Where this run's output begins: its start check shows only what it wrote.
    const logFrom = logSize(ctx.store.logFile(name));
    const { record } = await apply(ctx, def, seen, plan);
    return { name, already: false as const, epoch: record.epoch, logFrom };
  });
}

/** Watch a fresh start through its grace period: did the first run die in it? */
async function watchStart(ctx: Context, launch: Launch, waitMs: number, pollMs = 20): Promise<StartResult> {
  const { name } = launch;
  if (launch.already === 'armed') return { name, outcome: 'scheduled', pid: null, message: launch.message };
  if (launch.already) {
    return { name, outcome: 'already-running', pid: launch.pid, message: `${name} is already running${launch.pid ? ` (pid ${launch.pid})` : ''}${launch.pending}` };
  }
  const firstRun = `${launch.epoch}.1`;
  // The check's window runs from the first run's start, not from the runner's: a runner that takes
  // a while to come up (Node under Wine, 1-2 s) must not let a run that dies in its first second pass.
  let deadline = Date.now() + waitMs;
  let pid: number | null = null;
  for (;;) {
    const runs = ctx.store.readRuns(name);
    const first = runs.starts.get(firstRun);
    if (first && pid === null) deadline = Math.max(deadline, first.startedAt + waitMs);
    pid = first?.identity.pid ?? pid;
    const exit = exitOf(runs, firstRun);
    if (exit && exit.code === 0 && isJob(requireDef(ctx, name))) {
      return { name, outcome: 'started', pid, message: `${name} ran and completed: ${describeExit(exit)}` };
    }
    if (exit) {
      return {
        name, outcome: 'died', pid,
        message: `${name} ${describeExit(exit)}, within its ${waitMs / 1000} s start check; ${await whatNext(ctx, name, firstRun)}`,
        exit: {
          run_id: exit.runId, started_at: new Date(exit.startedAt).toISOString(), ended_at: new Date(exit.endedAt).toISOString(),
          code: exit.code, signal: exit.signal, ran_s: ranSeconds(exit),
        },
        log_tail: readLogTail(ctx.store.logFile(name), 10, undefined, launch.logFrom),
      };
    }
    // Past the grace period, still wait (briefly) for the runner to report the PID; not with --no-wait.
    if (Date.now() >= deadline && (pid !== null || waitMs === 0 || Date.now() >= deadline + 2000)) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { name, outcome: 'started', pid, message: `${name} started${pid ? ` (pid ${pid})` : ''}` };
}

/**
 * What happens next to a process whose first run died in its start check, once its runner has
 * dealt with that exit (at most 2 s; 8 s on Windows): restarted, a restart pending, waiting, or not restarted.
 */
async function whatNext(ctx: Context, name: string, runId: string): Promise<string> {
  const def = requireDef(ctx, name);
  // The runner's report starts a Node process, which takes longer on Windows (2-4 s under Wine).
  const deadline = Date.now() + (process.platform === 'win32' ? 8000 : 2000);
  for (;;) {
    const rec = observe(ctx, name).record;
    const handled = (rec.lastExit !== null && compareRunIds(rec.lastExit.runId, runId) >= 0) || !isUp(rec.status);
    if (handled || Date.now() >= deadline) {
      const stopIt = `\`pguard stop ${name}\` stops it`;
      const left = Math.max(0, def.maxRestarts - rec.restarts);
      const more = `${left} more restart${left === 1 ? '' : 's'} before it gives up`;
      if (rec.status === 'failed') return rec.reason;
      if (rec.status === 'waiting') return `it waits for ${describeNames(rec.heldFor ?? [])}; ${stopIt}`;
      if (rec.status === 'crashed' && rec.nextRestartAt !== null) {
        return `restarting in ${describeDuration(Math.max(0, rec.nextRestartAt - ctx.clock.now()))} (restart_cooldown), ${more}; ${stopIt}`;
      }
      if (rec.status === 'crashed') return 'not restarted (auto_restart is off)';
      const lineage = lineageOf(ctx, name, rec);
      if (isUp(rec.status) && onProbation(lineage)) {
        return `restarted at once; generation ${lineage!.generation} was never known-good: its next early death rolls it back to generation ${lineage!.fallback}; ${stopIt}`;
      }
      if (isUp(rec.status)) return `restarted at once, ${more}; ${stopIt}`;
      return `it is ${rec.status}`;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * What `start --all` cannot start, each with why: an entry that breaks the schema (a cycle in
 * depends_on included), or one that depends on such an entry.
 */
export function brokenStarts(ctx: Context, names: readonly string[]): StartResult[] {
  const valid = new Set(supervisedDefs(ctx).map((d) => d.name));
  return names.flatMap((n): StartResult[] => {
    const o = orderByDependencies(ctx.registry.defs, [n]);
    let why: string | null = null;
    if (!o.ok) why = `depends_on forms a cycle: ${o.cycle.join(' -> ')}`;
    else {
      const bad = o.order.find((d) => !valid.has(d));
      if (bad !== undefined) {
        const issues = issuesOf(ctx, bad).join('; ');
        why = bad === n ? issues : `it depends on ${bad}, which is not valid (${issues})`;
      }
    }
    return why === null ? [] : [{ name: n, outcome: 'not-started', pid: null, message: `${n} not started: ${why}` }];
  });
}

/**
 * An entry that breaks the schema is never started, nor what depends on it: its issues are named
 * (a cycle included) before anything starts or is announced.
 */
export function refuseBroken(ctx: Context, names: readonly string[]): void {
  const needed = new Set<string>();
  const visit = (n: string): void => {
    if (needed.has(n)) return;
    needed.add(n);
    for (const d of ctx.registry.defs.get(n)?.dependsOn ?? []) visit(d);
  };
  names.forEach(visit);
  // A notification channel written wrong is left out of sending, and stops no start (healthcheck's
  // registry-invalid alert and `pguard notify test` name it).
  const broken = ctx.registry.issues.filter((i) => i.process === '' || (i.process === '$settings' && !isChannelIssue(i)) || needed.has(i.process));
  if (broken.length > 0) throw new RegistryInvalidError(ctx.registry.path, broken);
  for (const i of ctx.registry.issues.filter(isChannelIssue)) {
    ctx.progress(`pguard: warning: ${describeIssue(ctx.registry.path, i)} (left out of the notifications until it is fixed)`);
  }
}

/**
 * Start processes, their not-running dependencies first (level by level, each level at once),
 * then watch every fresh start through the grace period concurrently, not in turn.
 */
export async function startMany(
  ctx: Context,
  names: readonly string[],
  opts: { waitMs: number; by?: StartedBy; after?: string; now?: boolean },
): Promise<StartResult[]> {
  refuseBroken(ctx, names);
  const order = orderByDependencies(ctx.registry.defs, names);
  if (!order.ok) throw new UserError(`depends_on has a cycle: ${order.cycle.join(' -> ')}. Remove one of these dependencies.`);
  const wanted = new Set(names);
  const levels = levelsOf(ctx, order.order);
  const launches: Launch[] = [];
  const blocked: StartResult[] = [];
  const notReady = new Map<string, string>();
  for (const [i, level] of levels.entries()) {
    // A process whose dependency is not ready is not started.
    const startable = level.filter((n) => {
      const dep = requireDef(ctx, n).dependsOn.find((d) => notReady.has(d));
      if (dep) {
        notReady.set(n, `dependency ${dep} is not ready`);
        blocked.push({ name: n, outcome: 'not-started', pid: null, message: `${n} not started: ${notReady.get(dep)}` });
      }
      return !dep;
    });
    const launched = (await Promise.all(startable.map(async (n) => {
      try {
        return await (wanted.has(n) ? launchOne(ctx, n, opts.by ?? 'user', opts.after, opts.now) : launchOne(ctx, n, 'dependency'));
      } catch (err) {
        // Refused for this process alone (an env_file not trusted, a cwd gone): named, and the
        // others still start. A busy lock is the whole command's to report.
        if (!(err instanceof UserError) || err.code === 'busy') throw err;
        notReady.set(n, `${n} could not start`);
        blocked.push({ name: n, outcome: 'not-started', pid: null, message: `${n} not started: ${err.message}` });
        return null;
      }
    }))).filter((l): l is Launch => l !== null);
    launches.push(...launched);
    // Before the next level: every process of this one that others need must be ready.
    if (i < levels.length - 1) {
      const needed = new Set(levels.slice(i + 1).flat().flatMap((n) => requireDef(ctx, n).dependsOn));
      await Promise.all(launched.filter((l) => needed.has(l.name)).map(async (l) => {
        ctx.progress(`waiting for ${l.name} to be ready...`);
        const r = await waitReady(ctx, l.name, readyTimeoutMs(ctx, l.name));
        if (!r.ready) notReady.set(l.name, r.detail);
      }));
    }
  }
  // Each watcher reads its runs.log once per poll: fewer polls per process when there are many.
  const pollMs = Math.max(20, Math.ceil(launches.length / 5));
  const results = await Promise.all(launches.map((l) => watchStart(ctx, l, opts.waitMs, pollMs)));
  // Dependencies that were already running are not news; dependencies started for it are.
  return [...results.filter((r) => wanted.has(r.name) || r.outcome !== 'already-running'), ...blocked];
}

/** Group an ordered list into levels: a process's level is one more than its deepest dependency's. */
export function levelsOf(ctx: Context, ordered: readonly string[]): string[][] {
  const level = new Map<string, number>();
  const levels: string[][] = [];
  for (const name of ordered) {
    const deps = ctx.registry.defs.get(name)?.dependsOn ?? [];
    const l = Math.max(-1, ...deps.map((d) => level.get(d) ?? -1)) + 1;
    level.set(name, l);
    (levels[l] ??= []).push(name);
  }
  return levels;
}
