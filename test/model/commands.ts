// The commands of the model test: what a user, the OS and the clock do to the processes. Each acts
// on the real system (the built CLI, signals by PID, files the fixtures read), updates the model,
// then settles and checks the invariants (invariants.ts); some check a postcondition of their own.
import fc from 'fast-check';
import { rmSync, writeFileSync } from 'node:fs';
import { afterStep, failure, keep } from './invariants.js';
import { withDependencies, type Broken, type Config, type Kind, type Model } from './model.js';
import { Violation, type StatusRow, type System } from './system.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UP = new Set(['running', 'unhealthy']);

/** How many of each command ran (over every history of this test file): the coverage line. */
export const ran = new Map<string, number>();

abstract class Step<C = void> implements fc.AsyncCommand<Model, System, false> {
  abstract check(m: Readonly<Model>): boolean;
  /** Acts; what it returns is handed to post (instances are shared between runs: no state in them). */
  protected abstract act(m: Model, s: System): Promise<C>;
  /** A postcondition of this command, after the system has settled. */
  protected async post(_m: Model, _s: System, _rows: readonly StatusRow[], _c: C): Promise<Violation[]> {
    return [];
  }
  abstract toString(): string;

  async run(m: Model, s: System): Promise<void> {
    if (Date.now() > s.deadline) {
      s.log(`(time budget spent: ${this} skipped)`);
      return;
    }
    ran.set(this.constructor.name, (ran.get(this.constructor.name) ?? 0) + 1);
    s.step = this.toString();
    s.log(`> ${this}`);
    const c = await this.act(m, s);
    const rows = await afterStep(m, s);
    const found = keep(await this.post(m, s, rows, c));
    if (found.length > 0) throw failure(s, found);
  }
}

/** start/restart --json: the processes it brought up (or found up) are wanted up from now on. */
function wantUp(m: Model, stdout: string, asked: readonly Kind[], at: number): void {
  let results: { name: string; outcome: string }[];
  try {
    results = JSON.parse(stdout) as { name: string; outcome: string }[];
  } catch {
    results = asked.map((name) => ({ name, outcome: 'started' }));
  }
  for (const r of results) {
    const p = m.procs.get(r.name as Kind);
    if (!p || r.outcome === 'not-started') continue;
    p.desired = 'up';
    // Found running: nothing was started (nor a lost runner replaced); what was true of it still is.
    if (r.outcome === 'already-running') continue;
    p.userStartAt = at;
    p.unguarded = false;
  }
}

export class StartCmd extends Step {
  constructor(readonly name: Kind) { super(); }
  check(m: Readonly<Model>) { return m.procs.has(this.name); }
  protected async act(m: Model, s: System) {
    const at = Date.now();
    const res = await s.cli(['start', this.name, '--no-wait', '--json']);
    wantUp(m, res.stdout, withDependencies(m, this.name), at);
  }
  toString() { return `start ${this.name}`; }
}

export class StartAllCmd extends Step {
  check() { return true; }
  protected async act(m: Model, s: System) {
    const at = Date.now();
    const res = await s.cli(['start', '--all', '--no-wait', '--json']);
    wantUp(m, res.stdout, [...m.procs.keys()], at);
  }
  toString() { return 'start --all'; }
}

export class StopCmd extends Step {
  constructor(readonly name: Kind) { super(); }
  check(m: Readonly<Model>) { return m.procs.has(this.name); }
  protected async act(m: Model, s: System) {
    const res = await s.cli(['stop', this.name]);
    if (res.code !== 0) throw new Violation('cli', `stop ${this.name} exited ${res.code}: ${res.stderr.trim()}`);
    const p = m.procs.get(this.name)!;
    p.desired = 'stopped';
    p.unguarded = false;
    p.stoppedAt = Date.now();
  }
  toString() { return `stop ${this.name}`; }
}

export class StopAllCmd extends Step {
  check() { return true; }
  protected async act(m: Model, s: System) {
    const res = await s.cli(['stop', '--all']);
    if (res.code !== 0) throw new Violation('cli', `stop --all exited ${res.code}: ${res.stderr.trim()}`);
    const at = Date.now();
    for (const p of m.procs.values()) {
      p.desired = 'stopped';
      p.unguarded = false;
      p.stoppedAt = at;
    }
  }
  toString() { return 'stop --all'; }
}

interface Restarted { at: number; seq: number; clientWasUp: boolean }

