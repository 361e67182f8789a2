// The invariants, as the behaviour should be (README), checked after every step once the system
// has settled. Each has an id (PGUARD_MODEL_IGNORE=id,id leaves it out while a known defect is
// being fixed):
//   duplicates   never two instances (two live sessions of runs) of one process, nor two runners
//                (sampled every 100 ms all along, not only after a step)
//   stopped      a process the user stopped is `stopped`, and raises no alert after the stop
//                (budget_used over max_restarts counts under restarts)
//   orphans      nothing of a stopped process is left alive: no process of its runs' sessions, no
//                runner, nothing with its PGUARD_NAME (from /proc)
//   up-or-alert  a process the user wants up is up, or down with an alert saying why (failed,
//                crashed, waiting), or died with its runner and no healthcheck has looked since
//   guarded      a process that is up has a live runner (a death is restarted at once), once a
//                look (healthcheck, watch) has come since the test killed its runner
//   restarts     status's restart count equals the ledger's restart events
//   history      a failure's healthy_ms comes from the run that followed that failure (the first
//                run started after its death), or is null
//   dependents   restart_dependents never restarts a dependent whose run began after its
//                dependency's current run (it has reconnected already), nor one whose edge says
//                restart: false
//   waiting      a dependent waits only while a dependency is not ready, or no look (healthcheck,
//                watch) has come since it was
//   probes       a running process with probes has them run by every healthcheck (and by watch
//                on their interval): `status --json` health[].at
//   limits       the same for memory/CPU limits: status --json's limits_checked_at (a build
//                without it: state.json's cpu.at, white-box)
//   rollback     a new definition that fails, with a known-good one to go back to, is rolled back,
//                before it has spent its whole restart budget
//   audit        the ledger's chain verifies
//   settle       the system comes to rest after a step (no report, job or restart left in flight)
import type { Kind, Model } from './model.js';
import { describeProcs } from './procs.js';
import { ignored, Violation, type AlertRow, type LedgerRow, type StatusRow, type System } from './system.js';

const UP = new Set(['running', 'unhealthy']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function keep(vs: readonly Violation[]): Violation[] {
  return vs.filter((v) => !ignored.has(v.id));
}

/** A process the user stopped: stopped, and nothing of it left (waited for a little: a killed runner's own sleep ends within a second). */
export async function checkStopped(model: Model, sys: System, rows: readonly StatusRow[]): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const p of model.procs.values()) {
    if (p.desired !== 'stopped') continue;
    const row = rows.find((r) => r.name === p.name);
    if (row && row.status !== 'stopped') out.push(new Violation('stopped', `${p.name} was stopped by the user but its status is ${row.status} (${row.reason})`));
  }
  // Stopped by the user: never alerted (an alert about what happened before the stop excepted).
  const alerts = await sys.alerts();
  for (const p of model.procs.values()) {
    if (p.desired !== 'stopped' || p.stoppedAt === null) continue;
    const late = alerts.filter((a) => a.process === p.name && ['crashed', 'failed', 'waiting', 'rollback', 'recovered'].includes(a.kind) && Date.parse(a.last_at) > p.stoppedAt! + 500);
    if (late.length > 0) out.push(new Violation('stopped', `${p.name} was stopped by the user at +${((p.stoppedAt - sys.t0) / 1000).toFixed(2)}s, but was alerted about after: ${late.map((a) => `${a.kind} at ${a.last_at}: ${a.message}`).join('; ')}`));
  }
  const stopped = [...model.procs.values()].filter((p) => p.desired === 'stopped').map((p) => p.name);
  if (stopped.length > 0) {
    const deadline = Date.now() + 3000;
    let left = stopped.flatMap((n) => sys.membersOf(n));
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(100);
      left = stopped.flatMap((n) => sys.membersOf(n));
    }
    if (left.length > 0) out.push(new Violation('orphans', `left alive after the user stopped ${[...new Set(left.map((p) => p.name))].join(', ')}: ${describeProcs(left)}`));
  }
  return out;
}

