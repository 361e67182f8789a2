// Issue 20: model-based tests of the lifecycle ("histories, not examples"). fast-check draws a
// registry (a forever sleeper, a tree that ignores SIGTERM, a shell with a child, an HTTP server
// with a probe and a memory limit, a dependent) and a history of what users, the OS and the clock
// do to it: start, stop, restart, stop --all, kill -9 of the main process, the runner, the group,
// SIGSTOP, a probe made to fail, a memory leak, healthcheck, watch on and off, a broken definition
// registered and restarted, rollback, waiting past min_uptime. Each step runs against the built CLI
// and the real runner, then the invariants (test/model/invariants.ts) are checked once the system
// has settled; two instances of one process are looked for every 100 ms all along.
//
// Budget: in `npm test`, histories start for 60 s (PGUARD_MODEL_SECONDS, default 60; each up to
// PGUARD_MODEL_STEPS commands, default 10; the one running then skips its remaining commands), then
// a failure is shrunk for at most PGUARD_MODEL_SHRINK_SECONDS (default 45). PGUARD_MODEL_RUNS=N runs N histories with no time
// limit unless PGUARD_MODEL_SECONDS is set too.
// Replay: a failure prints PGUARD_MODEL_SEED, PGUARD_MODEL_PATH and PGUARD_MODEL_REPLAY; set them
// to run that shrunk history again. PGUARD_MODEL_IGNORE=id,id leaves invariants out (their ids:
// invariants.ts); PGUARD_MODEL_WITHOUT=kill,freeze leaves commands out (commands.ts; a seed then
// draws other histories).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandArbs, ran } from './commands.js';
import { afterStep, checkHistory, checkRestarts, checkStopped, failure, keep } from './invariants.js';
import { configArb, initialModel, type Model } from './model.js';
import { dropSnapshot, live, snapshotBuild, System, Violation } from './system.js';

const env = process.env;
const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
const SEED = num(env.PGUARD_MODEL_SEED);
const PATH = env.PGUARD_MODEL_PATH || undefined;
const REPLAY = env.PGUARD_MODEL_REPLAY || undefined;
const replaying = SEED !== undefined && PATH !== undefined;
const RUNS = num(env.PGUARD_MODEL_RUNS);
const SECONDS = num(env.PGUARD_MODEL_SECONDS) ?? (RUNS === undefined ? 60 : Infinity);
const STEPS = num(env.PGUARD_MODEL_STEPS) ?? 10;
const SHRINK_SECONDS = num(env.PGUARD_MODEL_SHRINK_SECONDS) ?? 45;
/** Print every history's trace (PGUARD_MODEL_VERBOSE=1). */
const VERBOSE = env.PGUARD_MODEL_VERBOSE === '1';