export class RestartCmd extends Step<Restarted> {
  constructor(readonly name: Kind) { super(); }
  check(m: Readonly<Model>) { return m.procs.has(this.name); }
  protected async act(m: Model, s: System): Promise<Restarted> {
    const at = Date.now();
    const seq = s.ledger().at(-1)?.seq ?? 0;
    const clientWasUp = m.procs.has('client') && UP.has((await s.statusAll()).find((r) => r.name === 'client')?.status ?? '');
    const res = await s.cli(['restart', this.name, '--no-wait', '--json']);
    wantUp(m, res.stdout, withDependencies(m, this.name), at);
    return { at, seq, clientWasUp };
  }
  /** README: restart restarts the running dependents once it is ready, as an automatic restart does: once each. */
  protected async post(m: Model, s: System, rows: readonly StatusRow[], c: Restarted) {
    if (this.name !== 'sleeper' || !m.config.clientRestart || !c.clientWasUp) return [];
    if (!UP.has(rows.find((r) => r.name === 'sleeper')?.status ?? '')) return [];
    const held = s.ledger().filter((e) => e.seq > c.seq && e.event === 'stop' && e.process === 'client' && Array.isArray(e.details.held_for));
    if (held.length === 1) return [];
    return [new Violation('dependents', `restart sleeper restarted its running dependent client ${held.length} times (ledger seqs ${held.map((e) => e.seq).join(', ') || 'none'}), not once`)];
  }
  toString() { return `restart ${this.name}`; }
}

export type KillHow = 'main' | 'runner' | 'group' | 'runner+main' | 'runner+group';

function signal(s: System, pid: number, sig: NodeJS.Signals, what: string): boolean {
  try {
    process.kill(pid, sig);
    s.log(`  ${sig} ${what} (${pid})`);
    return true;
  } catch {
    return false;
  }
}

export class KillCmd extends Step {
  constructor(readonly name: Kind, readonly how: KillHow) { super(); }
  check(m: Readonly<Model>) { return m.procs.get(this.name)?.desired === 'up'; }
  protected async act(m: Model, s: System) {
    const procs = s.scan();
    const main = s.mainOf(this.name, procs);
    const runner = s.runnerOf(this.name, procs);
    const latest = s.runs(this.name).latest;
    if (this.how.startsWith('runner')) {
      if (runner && signal(s, runner.pid, 'SIGKILL', `${this.name}'s runner`)) m.procs.get(this.name)!.unguarded = true;
    }
    if (this.how.endsWith('main') && main) signal(s, main.pid, 'SIGKILL', `${this.name}'s main process`);
    if (this.how.endsWith('group') && latest && procs.some((p) => p.sid === latest.identity.pid && p.kind === 'user')) {
      signal(s, -latest.identity.pid, 'SIGKILL', `${this.name}'s run group`);
    }
  }
  toString() { return `kill -9 ${this.how} of ${this.name}`; }
}

export class FreezeCmd extends Step {
  constructor(readonly name: Kind) { super(); }
  check(m: Readonly<Model>) { return m.procs.get(this.name)?.desired === 'up'; }
  protected async act(_m: Model, s: System) {
    const main = s.mainOf(this.name);
    if (main) signal(s, main.pid, 'SIGSTOP', `${this.name}'s main process`);
  }
  toString() { return `SIGSTOP main of ${this.name}`; }
}

export class ProbeCmd extends Step {
  constructor(readonly fail: boolean) { super(); }
  check(m: Readonly<Model>) { return m.procs.has('web') && m.procs.get('web')!.healthFail !== this.fail; }
  protected async act(m: Model, s: System) {
    if (this.fail) writeFileSync(s.failFile, '');
    else rmSync(s.failFile, { force: true });
    m.procs.get('web')!.healthFail = this.fail;
  }
  toString() { return this.fail ? 'make web /health fail' : 'make web /health pass'; }
}

async function leak(s: System): Promise<void> {
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}/leak?mb=150`, { signal: AbortSignal.timeout(2000) });
    s.log(`  GET /leak?mb=150 -> ${res.status}`);
  } catch (err) {
    s.log(`  GET /leak?mb=150 failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export class LeakCmd extends Step {
  check(m: Readonly<Model>) { return m.procs.get('web')?.desired === 'up'; }
  protected async act(_m: Model, s: System) { await leak(s); }
  toString() { return 'web leaks past max_memory_mb'; }
}

interface Checked { before: StatusRow[]; startedAt: number; actions: { name: string; action: string }[] }