function alertSince(alerts: readonly AlertRow[], name: string, kinds: readonly string[], since: number): AlertRow | undefined {
  return alerts.find((a) => a.process === name && kinds.includes(a.kind) && Date.parse(a.last_at) >= since - 1000);
}

export function checkUpOrAlert(model: Model, sys: System, rows: readonly StatusRow[], alerts: readonly AlertRow[]): Violation[] {
  const out: Violation[] = [];
  const byName = new Map(rows.map((r) => [r.name, r]));
  for (const p of model.procs.values()) {
    if (p.desired !== 'up') continue;
    const row = byName.get(p.name);
    if (!row || UP.has(row.status)) continue;
    const since = p.userStartAt;
    const say = `${p.name} should be up (started by the user at +${((since - sys.t0) / 1000).toFixed(2)}s), but is ${row.status} (${row.reason})`;
    if (row.status === 'crashed' && /died with its runner/.test(row.reason) && p.unguarded && !sys.watching) continue; // the next healthcheck's
    if (row.status === 'waiting') {
      const depsDown = row.waiting_for.some((d) => !UP.has(byName.get(d)?.status ?? ''));
      if (depsDown || alertSince(alerts, p.name, ['waiting'], since)) continue;
      out.push(new Violation('up-or-alert', `${say}, waiting for ${row.waiting_for.join(', ') || 'nothing'} with no waiting alert while its dependencies are up`));
      continue;
    }
    if ((row.status === 'failed' || row.status === 'crashed') && alertSince(alerts, p.name, ['failed', 'crashed', 'unhealthy', 'resource', 'rollback'], since)) continue;
    out.push(new Violation('up-or-alert', `${say}, with no alert about it since (alerts: ${alerts.filter((a) => a.process === p.name).map((a) => `${a.kind}@${a.last_at}`).join(', ') || 'none'})`));
  }
  return out;
}

/**
 * Up means guarded: a runner lives beside it (waited for a little, should one be on its way).
 * Unless the test killed its runner and no look (healthcheck, watch) has come since: the README
 * says the next look adopts such a run (issue 20, defect 7), and without a daemon nothing sooner can.
 */
export async function checkGuarded(model: Model, sys: System, rows: readonly StatusRow[]): Promise<Violation[]> {
  const up = rows.filter((r) => UP.has(r.status) && r.pid !== null && !model.procs.get(r.name as Kind)?.unguarded);
  const deadline = Date.now() + 3000;
  let bare = up.filter((r) => !sys.runnerOf(r.name));
  while (bare.length > 0 && Date.now() < deadline) {
    await sleep(100);
    bare = bare.filter((r) => !sys.runnerOf(r.name));
  }
  return bare.map((r) => new Violation('guarded', `${r.name} runs (pid ${r.pid}) with no runner beside it: a death now would not be restarted until a healthcheck`));
}

/** Status's restart counts against the ledger's restart events, read around it until the ledger holds still. */
export async function checkRestarts(sys: System): Promise<Violation[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = sys.ledger();
    const rows = await sys.statusAll();
    const after = sys.ledger();
    if (before.length !== after.length) continue;
    return rows.flatMap((r) => {
      const events = after.filter((e) => e.event === 'restart' && e.process === r.name).length;
      const out = r.restarts === events ? [] : [new Violation('restarts', `${r.name}: status says ${r.restarts} restarts, the ledger has ${events} restart events`)];
      if (r.budget_used > r.max_restarts) out.push(new Violation('restarts', `${r.name}: budget_used ${r.budget_used} is over max_restarts ${r.max_restarts}`));
      return out;
    });
  }
  return [];
}

interface FailureRow { at: string; process: string; run: string; cause: string; action: string; recovery_ms: number | null; healthy_ms: number | null }