/** One history: a fresh registry, its processes started, the commands, then stop --all and what must hold after it. */
async function runHistory(config: ReturnType<typeof initialModel>['config'], cmds: Iterable<fc.AsyncCommand<Model, System, false>>, exploreDeadline: number): Promise<void> {
  const sys = await System.create(config);
  const model = initialModel(config);
  sys.deadline = exploreDeadline;
  sys.log(`registry: ${JSON.stringify(config)} (port ${sys.port})`);
  try {
    sys.startSampler();
    if (config.watch) await sys.startWatch();
    sys.step = 'start --all (setup)';
    sys.log('> start --all (setup)');
    const at = Date.now();
    const started = await sys.cli(['start', '--all', '--no-wait', '--json']);
    for (const r of JSON.parse(started.stdout) as { name: string; outcome: string }[]) {
      const p = model.procs.get(r.name as never);
      if (p && r.outcome !== 'not-started') Object.assign(p, { desired: 'up', userStartAt: at });
    }
    await afterStep(model, sys);
    await fc.asyncModelRun(() => ({ model, real: sys }), cmds);
    // The end of every history: watch off, stop --all, and nothing may be left of any process.
    sys.step = 'stop --all (end)';
    sys.log('> stop --all (end)');
    await sys.stopWatch();
    model.watch = false;
    const stop = await sys.cli(['stop', '--all']);
    if (stop.code !== 0) throw new Violation('cli', `stop --all exited ${stop.code}: ${stop.stderr.trim()}`);
    const stoppedAt = Date.now();
    for (const p of model.procs.values()) Object.assign(p, { desired: 'stopped', stoppedAt });
    const rows = await sys.settle(model);
    const audit = await sys.cli(['audit', 'verify']);
    const found = keep([
      ...(await checkStopped(model, sys, rows)),
      ...(await checkRestarts(sys)),
      ...(await checkHistory(sys)),
      ...(audit.code === 0 ? [] : [new Violation('audit', `audit verify: ${audit.stdout.trim()} ${audit.stderr.trim()}`)]),
      ...sys.takeSampled(),
    ]);
    if (found.length > 0) throw failure(sys, found);
  } catch (err) {
    // A sampler's find made during the step that failed is part of the story.
    const extra = sys.takeSampled();
    if (err instanceof Violation && extra.length > 0) throw failure(sys, [err, ...extra]);
    if (!(err instanceof Violation)) throw new Error(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n--- trace ---\n${sys.trace.slice(-80).join('\n')}`);
    throw err;
  } finally {
    if (VERBOSE) console.log(`--- history ---\n${sys.trace.join('\n')}`);
    await sys.cleanup();
  }
}

beforeAll(async () => {
  await snapshotBuild();
}, 120_000);

afterAll(async () => {
  for (const sys of [...live]) await sys.cleanup().catch(() => undefined);
  dropSnapshot();
});

describe('the lifecycle, as histories (issue 20)', () => {
  const timeoutS = replaying ? 900 : (Number.isFinite(SECONDS) ? SECONDS : 3600 * 24) + SHRINK_SECONDS + 180;
  it('holds its invariants through random histories of users, kills, probes, limits and clock steps', async () => {
    const t0 = Date.now();
    const exploreUntil = t0 + SECONDS * 1000;
    let failedOnce = false;
    let shrinkUntil = Infinity;
    let histories = 0;
    let interrupted = false;
    // The commands are drawn for the registry drawn (names of its processes only).
    const history = configArb.chain((config) => fc.tuple(
      fc.constant(config),
      fc.commands(commandArbs(config), { maxCommands: STEPS, size: 'max', ...(REPLAY ? { replayPath: REPLAY } : {}) }),
    ));
    const prop = fc.asyncProperty(
      history,
      async ([config, cmds]) => {
        const now = Date.now();
        // Out of time, while exploring (nothing failed yet) or while shrinking: interrupt fast-check,
        // which ends the exploring (a success), or the shrinking with the smallest failure so far.
        if (!replaying && ((!failedOnce && now > exploreUntil) || (failedOnce && now > shrinkUntil))) {
          interrupted = true;
          throw new fc.PreconditionFailure(true);
        }
        histories++;
        try {
          await runHistory(config, cmds, replaying || failedOnce ? Infinity : exploreUntil);
        } catch (err) {
          if (!failedOnce) {
            failedOnce = true;
            shrinkUntil = Date.now() + SHRINK_SECONDS * 1000;
          }
          throw err;
        }
      },
    );
    const details = await fc.check(prop, {
      numRuns: replaying ? 1 : (RUNS ?? 1_000_000),
      ...(SEED !== undefined ? { seed: SEED } : {}),
      ...(PATH !== undefined ? { path: PATH } : {}),
      ...(replaying ? { endOnFailure: true } : {}),
    });
    const took = Math.round((Date.now() - t0) / 1000);
    console.log(`model: ${histories} histories in ${took} s (seed ${details.seed}${interrupted ? `; stopped by its time budget` : ''}); commands run: ${[...ran].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k.replace(/Cmd$/, '')} ${n}`).join(', ')}`);
    if (details.failed) {
      const example = details.counterexample ? fc.stringify(details.counterexample) : '(none)';
      const replayPath = /replayPath="([^"]*)"/.exec(example)?.[1];
      const replay = `PGUARD_MODEL_SEED=${details.seed} PGUARD_MODEL_PATH="${details.counterexamplePath}"${replayPath ? ` PGUARD_MODEL_REPLAY="${replayPath}"` : ''} npx vitest run test/model`;
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      const report = [
        `model-based test failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s), in ${took} s.`,
        `replay: ${replay}`,
        `history: ${example}`,
        `what failed: ${error}`,
      ].join('\n');
      console.error(report);
      expect.fail(report);
    }
  }, timeoutS * 1000);
});
