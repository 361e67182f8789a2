// The yargs root: global options, every command, and the only top-level catch. Bad input gets one
// line on stderr and a non-zero exit; a stack trace only with PGUARD_DEBUG=1.
import { UserError } from '../errors.js';
import { COMMANDS } from '../commands/list.js';
import { processNameCompletions } from './complete.js';
import { GLOBAL_OPTIONS } from './fast.js';
import { reportError, wantsJson } from './report.js';
import { packageVersion } from './version.js';

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V' || argv[0] === '-v')) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  // (The hot commands in their plain form never get here: bin/pguard.js runs them through
  // cli/hot.ts, without this bundle or yargs.)
  const { default: yargs } = await import('yargs');
  const cli = yargs(argv)
    .scriptName('pguard')
    .usage('$0 <command> [options]\n\nKeep background processes alive, and say when they die.')
    .option('registry', { ...GLOBAL_OPTIONS.registry, global: true })
    .option('json', { ...GLOBAL_OPTIONS.json, global: true })
    .command(COMMANDS)
    // yargs' own: `pguard completion >> ~/.bashrc` (bash; zsh through bashcompinit). The script calls
    // `pguard --get-yargs-completions ...` for each Tab: yargs' commands and flags, and after a
    // command that takes them, the registry's process names (cli/complete.ts).
    .completion('completion', 'Print a shell completion script (bash, zsh): pguard completion >> ~/.bashrc', (
      current: string, args: Record<string, unknown>,
      completionFilter: (then: (err: Error | null, defaults: string[] | undefined) => void) => void, done: (completions: string[]) => void,
    ) => {
      completionFilter((_err, defaults) => {
        // The words as typed, the program's name first: `pguard stop n` -> ['pguard', 'stop', 'n'].
        const { _: words, registry } = args as { _: (string | number)[]; registry?: string };
        done([...(defaults ?? []), ...processNameCompletions(String(words[1] ?? ''), current, registry)]);
      });
    })
    .demandCommand(1, 'name a command: pguard --help lists them.')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .option('version', { type: 'boolean', describe: 'Show the version (of the package this pguard runs from)', global: false })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      const missing = describeMissing(msg, argv);
      if (missing) throw new UserError(missing, 2, 'usage');
      const sentence = /[.!?]$/.test(msg) ? msg : `${msg}.`;
      throw new UserError(`${sentence.replace(/^Unknown argument: (\S+)\.$/, (_m, a: string) => `unknown command or argument "${a}".`)} See \`pguard --help\`.`, 2);
    });
  await cli.parseAsync();
}

/**
 * yargs' "Not enough non-option arguments: got 1, need at least 2", said as which argument is
 * missing, from the command's own definition: `register needs <command>: pguard register <name> <command> [duration_min]`.
 */
function describeMissing(msg: string, argv: readonly string[]): string | null {
  const m = /^Not enough non-option arguments: got (\d+), need at least (\d+)/.exec(msg);
  if (!m) return null;
  const words = argv.filter((a) => !a.startsWith('-'));
  // The deepest command the words name (`cron install`, `alerts ack`, `register`).
  const spec = COMMANDS.map((c) => String(c.command)).find((c) => c.split(' ')[0] === words[0]);
  if (!spec) return null;
  const positionals = spec.split(' ').slice(1);
  const required = positionals.filter((p) => p.startsWith('<'));
  const got = Number(m[1]);
  const lacking = required.slice(got);
  if (lacking.length === 0) return null;
  return `${words[0]} needs ${lacking.join(' and ')}: pguard ${spec}. See \`pguard ${words[0]} --help\`.`;
}

// process.argv: node, the script, then pguard's arguments (yargs' hideBin, without loading yargs).
const args = process.argv.slice(2);
main(args).then(
  () => {
    // Commands set process.exitCode for failures they report themselves.
  },
  (err: unknown) => {
    process.exitCode = reportError(err, wantsJson(args));
  },
);
