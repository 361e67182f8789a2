// The yargs root: global options, every command, and the only top-level catch. Bad input gets one
// line on stderr and a non-zero exit; a stack trace only with PGUARD_DEBUG=1.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeWriteError, InternalError, isFileSystemError, UserError } from '../errors.js';
import { COMMANDS } from '../commands/list.js';

/** package.json's version: the bundle (dist/bundle) and tsc's output (dist/cli) both sit two folders below it. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const cli = yargs(argv)
    .scriptName('pguard')
    .usage('$0 <command> [options]\n\nKeep background processes alive, and say when they die.')
    .option('registry', { type: 'string', describe: 'Path of the registry (default: $PGUARD_REGISTRY, else the nearest .process-registry.json)', global: true })
    .option('json', { type: 'boolean', describe: 'Machine-readable output', global: true })
    .command(COMMANDS)
    .demandCommand(1, 'name a command: pguard --help lists them.')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .option('version', { type: 'boolean', describe: 'Show the version (of the package this pguard runs from)', global: false })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      const sentence = /[.!?]$/.test(msg) ? msg : `${msg}.`;
      throw new UserError(`${sentence.replace(/^Unknown argument: (\S+)\.$/, (_m, a: string) => `unknown command or argument "${a}".`)} See \`pguard --help\`.`, 2);
    });
  await cli.parseAsync();
}

export function reportError(err: unknown): number {
  const debug = process.env.PGUARD_DEBUG === '1';
  if (err instanceof UserError) {
    process.stderr.write(`pguard: ${err.message.split('\n').join('\npguard: ')}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (isFileSystemError(err)) {
    // A full disk, a read-only mount, an immutable file: one line naming the file and the cause.
    process.stderr.write(`pguard: ${err.path}: cannot ${err.syscall} (${describeWriteError(err)}).\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof InternalError ? 'internal error' : 'unexpected error';
  process.stderr.write(`pguard: ${kind}: ${message}${debug ? '' : ' (PGUARD_DEBUG=1 shows the stack)'}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 70;
}

main(hideBin(process.argv)).then(
  () => {
    // Commands set process.exitCode for failures they report themselves.
  },
  (err: unknown) => {
    process.exitCode = reportError(err);
  },
);