/** history --json: each failure's healthy_ms from the healthy entry of the run that followed it (or null). */
export async function checkHistory(sys: System): Promise<Violation[]> {
  const res = await sys.cli(['history', '--json'], { quiet: true });
  if (res.code !== 0) return [new Violation('cli', `history --json exited ${res.code}: ${res.stderr.trim()}`)];
  const failures = (JSON.parse(res.stdout) as { failures: FailureRow[] }).failures;
  const ledger = sys.ledger();
  const out: Violation[] = [];
  for (const f of failures) {
    // null is always allowed: a failure that was not restarted (given up, stopped first) has no recovery to time.
    if (f.healthy_ms === null) continue;
    const exit = ledger.find((e) => e.event === 'exit' && e.process === f.process && e.at === f.at && String(e.details.run ?? '') === f.run);
    if (!exit) continue;
    const death = Date.parse(exit.details.ended_at ?? exit.at);
    const following = [...sys.runs(f.process).starts.values()].filter((r) => r.startedAt >= death).sort((a, b) => a.startedAt - b.startedAt)[0];
    const healthy = following ? ledger.find((e) => e.event === 'healthy' && e.process === f.process && e.details.run === following.id) : undefined;
    const want = healthy ? Date.parse(healthy.at) - death : null;
    if (f.healthy_ms !== want) {
      const other = `; the healthy entries: ${ledger.filter((e) => e.event === 'healthy' && e.process === f.process).map((e) => `run ${e.details.run} at ${e.at}`).join(', ')}`;
      out.push(new Violation('history', `${f.process}: the failure of run ${f.run} (${f.cause}, ${f.at}) has healthy_ms ${f.healthy_ms}; the run that followed it is ${following?.id ?? 'none'}, whose healthy entry gives ${want}${other}`));
    }
  }
  return out;
}

/** restart_dependents: held stops (ledger `stop` with held_for) only of a dependent older than its dependency's current run. */
export function checkDependents(model: Model, sys: System, ledger: readonly LedgerRow[]): Violation[] {
  if (!model.procs.has('client')) return [];
  const out: Violation[] = [];
  const clientRuns = [...sys.runs('client').starts.values()];
  const sleeperRuns = [...sys.runs('sleeper').starts.values()];
  for (const e of ledger) {
    if (e.event !== 'stop' || e.process !== 'client' || !Array.isArray(e.details.held_for) || !e.details.held_for.includes('sleeper')) continue;
    const at = Date.parse(e.at);
    if (!model.config.clientRestart) {
      out.push(new Violation('dependents', `client was stopped for sleeper's restart (ledger seq ${e.seq}) though its edge says restart: false`));
      continue;
    }
    const latestBefore = <T extends { startedAt: number }>(xs: T[]) => xs.filter((r) => r.startedAt <= at).sort((a, b) => b.startedAt - a.startedAt)[0];
    const client = latestBefore(clientRuns);
    const sleeper = latestBefore(sleeperRuns);
    if (client && sleeper && client.startedAt > sleeper.startedAt + 50) {
      out.push(new Violation('dependents', `client run ${client.id} (started ${new Date(client.startedAt).toISOString()}) was stopped and restarted for sleeper (ledger seq ${e.seq}, ${e.at}), though it began after sleeper's current run ${sleeper.id} (started ${new Date(sleeper.startedAt).toISOString()}): it had reconnected already`));
    }
  }
  return out;
}

