// The ceremony every command shares, written once: load the registry and build the context (from
// modules imported only when the command runs: every CLI start is on a hot path), run the use
// case, print its result as JSON with --json or as the command renders it, and set the exit code.
// A command file is then only what is particular to it.
import { existsSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import type { Context } from '../app/context.js';
import type { GlobalArgs } from './wiring.js';

export type Output = typeof import('./views.js');

/** One option or positional, declared as data: yargs is built from it, and so is the fast path (cli/fast.ts). */
export interface FlagSpec {
  readonly type: 'string' | 'number' | 'boolean';
  readonly array?: boolean;
  readonly default?: unknown;
  readonly describe?: string;
  readonly demandOption?: boolean;
  readonly hidden?: boolean;
  /**
   * A value that `--no-NAME` sets to false (start's `--wait 3` / `--no-wait`): yargs gets the
   * option untyped (it reads a number, and false from the negation); the fast path does the same.
   */
  readonly negatable?: boolean;
}

/**
 * A command's arguments as data, for the commands on the hot path (cron's healthcheck, the
 * runner's on-exit, an agent's status): parsed without loading yargs when the words are all
 * plain ones (cli/fast.ts), and by yargs, from the same declaration, for everything else.
 */
export interface Flags {
  readonly positionals?: Readonly<Record<string, FlagSpec>>;
  readonly options?: Readonly<Record<string, FlagSpec>>;
  readonly examples?: readonly (readonly [string, string])[];
}

export interface CommandSpec<A extends GlobalArgs, R> {
  readonly command: string;
  /** Other names it answers to (PM2's habits: `ls`, `list` for status). */
  readonly aliases?: readonly string[];
  /** false: hidden (the runner's and pguard's own calls). */
  readonly describe: string | false;
  readonly builder?: (y: Argv<GlobalArgs>) => Argv<A>;
  /** The arguments as data (then `builder` adds only what data cannot say), which lets the fast path parse them. */
  readonly flags?: Flags;
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

/** A command module, and (when it declares its flags as data) what the fast path needs. */
export type PguardCommand<A extends GlobalArgs = GlobalArgs> = CommandModule<GlobalArgs, A> & { readonly flags?: Flags };
/** Any command, whatever its arguments (the list of them, the fast path); `flags` where it declares them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

export function flagsOf(command: AnyCommand): Flags | undefined {
  return (command as { flags?: Flags }).flags;
}

function builderOf<A extends GlobalArgs>(flags: Flags): (y: Argv<GlobalArgs>) => Argv<A> {
  return (y) => {
    let b = y as unknown as Argv<A>;
    for (const [name, f] of Object.entries(flags.positionals ?? {})) b = b.positional(name, { ...f }) as Argv<A>;
    for (const [name, f] of Object.entries(flags.options ?? {})) {
      const { negatable, type, ...rest } = f;
      b = b.option(name, negatable ? rest : { ...rest, type }) as Argv<A>; // negatable: untyped for yargs
    }
    for (const [cmd, what] of flags.examples ?? []) b = b.example(cmd, what);
    return b;
  };
}

export function defineCommand<A extends GlobalArgs, R>(spec: CommandSpec<A, R>): PguardCommand<A> {
  // With both, the flags first, then what only yargs can say (a subcommand).
  const fromFlags = spec.flags ? builderOf<A>(spec.flags) : undefined;
  const builder = fromFlags && spec.builder
    ? (y: Argv<GlobalArgs>) => spec.builder!(fromFlags(y) as unknown as Argv<GlobalArgs>)
    : fromFlags ?? spec.builder;
  return {
    command: spec.command,
    ...(spec.aliases ? { aliases: [...spec.aliases] } : {}),
    describe: spec.describe,
    ...(builder ? { builder } : {}),
    ...(spec.flags ? { flags: spec.flags } : {}),
    handler: async (parsed) => {
      const argv = parsed as unknown as A; // yargs' camel-cased view of the same arguments
      const { buildContext, lazyContext } = await import('./wiring.js');
      const tolerant = spec.registry === 'tolerant' || spec.registry === 'create';
      // A command that may create the registry creates it when it writes, not before: a dry run, or
      // one that fails, leaves none behind.
      const lazy = spec.registry === 'create';
      let ctx: Context;
      try {
        ctx = lazy ? lazyContext(argv) : buildContext(argv, { tolerant });
      } catch (err) {
        const anywhere = await import('./anywhere.js');
        if (!anywhere.isDiscoveryMiss(err, argv)) throw err;
        if (spec.anywhere) return runAnywhere(spec, argv, await anywhere.knownContexts(tolerant), err);
        const named = parsed.names ?? (parsed.name === undefined ? [] : [parsed.name]);
        throw (await anywhere.pointToKnown((Array.isArray(named) ? named : [named]).map(String), process.argv.slice(2))) ?? err;
      }
      const { remember } = await import('./anywhere.js');
      const existed = !lazy || existsSync(ctx.registry.path);
      if (existed) await remember(ctx);
      const result = await spec.run(argv, ctx);
      if (!existed && existsSync(ctx.registry.path)) await remember(ctx); // the command made it
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
export function defineGroup(command: string, describe: string, subcommands: readonly CommandModule<GlobalArgs, any>[]): CommandModule<GlobalArgs, GlobalArgs> & { readonly actions: readonly string[] } {
  return {
    command,
    describe,
    // Its actions by name, for the one line that names a wrong one (cli/main.ts).
    actions: subcommands.map((c) => String(c.command).split(' ')[0]!),
    builder: (y) => y.command(subcommands as CommandModule<GlobalArgs, GlobalArgs>[]).demandCommand(1),
    handler: () => {},
  };
}
