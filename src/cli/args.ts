// Turning command-line strings into registry values without coercing bad ones: "5x" stays a
// string so that validation names it ("expected a non-negative integer, got "5x" (string)").
import { parseProbeSpec } from '../core/probes.js';
import { UserError } from '../errors.js';

export function parseNumberArg(value: string): number | string {
  return /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
}

/** --env K=V (repeatable) -> { K: "V" } */
export function parseEnvArgs(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UserError(`--env expects NAME=VALUE, got ${JSON.stringify(v)}.`, 2);
    env[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return env;
}

/** "a,b" or repeated flags -> ["a", "b"] */
export function parseListArgs(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

export function parseSeconds(value: unknown, flag: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UserError(`${flag} expects a number of seconds, got ${JSON.stringify(value)}.`, 2);
  return n;
}

/** --wait S / --no-wait (false) / a bare --wait (true: the default second). */
export function parseWaitSeconds(value: unknown): number {
  if (value === false) return 0;
  if (value === true) return 1;
  return parseSeconds(value, '--wait');
}

/** --probe SPEC (repeatable) -> the `health` list; `--probe none` empties it. */
export function parseProbeArgs(values: readonly string[]): Record<string, unknown>[] {
  if (values.length === 1 && values[0] === 'none') return [];
  return values.map((v) => {
    const res = parseProbeSpec(v);
    if ('error' in res) throw new UserError(`${res.error}.`, 2);
    return res.probe;
  });
}
