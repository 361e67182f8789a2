// The model: what each process of a run's registry should be, from what the user (the test) did.
// Small on purpose: it says what is wanted (up, stopped), what the entry runs now (its own
// command, or a broken one), and what the test did to it that pguard may only see later (its
// runner killed, its health made to fail). What pguard decides in time (a restart now or after
// the cooldown, a give-up, a rollback) is not predicted: the invariants say which outcomes are
// allowed, and the model takes what the registry says after a rollback.
import fc from 'fast-check';

export const KINDS = ['sleeper', 'stubborn', 'spawner', 'web', 'client'] as const;
export type Kind = (typeof KINDS)[number];

/** A run's registry and timings (generated, and shrunk, with the commands). */
export interface Config {
  readonly procs: readonly Kind[];
  /** restart_cooldown (s) */
  readonly cooldown: number;
  /** min_uptime (s) */
  readonly minUptime: number;
  readonly maxRestarts: number;
  /** web ignores SIGTERM: ending it takes kill_timeout (a window for a user stop to land in). */
  readonly webIgnoresTerm: boolean;
  /** client's edge to sleeper: restarted with it (restart_dependents) or reconnects by itself. */
  readonly clientRestart: boolean;
  /** `pguard watch` runs from the start. */
  readonly watch: boolean;
}

export const configArb: fc.Arbitrary<Config> = fc.record({
  // sleeper first (client depends on it); web and sleeper most runs.
  procs: fc.record({
    stubborn: fc.boolean(), spawner: fc.boolean(), client: fc.boolean(),
    web: fc.oneof({ arbitrary: fc.constant(true), weight: 7 }, { arbitrary: fc.constant(false), weight: 3 }),
  }).map(({ stubborn, spawner, web, client }) => KINDS.filter((k) =>
    k === 'sleeper' || (k === 'stubborn' && stubborn) || (k === 'spawner' && spawner) || (k === 'web' && web) || (k === 'client' && client))),
  cooldown: fc.constantFrom(0, 0.5, 1),
  minUptime: fc.constantFrom(1, 2),
  maxRestarts: fc.integer({ min: 1, max: 4 }),
  webIgnoresTerm: fc.boolean(),
  clientRestart: fc.boolean(),
  watch: fc.boolean(),
});

export type Broken = 'crash' | 'missing';

export interface ProcModel {
  readonly name: Kind;
  /** never: not started yet; up: the user started it (or its dependent's start did); stopped: the user stopped it. */
  desired: 'never' | 'up' | 'stopped';
  /** What its entry runs: its own command, or a broken one the test registered. */
  def: 'good' | Broken;
  /** web: /health answers 503. */
  healthFail: boolean;
  /** Its runner was killed by the test, and no healthcheck (or watch) has looked since. */
  unguarded: boolean;
  /** When the user last asked for it to run (start, restart, rollback): alerts older than this are about something else. */
  userStartAt: number;
  /** When the user's stop (stop, stop --all) that it is stopped by returned; null: not stopped by one. */
  stoppedAt: number | null;
}

export interface Model {
  readonly config: Config;
  readonly procs: Map<Kind, ProcModel>;
  /** The watcher runs now. */
  watch: boolean;
  /** When the last look (healthcheck) began; with watch on, every second. */
  lastLookAt: number;
}

export function initialModel(config: Config): Model {
  const procs = new Map<Kind, ProcModel>();
  for (const name of config.procs) {
    procs.set(name, { name, desired: 'never', def: 'good', healthFail: false, unguarded: false, userStartAt: 0, stoppedAt: null });
  }
  return { config, procs, watch: config.watch, lastLookAt: 0 };
}

/** What a start of `name` also starts: its dependencies (start brings them up first). */
export function withDependencies(model: Model, name: Kind): Kind[] {
  return name === 'client' && model.procs.has('sleeper') ? ['sleeper', 'client'] : [name];
}
