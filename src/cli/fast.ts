// The fast path: the hot commands (cron's healthcheck, the runner's on-exit, an agent's status and
// alerts, heartbeat, notify) parsed without loading yargs, from the same declaration yargs is built
// from (CommandSpec.flags). Only plain words are taken: a known command, its declared options as
// `--name value`, `--name=value`, `--flag`, `--no-flag`, and its positionals. Anything else (help,
// a short flag, an unknown option, a missing or extra argument) is left to yargs, which parses it
// or says what is wrong. test/cli/fast-path.test.ts checks both parse each documented call alike.
import { flagsOf, type AnyCommand, type FlagSpec, type Flags } from './command.js';

/** pguard's own global options (cli/main.ts declares the same for yargs). */
export const GLOBAL_OPTIONS: Readonly<Record<string, FlagSpec>> = {
  registry: { type: 'string', describe: 'Path of the registry (default: $PGUARD_REGISTRY, else the nearest .process-registry.json)' },
  json: { type: 'boolean', describe: 'Machine-readable output' },
};

const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
/** `--no-NAME` sets it to false: a boolean, or a value declared negatable (start's --wait). */
const negatable = (s: FlagSpec | undefined) => s?.type === 'boolean' || s?.negatable === true;

function coerce(spec: FlagSpec, raw: string): unknown {
  if (spec.type === 'number') return Number(raw);
  if (spec.type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : undefined;
  return raw;
}

/** The parsed arguments as yargs would hand them to the handler, or null: not a plain call. */
export function parseFast(argv: readonly string[], commands: readonly AnyCommand[]): { command: AnyCommand; args: Record<string, unknown> } | null {
  const [name, ...rest] = argv;
  const command = commands.find((c) => flagsOf(c) && String(c.command).split(' ')[0] === name);
  if (!command) return null;
  const flags: Flags = flagsOf(command)!;
  const options: Record<string, FlagSpec> = { ...GLOBAL_OPTIONS, ...flags.options };
  const out: Record<string, unknown> = {};
  const words: string[] = [];
  const set = (key: string, spec: FlagSpec, value: unknown) => {
    const v = spec.array ? [...((out[key] as unknown[] | undefined) ?? []), value] : value;
    out[key] = v;
    if (key.includes('-')) out[camel(key)] = v;
  };
  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i]!;
    if (tok === '--') { words.push(...rest.slice(i + 1)); break; }
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      let key = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      let negated = false;
      if (!(key in options) && key.startsWith('no-') && negatable(options[key.slice(3)])) { key = key.slice(3); negated = true; }
      const spec = options[key];
      if (!spec) return null;
      if (negated) { if (eq >= 0) return null; set(key, spec, false); continue; }
      if (spec.type === 'boolean') {
        const v = eq < 0 ? true : coerce(spec, tok.slice(eq + 1));
        if (v === undefined) return null;
        set(key, spec, v);
        continue;
      }
      const value = eq >= 0 ? tok.slice(eq + 1) : rest[++i];
      if (value === undefined || (eq < 0 && value.startsWith('-') && value !== '-' && !/^-\d/.test(value))) return null;
      set(key, spec, coerce(spec, value));
      continue;
    }
    if (tok.startsWith('-') && tok !== '-') return null; // -h, -n 5: yargs' business
    words.push(tok);
  }
  // Positionals, in the order of the command string: <required>, [optional], <many..>.
  for (const part of String(command.command).split(' ').slice(1)) {
    const m = /^[<[]([\w-]+)(\.\.)?[>\]]$/.exec(part);
    if (!m) return null;
    const [, key, many] = m;
    const spec = flags.positionals?.[key!] ?? { type: 'string' as const };
    const required = part.startsWith('<');
    if (many) {
      if (required && words.length === 0) return null;
      out[key!] = words.splice(0).map((w) => coerce(spec, w));
    } else if (words.length > 0) {
      out[key!] = coerce(spec, words.shift()!);
    } else if (required) return null;
  }
  if (words.length > 0) return null;
  for (const [key, spec] of Object.entries(options)) {
    if (out[key] === undefined && spec.default !== undefined) set(key, spec, spec.default);
    if (out[key] === undefined && spec.demandOption) return null;
  }
  return { command, args: { _: [name], $0: 'pguard', ...out } };
}