/** A dependent waits only while a dependency is not ready, or until the next look after it is. */
export function checkWaiting(model: Model, sys: System, rows: readonly StatusRow[], now: number): Violation[] {
  const out: Violation[] = [];
  const byName = new Map(rows.map((r) => [r.name, r]));
  const lookAt = sys.watching ? now - 2500 : model.lastLookAt;
  for (const row of rows) {
    if (row.status !== 'waiting') continue;
    const deps = row.waiting_for.length > 0 ? row.waiting_for : row.name === 'client' ? ['sleeper'] : [];
    const readyAt = deps.map((d) => {
      const dep = byName.get(d);
      if (!dep || !UP.has(dep.status) || dep.uptime_s === null) return Infinity;
      return now - dep.uptime_s * 1000 + 300 + 1000; // ready_after 0.3 s; uptime_s is rounded to a second
    });
    const ready = Math.max(-Infinity, ...readyAt);
    if (deps.length > 0 && ready < lookAt) {
      out.push(new Violation('waiting', `${row.name} is still waiting for ${deps.join(', ')} (${row.reason}), ready since about +${((ready - sys.t0) / 1000).toFixed(1)}s, though a look came at +${((lookAt - sys.t0) / 1000).toFixed(1)}s`));
    }
  }
  return out;
}

/** With watch on: a live process with probes has them run on their interval, and its limits sampled. */
export function checkWatchedProbes(sys: System, rows: readonly StatusRow[], now: number): Violation[] {
  if (!sys.watching) return [];
  const out: Violation[] = [];
  for (const row of rows) {
    if (row.name !== 'web' || !UP.has(row.status) || (row.uptime_s ?? 0) < 5) continue;
    for (const h of row.health) {
      if (h.at === null || Date.parse(h.at) < now - 4000) {
        out.push(new Violation('probes', `web has run ${row.uptime_s} s with watch on, but its probe ${h.probe} last ran ${h.at ?? 'never'} (interval 1 s)`));
      }
    }
    const limits = sys.limitsCheckedAt(row);
    if (limits !== undefined && (limits === null || limits < now - 4000)) {
      out.push(new Violation('limits', `web has run ${row.uptime_s} s with watch on, but its max_memory_mb was last checked ${limits === null ? 'never' : new Date(limits).toISOString()} (every 500 ms)`));
    }
  }
  return out;
}

/** Everything after a step: settle, then the invariants; state invariants are looked at again (up to 3 times) before they count. */
export async function afterStep(model: Model, sys: System): Promise<StatusRow[]> {
  let rows: StatusRow[] = [];
  let found: Violation[] = [];
  const checkedSeq = new Set<number>();
  for (let attempt = 0; attempt < 3; attempt++) {
    rows = await sys.settle(model);
    if (model.watch && sys.watching) {
      model.lastLookAt = Date.now() - 1500;
      for (const p of model.procs.values()) p.unguarded = false;
    }
    const now = Date.now();
    const alerts = await sys.alerts();
    const ledger = sys.ledger();
    found = keep([
      ...(await checkStopped(model, sys, rows)),
      ...checkUpOrAlert(model, sys, rows, alerts),
      ...(await checkGuarded(model, sys, rows)),
      ...(await checkRestarts(sys)),
      ...(await checkHistory(sys)),
      ...checkDependents(model, sys, ledger.filter((e) => !checkedSeq.has(e.seq))),
      ...checkWaiting(model, sys, rows, now),
      ...checkWatchedProbes(sys, rows, now),
    ]);
    if (found.length === 0) break;
    sys.log(`  (attempt ${attempt + 1}: ${found.map((v) => v.message).join(' / ').slice(0, 400)})`);
    await sleep(700);
  }
  found.push(...sys.takeSampled());
  sys.log(`  = ${rows.map((r) => `${r.name}:${r.status}${r.pid ? `:${r.pid}` : ''}:r${r.restarts}`).join(' ')}`);
  if (found.length > 0) throw failure(sys, found);
  return rows;
}

export function failure(sys: System, found: readonly Violation[]): Violation {
  const v = new Violation(found[0]!.id, '');
  v.message = `${found.map((x) => x.message).join('\n  ')}\n--- trace of this run (registry ${sys.registry}) ---\n${sys.trace.slice(-80).join('\n')}`;
  return v;
}

export type { Kind };
