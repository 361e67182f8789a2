// The yargs root: global options, every command, and the only top-level catch. Bad input gets one
// line on stderr and a non-zero exit; a stack trace only with PGUARD_DEBUG=1.
import { UserError } from '../errors.js';
import { COMMANDS } from '../commands/list.js';
import { flagValueCompletions, processNameCompletions } from './complete.js';
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
        // The word before the one being completed (yargs is called as `--get-yargs-completions pguard ... <current>`).
        const values = flagValueCompletions(process.argv.at(-2), current);
        done(values ?? [...(defaults ?? []), ...processNameCompletions(String(words[1] ?? ''), current, registry)]);
      });
    })
    .demandCommand(1, 'name a command: pguard --help lists them.')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .option('version', { type: 'boolean', describe: 'Show the version (of the package this pguard runs from)', global: false })
    // No wrapping by yargs: an example is never cut mid-command (the terminal folds long lines itself).
    .wrap(null)
    .fail((msg, err) => {
      if (err) throw err;
      const missing = describeMissing(msg, argv);
      if (missing) throw new UserError(missing, 2, 'usage');
      // yargs' two lines for a bad choice, as one: `export: format "foo" is not one of systemd, k8s, compose.`
      const choice = /^Invalid values:\s*Argument: (\S+), Given: (.+?), Choices: (.+)$/s.exec(msg.trim());
      if (choice) {
        const given = choice[2]!.replace(/^"|"$/g, '').toLowerCase();
        const options = choice[3]!.replace(/"/g, '').split(/,\s*/);
        // supervisor -> supervisord, compose -> process-compose: a prefix, or two edits away.
        const near = options.find((o) => o.startsWith(given) || given.startsWith(o) || o.endsWith(`-${given}`)) ?? options.find((o) => editDistance(given, o) <= 2);
        throw new UserError(`${argv[0]}: ${choice[1]} ${choice[2]} is not one of ${options.join(', ')}.${near ? ` Did you mean ${near}?` : ''} See \`pguard ${argv[0]} --help\`.`, 2);
      }
      const unknown = /^Unknown arguments?: (\S+?),?(\s|$)/.exec(msg);
      if (unknown && unknown[1] === argv[0]) {
        const near = closestCommand(unknown[1]!);
        throw new UserError(`unknown command "${unknown[1]}"${near ? `: did you mean \`pguard ${near}\`?` : '.'} See \`pguard --help\`.`, 2);
      }
      const sentence = /[.!?]$/.test(msg) ? msg : `${msg}.`;
      if (sentence.includes('--help')) throw new UserError(sentence, 2);
      const flag = (a: string) => argv.find((w) => w === `--${a}` || w.startsWith(`--${a}=`) || w === `-${a}`);
      throw new UserError(`${sentence.replace(/^Unknown argument: (\S+)\.$/, (_m, a: string) => (flag(a) ? `unknown option "${flag(a)!.split('=')[0]}".` : `unknown command or argument "${a}".`))} See \`pguard ${argv[0] && !argv[0].startsWith('-') ? `${argv[0]} ` : ''}--help\`.`, 2);
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
  const module = COMMANDS.find((c) => String(c.command).split(' ')[0] === words[0]);
  if (!module) return null;
  const spec = String(module.command);
  // A group given a word that is none of its actions: name it and the choices.
  const actions = (module as { actions?: readonly string[] }).actions;
  if (actions && words[1] !== undefined && !actions.includes(words[1])) {
    return `${words[0]}: unknown action "${words[1]}"; it takes ${actions.join(', ')}. See \`pguard ${words[0]} --help\`.`;
  }
  const positionals = spec.split(' ').slice(1);
  const required = positionals.filter((p) => p.startsWith('<'));
  const got = Number(m[1]);
  const lacking = required.slice(got);
  if (lacking.length === 0) return null;
  return `${words[0]} needs ${lacking.join(' and ')}: pguard ${spec}. See \`pguard ${words[0]} --help\`.`;
}

/** The visible command (or alias) nearest to a mistyped one, within two edits; null when none is. */
function closestCommand(word: string): string | null {
  const names = COMMANDS.filter((c) => c.describe !== false).flatMap((c) => [String(c.command).split(' ')[0]!, ...((c as { aliases?: string[] }).aliases ?? [])]);
  let best: { name: string; d: number } | null = null;
  for (const name of names) {
    const d = editDistance(word.toLowerCase(), name);
    if (d <= 2 && (!best || d < best.d)) best = { name, d };
  }
  return best?.name ?? null;
}

/** Levenshtein distance, counting a swap of two neighbours as one edit (stauts -> status). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
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