export class HealthcheckCmd extends Step<Checked> {
  check() { return true; }
  protected async act(m: Model, s: System): Promise<Checked> {
    const before = await s.statusAll();
    const startedAt = Date.now();
    const res = await s.cli(['healthcheck', '--json']);
    if (res.code !== 0 && res.code !== 1) throw new Violation('cli', `healthcheck exited ${res.code}: ${res.stderr.trim()}`);
    let actions: Checked['actions'] = [];
    try { actions = (JSON.parse(res.stdout) as { actions: Checked['actions'] }).actions; } catch { /* none */ }
    m.lastLookAt = startedAt;
    for (const p of m.procs.values()) p.unguarded = false;
    return { before, startedAt, actions };
  }
  /** Every process up through the whole healthcheck, and not ended by it, had its probes run and its limits sampled. */
  protected async post(_m: Model, s: System, rows: readonly StatusRow[], c: Checked) {
    const out: Violation[] = [];
    for (const row of rows) {
      if (row.name !== 'web') continue;
      const before = c.before.find((r) => r.name === 'web');
      if (!before || !UP.has(before.status) || !UP.has(row.status) || before.pid !== row.pid) continue;
      if (c.actions.some((a) => a.name === 'web')) continue;
      for (const h of row.health) {
        if (h.at === null || Date.parse(h.at) < c.startedAt - 50) {
          out.push(new Violation('probes', `web was running (pid ${row.pid}) through a healthcheck begun at ${new Date(c.startedAt).toISOString()}, but its probe ${h.probe} last ran ${h.at ?? 'never'}`));
        }
      }
      const limits = s.limitsCheckedAt(row);
      if (limits !== undefined && (limits === null || limits < c.startedAt - 50)) {
        out.push(new Violation('limits', `web was running (pid ${row.pid}) through a healthcheck begun at ${new Date(c.startedAt).toISOString()}, but its max_memory_mb was last checked ${limits === null ? 'never' : new Date(limits).toISOString()}`));
      }
    }
    return out;
  }
  toString() { return 'healthcheck'; }
}

export class WatchCmd extends Step {
  constructor(readonly on: boolean) { super(); }
  check(m: Readonly<Model>) { return m.watch !== this.on; }
  protected async act(m: Model, s: System) {
    if (this.on) await s.startWatch();
    else await s.stopWatch();
    m.watch = this.on;
  }
  toString() { return this.on ? 'watch on' : 'watch off'; }
}

export type Variant = Broken | 'good';

const BROKEN: Record<Broken, string> = {
  crash: 'echo broken; exit 3',
  missing: 'pguard-model-no-such-command --flag',
};

function syncDef(m: Model, s: System, name: Kind): void {
  const cmd = s.registryEntry(name)?.command;
  const p = m.procs.get(name)!;
  p.def = cmd === s.goodCommand(name) ? 'good' : cmd === BROKEN.crash ? 'crash' : 'missing';
}

/** register a new definition (maybe broken) and restart it. */
interface Registered { fallback: boolean; restartedAt: number }

export class RegisterCmd extends Step<Registered> {
  constructor(readonly name: Kind, readonly variant: Variant) { super(); }
  check(m: Readonly<Model>) { return m.procs.has(this.name) && (this.variant === 'good') === (m.procs.get(this.name)!.def !== 'good'); }
  protected async act(m: Model, s: System): Promise<Registered> {
    const command = this.variant === 'good' ? s.goodCommand(this.name) : BROKEN[this.variant];
    const reg = await s.cli(['register', this.name, command]);
    if (reg.code !== 0) throw new Violation('cli', `register exited ${reg.code}: ${reg.stderr.trim()}`);
    // Is there a known-good generation to go back to?
    const gens = await s.cli(['history', this.name, '--generations', '--json'], { quiet: true });
    let fallback = false;
    try {
      const list = JSON.parse(gens.stdout) as { gen: number; known_good_at: string | null; command?: string; entry?: { command?: string } }[];
      fallback = list.some((g) => g.known_good_at !== null && (g.entry?.command ?? g.command) !== command);
    } catch { /* none */ }
    s.log(`  a known-good generation to roll back to: ${fallback}`);
    const restartedAt = Date.now();
    const res = await s.cli(['restart', this.name, '--no-wait', '--json']);
    wantUp(m, res.stdout, withDependencies(m, this.name), restartedAt);
    m.procs.get(this.name)!.def = this.variant;
    return { fallback, restartedAt };
  }
  /** A broken definition with a known-good one behind it is rolled back, before its whole budget is spent. */
  protected async post(m: Model, s: System, _rows: readonly StatusRow[], c: Registered) {
    syncDef(m, s, this.name);
    if (this.variant === 'good' || !c.fallback) return [];
    const out: Violation[] = [];
    const ledger = s.ledger().filter((e) => e.process === this.name && Date.parse(e.at) >= c.restartedAt);
    const rollback = ledger.find((e) => e.event === 'rollback');
    const restarts = ledger.filter((e) => e.event === 'restart' && (!rollback || e.seq < rollback.seq)).length;
    if (!rollback) {
      out.push(new Violation('rollback', `${this.name}'s new definition (${this.variant}) failed, with a known-good generation to go back to, but was not rolled back (registry runs ${JSON.stringify(s.registryEntry(this.name)?.command)})`));
    } else if (m.config.maxRestarts >= 2 && restarts >= m.config.maxRestarts) {
      out.push(new Violation('rollback', `${this.name}'s new definition (${this.variant}), never known-good, spent its whole restart budget (${restarts} restarts of max_restarts ${m.config.maxRestarts}, restart_cooldown ${m.config.cooldown} s) before it was rolled back`));
    }
    return out;
  }
  toString() { return `register ${this.name} ${this.variant === 'good' ? 'its own command again' : `a broken command (${this.variant})`}, then restart it`; }
}

