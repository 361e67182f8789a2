// The ceremony every command shares, written once: load the registry and build the context (from
// modules imported only when the command runs: every CLI start is on a hot path), run the use
// case, print its result as JSON with --json or as the command renders it, and set the exit code.
// A command file is then only what is particular to it.
import type { Argv, CommandModule } from 'yargs';
import type { Context } from '../app/context.js';
import type { GlobalArgs } from './wiring.js';

export type Output = typeof import('./views.js');

export interface CommandSpec<A extends GlobalArgs, R> {
  readonly command: string;
  /** false: hidden (the runner's and pguard's own calls). */
  readonly describe: string | false;
  readonly builder?: (y: Argv<GlobalArgs>) => Argv<A>;
  /**
   * 'tolerant': go on when some entries break the schema (the command checks its own entry);
   * 'create': as tolerant, and make an empty registry here when none is found (as register does).
   */
  readonly registry?: 'strict' | 'tolerant' | 'create';
  /** The work: import from app/ lazily, return what to show (undefined: nothing to show). */
  readonly run: (argv: A, ctx: Context) => Promise<R>;
  /** For a person; without it (or with --json) the result is printed as JSON. */
  readonly render?: (result: R, out: Output, argv: A) => void;
  /** Exit 1 when this holds of the result (or the exit code it returns). */
  readonly failed?: (result: R) => boolean | number;
  /**
   * Where no registry is found: 'merge' runs the command on every registry this user has used and
   * merges the results (rows carry `registry`); a function does its own thing with those contexts.
   * Without it, a command naming processes of one known registry says which.
   */
  readonly anywhere?: 'merge' | ((argv: A, ctxs: readonly Context[]) => Promise<R>);
}

export function defineCommand<A extends GlobalArgs, R>(spec: CommandSpec<A, R>): CommandModule<GlobalArgs, A> {
  return {
    command: spec.command,
    describe: spec.describe,
    ...(spec.builder ? { builder: spec.builder } : {}),
    handler: async (parsed) => {
      const argv = parsed as unknown as A; // yargs' camel-cased view of the same arguments
      const { buildContext, ensureRegistry } = await import('./wiring.js');
      const tolerant = spec.registry === 'tolerant' || spec.registry === 'create';
      let ctx: Context;
      try {
        ctx = buildContext(spec.registry === 'create' ? { ...argv, registry: await ensureRegistry(argv) } : argv, { tolerant });
      } catch (err) {
        const anywhere = await import('./anywhere.js');
        if (!anywhere.isDiscoveryMiss(err, argv)) throw err;
        if (spec.anywhere) return runAnywhere(spec, argv, await anywhere.knownContexts(tolerant), err);
        const named = parsed.names ?? (parsed.name === undefined ? [] : [parsed.name]);
        throw (await anywhere.pointToKnown((Array.isArray(named) ? named : [named]).map(String), process.argv.slice(2))) ?? err;
      }
      const { remember } = await import('./anywhere.js');
      await remember(ctx);
      const result = await spec.run(argv, ctx);
      await show(spec, argv, result);
    },
  };
}

async function show<A extends GlobalArgs, R>(spec: CommandSpec<A, R>, argv: A, result: R): Promise<void> {
  const failed = spec.failed?.(result);
  if (failed) process.exitCode = failed === true ? 1 : failed;
  if (result === undefined) return;
  const out = await import('./views.js');
  if (argv.json || !spec.render) return out.printJson(result);
  spec.render(result, out, argv);
}

/** The command over every known registry (see CommandSpec.anywhere); none known: the original error. */
async function runAnywhere<A extends GlobalArgs, R>(spec: CommandSpec<A, R>, argv: A, ctxs: readonly Context[], miss: unknown): Promise<void> {
  if (ctxs.length === 0) throw miss;
  const anywhere = await import('./anywhere.js');
  if (typeof spec.anywhere === 'function') return show(spec, argv, await spec.anywhere(argv, ctxs));
  anywhere.sayShowingKnown(ctxs.length);
  const results: { path: string; result: R }[] = [];
  let firstError: unknown = null;
  for (const ctx of ctxs) {
    try {
      results.push({ path: ctx.registry.path, result: await spec.run(argv, ctx) });
    } catch (err) {
      firstError ??= err; // e.g. a name only some registries have
    }
  }
  if (results.length === 0) throw firstError ?? miss;
  if (argv.json || !spec.render) return show(spec, argv, anywhere.mergeAcross(results) as R);
  const out = await import('./views.js');
  for (const [i, r] of results.entries()) {
    if (i > 0) out.printLine('');
    out.printLine(out.paint(r.path, 'bold'));
    spec.render(r.result, out, argv);
  }
  const failed = results.map((r) => spec.failed?.(r.result)).find(Boolean);
  if (failed) process.exitCode = failed === true ? 1 : failed;
}

/** A command group (cron, audit, skill): its subcommands, one of which is required. */
// Subcommands differ in their argument types; yargs takes them all the same.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function defineGroup(command: string, describe: string, subcommands: readonly CommandModule<GlobalArgs, any>[]): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command,
    describe,
    builder: (y) => y.command(subcommands as CommandModule<GlobalArgs, GlobalArgs>[]).demandCommand(1),
    handler: () => {},
  };
}
