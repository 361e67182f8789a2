// Reporting a failure, written once for every entry (cli/main.ts, cli/hot.ts): one line on stderr,
// `pguard: <what>. <what to do>` (a JSON object with --json), a non-zero exit, and a stack only
// with PGUARD_DEBUG=1.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeWriteError, InternalError, isFileSystemError, RegistryInvalidError, UserError } from '../errors.js';

/** Failures of the user's situation that Node reports as errors of its own, said as what they are. */
function asUserError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  // process.cwd() in a folder that was deleted (or moved) under the shell.
  if (e?.code === 'ENOENT' && e.syscall === 'uv_cwd') return new UserError('the current folder no longer exists (deleted or moved): cd to a folder that exists, and run pguard again.', 2);
  return err;
}

/** With --json, an error is one JSON object on stderr: {"error", "code"} (and "issues" for a schema error). */
function reportJsonError(err: unknown): number {
  const user = err instanceof UserError ? err : null;
  const fs = !user && isFileSystemError(err) ? err : null;
  const body: Record<string, unknown> = user
    ? { error: user.message, code: user.code }
    : fs
      ? { error: `${fs.path}: cannot ${fs.syscall} (${describeWriteError(fs)}).`, code: 'write-failed' }
      : { error: `${err instanceof InternalError ? 'internal error' : 'unexpected error'}: ${err instanceof Error ? err.message : String(err)}`, code: 'internal' };
  if (err instanceof RegistryInvalidError) body.issues = err.issues;
  process.stderr.write(`${JSON.stringify(body)}\n`);
  return user ? user.exitCode : fs ? 1 : 70;
}

/** --json anywhere before a lone `--` (yargs' own view is not at hand when parsing itself failed). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--json' || a === '--json=true');
}

/** The mount point holding `path` (the longest one that contains it, from /proc/self/mounts); null where unknown. */
function mountOf(path: string): string | null {
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]?.replace(/\\040/g, ' ')).filter((m): m is string => !!m);
    const abs = resolve(path);
    return mounts.filter((m) => abs === m || abs.startsWith(m.endsWith('/') ? m : `${m}/`)).sort((a, b) => b.length - a.length)[0] ?? null;
  } catch {
    return null;
  }
}

export function reportError(raw: unknown, json = false): number {
  const err = asUserError(raw);
  if (json) return reportJsonError(err);
  const debug = process.env.PGUARD_DEBUG === '1';
  if (err instanceof UserError) {
    process.stderr.write(`pguard: ${err.message.split('\n').join('\npguard: ')}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (isFileSystemError(err)) {
    // A full disk, a read-only mount, an immutable file: one line naming the file and the cause.
    const full = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? mountOf(err.path) : null;
    const where = full ? `: the file system on ${full} is full; free space there (nothing was half-written)` : '';
    process.stderr.write(`pguard: ${err.path}: cannot ${err.syscall} (${describeWriteError(err)})${where}.\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof InternalError ? 'internal error' : 'unexpected error';
  process.stderr.write(`pguard: ${kind}: ${message}${debug ? '' : ' (PGUARD_DEBUG=1 shows the stack)'}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 70;
}