export class RollbackCmd extends Step {
  constructor(readonly name: Kind) { super(); }
  check(m: Readonly<Model>) { return m.procs.has(this.name); }
  protected async act(m: Model, s: System) {
    const at = Date.now();
    const res = await s.cli(['rollback', this.name]);
    if (res.code === 0) {
      const p = m.procs.get(this.name)!;
      p.desired = 'up';
      p.userStartAt = at;
      p.unguarded = false;
    } else if (res.code !== 1) {
      throw new Violation('cli', `rollback exited ${res.code}: ${res.stderr.trim()}`);
    }
    syncDef(m, s, this.name);
  }
  toString() { return `rollback ${this.name}`; }
}

/** The clock: wait until every live run has lasted min_uptime (stable: the budget resets, a generation may become known-good). */
export class WaitStableCmd extends Step {
  check(m: Readonly<Model>) { return [...m.procs.values()].some((p) => p.desired === 'up'); }
  protected async act(m: Model, s: System) {
    const want = Math.ceil(m.config.minUptime) + 1;
    const deadline = Date.now() + (want + 8) * 1000;
    for (;;) {
      const rows = await s.statusAll();
      const young = rows.filter((r) => UP.has(r.status) && (r.uptime_s ?? 0) < want);
      if (young.length === 0) return;
      if (Date.now() > deadline) {
        s.log(`  (still younger than ${want} s: ${young.map((r) => r.name).join(', ')})`);
        return;
      }
      await sleep(200);
    }
  }
  toString() { return 'wait past min_uptime'; }
}

/** A user stop that lands while pguard is ending web's run for its memory limit (web ignoring SIGTERM: the end takes kill_timeout). */
export class StopWhileEndingCmd extends Step {
  check(m: Readonly<Model>) { return m.procs.get('web')?.desired === 'up' && m.config.webIgnoresTerm; }
  protected async act(m: Model, s: System) {
    const run = s.runs('web').latest;
    await leak(s);
    const hc = s.watching ? null : s.cli(['healthcheck', '--json']).catch((err: unknown) => err);
    const deadline = Date.now() + 8000;
    let ending = false;
    while (Date.now() < deadline) {
      const runs = s.runs('web');
      ending = s.ledger().some((e) => e.process === 'web' && (e.event === 'resource-breach' || e.event === 'probe-failure')
        && e.details.action === 'graceful restart' && e.details.run === runs.latest?.id);
      if (ending || (run && runs.exits.has(run.id))) break;
      await sleep(20);
    }
    s.log(`  web's run ${run?.id ?? '?'} ${ending ? 'is being ended by pguard' : 'was not seen being ended'}`);
    const stop = await s.cli(['stop', 'web']);
    const checked = await hc;
    if (checked instanceof Error) throw checked;
    if (stop.code !== 0) throw new Violation('cli', `stop web exited ${stop.code}: ${stop.stderr.trim()}`);
    Object.assign(m.procs.get('web')!, { desired: 'stopped', stoppedAt: null });
  }
  toString() { return 'stop web while pguard ends its run for max_memory_mb'; }
}

export type Pair = 'start+stop' | 'restart+restart' | 'restart+healthcheck' | 'stop+healthcheck' | 'start+start' | 'stop-all+start-all';

/**
 * Two calls at once, as two users (or a user and cron) make them: whatever wins, the invariants
 * hold (one instance, nothing left of a stopped process, counts equal to the ledger). The model
 * takes what came of it: stopped, or wanted up.
 */
