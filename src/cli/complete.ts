// Tab completion beyond yargs' own (commands and flags): the names of the registry's processes,
// after a command that takes them (`pguard stop <Tab>`). Read from the registry the command would
// use (--registry, $PGUARD_REGISTRY, else the nearest), with the same trust checks (a registry
// another user could write is not read); invalid entries are named too; nothing on an error.
import { COMMANDS } from '../commands/list.js';
import { WAIT_STATES } from '../app/wait.js';
import { SIGNALS } from '../core/schema.js';
import { locateRegistry, readRegistry } from '../effects/registry-file.js';

/** The commands whose positionals name processes (`<name>`, `[name]`, `[names..]`, `<names..>`). */
const NAMING = new Set(
  COMMANDS.filter((c) => c.describe !== false && / [<[]names?(\.\.)?[>\]]/.test(String(c.command))).map((c) => String(c.command).split(' ')[0]!),
);

export function processNameCompletions(command: string, current: string, registryFlag: string | undefined): string[] {
  if (!NAMING.has(command) || current.startsWith('-')) return [];
  try {
    const loc = locateRegistry({ flag: registryFlag, env: process.env.PGUARD_REGISTRY, cwd: process.cwd() });
    if (!loc?.exists) return [];
    const { data } = readRegistry(loc.path, { allowIssues: true });
    return Object.keys(data).filter((n) => !n.startsWith('$') && n.startsWith(current)); // $schema, $settings
  } catch {
    return [];
  }
}

/** After a flag that takes one of a few values, those values only (not process names): `wait x --until <Tab>`. */
const VALUES: Readonly<Record<string, readonly string[]>> = {
  '--until': WAIT_STATES,
  '--backoff': ['fixed', 'exponential'],
  '--stop-signal': SIGNALS,
  '--format': ['crontab', 'systemd', 'launchd', 'schtasks'],
};

/** The values of the flag just before the word being completed; null when that word is not such a flag's value. */
export function flagValueCompletions(previous: string | undefined, current: string): string[] | null {
  const values = previous === undefined ? undefined : VALUES[previous];
  return values ? values.filter((v) => v.startsWith(current)) : null;
}
