// What every export shares: the lines saying what a target cannot express, and how a command
// splits into a program and its arguments (the runner's own rule for a "simple" command).
import { shownUrl } from './probes.js';
import type { ProcessDef } from './schema.js';

/** One thing a target cannot express, said on stderr as `NAME.field: message`. */
export interface Note {
  readonly process: string;
  readonly field: string;
  readonly message: string;
}

export function describeNote(n: Note): string {
  return `${n.process}${n.field ? `.${n.field}` : ''}: ${n.message}`;
}

/** The first words that make a command shell syntax even without special characters (as bin/pguard-runner.sh). */
const SHELL_WORDS = new Set([
  'cd', 'export', 'source', '.', 'set', 'unset', 'trap', 'ulimit', 'umask', 'alias', 'eval', 'exit', 'return', 'shift', 'read',
  'wait', 'if', 'while', 'until', 'for', 'case', '!', 'exec', 'readonly', 'local', 'getopts', 'hash', 'type', 'command', 'break',
  'continue', 'times', ':',
]);

/**
 * A command with nothing for a shell to do, as its words (`node server.js --port 8080`); null when
 * it has shell syntax (quotes, `$`, pipes, `;`, globs, an assignment or a builtin first).
 */
export function splitSimpleCommand(command: string): string[] | null {
  if (/[;&|<>()$`\\"'*?[#~{}\n]/.test(command)) return null;
  const words = command.split(/[ \t]+/).filter(Boolean);
  if (words.length === 0 || words[0]!.includes('=') || SHELL_WORDS.has(words[0]!)) return null;
  return words;
}

/** The variable a probe URL that holds a secret is read from, in the container (Compose and Kubernetes alike). */
export const PROBE_URL_VAR = 'PGUARD_PROBE_URL';

/** Whether an export must keep the first probe's URL out of the file: an http URL with a secret in it, values redacted. */
export function probeUrlIsSecret(def: Pick<ProcessDef, 'health'>, redactEnv: boolean): boolean {
  const first = def.health[0];
  return first?.type === 'http' && redactEnv && shownUrl(first.url).secret;
}

/** A DNS-1123 label from a process name (Kubernetes names, Compose service names): lowercase, `-` for `.` and `_`. */
export function dnsLabel(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'process';
}

/** Seconds, as a whole number where it is one. */
export const whole = (s: number): number => (Number.isInteger(s) ? s : Math.ceil(s));