export class ConcurrentCmd extends Step {
  constructor(readonly name: Kind, readonly pair: Pair) { super(); }
  check(m: Readonly<Model>) { return m.procs.has(this.name); }
  protected async act(m: Model, s: System) {
    const argv = (verb: string): string[] => {
      switch (verb) {
        case 'start': return ['start', this.name, '--no-wait'];
        case 'restart': return ['restart', this.name, '--no-wait'];
        case 'stop': return ['stop', this.name];
        case 'stop-all': return ['stop', '--all'];
        case 'start-all': return ['start', '--all', '--no-wait'];
        default: return ['healthcheck'];
      }
    };
    const [a, b] = this.pair.split('+') as [string, string];
    const at = Date.now();
    const res = await Promise.all([s.cli(argv(a)), s.cli(argv(b))]);
    for (const r of res) if (r.code !== 0 && r.code !== 1) throw new Violation('cli', `a concurrent call exited ${r.code}: ${r.stderr.trim()}`);
    if (this.pair.startsWith('stop+healthcheck')) m.lastLookAt = at;
    // What came of it, for every process either call touched.
    const touched = this.pair.includes('all') ? [...m.procs.keys()] : [this.name, ...(/start|restart/.test(this.pair) ? withDependencies(m, this.name) : [])];
    const rows = await s.settle(m);
    for (const n of new Set(touched)) {
      const p = m.procs.get(n)!;
      const row = rows.find((r) => r.name === n);
      if (!row) continue;
      if (row.status === 'stopped') Object.assign(p, { desired: 'stopped', stoppedAt: null, unguarded: false });
      else if (row.status !== 'never-started') Object.assign(p, { desired: 'up', userStartAt: at, unguarded: false });
    }
  }
  toString() { return `at once: ${this.pair.replace('+', ' and ')}${this.pair.includes('all') ? '' : ` ${this.name}`}`; }
}

/** The command arbitraries for one registry: names from its processes, web's commands only with web. */
function arbsFor(config: Config): Record<string, fc.Arbitrary<fc.AsyncCommand<Model, System, false>>> {
  const name = fc.constantFrom(...config.procs);
  const web = config.procs.includes('web');
  const out: Record<string, fc.Arbitrary<fc.AsyncCommand<Model, System, false>>> = {
    start: name.map((n) => new StartCmd(n)),
    'start-all': fc.constant(new StartAllCmd()),
    stop: name.map((n) => new StopCmd(n)),
    'stop-all': fc.constant(new StopAllCmd()),
    restart: name.map((n) => new RestartCmd(n)),
    kill: fc.tuple(name, fc.constantFrom<KillHow>('main', 'runner', 'group', 'runner+main', 'runner+group')).map(([n, h]) => new KillCmd(n, h)),
    freeze: name.map((n) => new FreezeCmd(n)),
    healthcheck: fc.constant(new HealthcheckCmd()),
    watch: fc.boolean().map((on) => new WatchCmd(on)),
    register: fc.tuple(name, fc.constantFrom<Variant>('crash', 'missing', 'good')).map(([n, v]) => new RegisterCmd(n, v)),
    rollback: name.map((n) => new RollbackCmd(n)),
    wait: fc.constant(new WaitStableCmd()),
    concurrent: fc.tuple(name, fc.constantFrom<Pair>('start+stop', 'restart+restart', 'restart+healthcheck', 'stop+healthcheck', 'start+start', 'stop-all+start-all')).map(([n, p]) => new ConcurrentCmd(n, p)),
  };
  if (web) {
    out.probe = fc.boolean().map((f) => new ProbeCmd(f));
    out.leak = fc.constant(new LeakCmd());
    if (config.webIgnoresTerm) out['stop-while-ending'] = fc.constant(new StopWhileEndingCmd());
  }
  return out;
}

/** How often each is drawn. */
const WEIGHTS: Record<string, number> = {
  start: 2, 'start-all': 1, stop: 2, 'stop-all': 1, restart: 1, kill: 4, freeze: 1, probe: 1, leak: 1,
  healthcheck: 3, watch: 1, register: 2, rollback: 1, wait: 2, 'stop-while-ending': 1, concurrent: 2,
};

/** The command arbitraries, without those PGUARD_MODEL_WITHOUT names (which changes what a seed generates). */
export function commandArbs(config: Config): fc.Arbitrary<fc.AsyncCommand<Model, System, false>>[] {
  const without = new Set((process.env.PGUARD_MODEL_WITHOUT ?? '').split(',').map((x) => x.trim()).filter(Boolean));
  return Object.entries(arbsFor(config)).filter(([k]) => !without.has(k)).flatMap(([k, arb]) => Array.from({ length: WEIGHTS[k] ?? 1 }, () => arb));
}
