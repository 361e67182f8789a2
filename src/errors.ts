// Typed errors. Effects throw these; only cli/main.ts catches them and prints one line.
// A leaf module: it imports nothing from the project.

/**
 * What kind of failure, for programs (`{"error", "code"}` on stderr with --json). README's exit-code
 * table lists them.
 */
export const ERROR_CODES = [
  'usage', 'no-registry', 'registry-untrusted', 'registry-parse', 'registry-invalid', 'unknown-process', 'busy',
  'write-failed', 'failed', 'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A problem the user can fix: printed as `pguard: <message>` with a non-zero exit. */
export class UserError extends Error {
  readonly exitCode: number;
  readonly code: ErrorCode;
  constructor(message: string, exitCode = 1, code?: ErrorCode) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
    this.code = code ?? (exitCode === 2 ? 'usage' : 'failed');
  }
}

/** The registry is not valid JSON: names the file, line and column. */
export class RegistryParseError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(
      `${file}:${line}:${column}: not valid JSON (${detail}). Fix the file by hand; pguard never rewrites a registry it cannot read.`,
      2,
      'registry-parse',
    );
    this.name = 'RegistryParseError';
  }
}

export interface Issue {
  /** Process name, or `$settings`, or '' for the whole file. */
  readonly process: string;
  /** Field name as written in the registry (snake_case), or '' for the whole entry. */
  readonly field: string;
  readonly message: string;
}

/** The registry parsed but breaks the schema: every issue at once. */
export class RegistryInvalidError extends UserError {
  constructor(
    readonly file: string,
    readonly issues: readonly Issue[],
    /** What became of the command: said after the issues ("nothing was written"). */
    outcome?: string,
  ) {
    super([...issues.map((i) => describeIssue(file, i)), ...(outcome ? [`${file}: ${outcome}.`] : [])].join('\n'), 2, 'registry-invalid');
    this.name = 'RegistryInvalidError';
  }
}

export function describeIssue(file: string, issue: Issue): string {
  const where = [issue.process && JSON.stringify(issue.process), issue.field].filter(Boolean).join('.');
  return where ? `${file}: ${where}: ${issue.message}` : `${file}: ${issue.message}`;
}

/** A bug or an unexpected OS failure: printed with its message; a stack only with PGUARD_DEBUG=1. */
export class InternalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InternalError';
  }
}

/** A write failure in words: the code and what it means. */
export function describeWriteError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const meaning: Record<string, string> = {
    ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system',
    EACCES: 'permission denied', EPERM: process.platform === 'win32' ? 'operation not permitted (open in another program?)' : 'operation not permitted (an immutable file?)', EISDIR: 'a directory is in the way',
  };
  return code ? `${code}: ${meaning[code] ?? (err instanceof Error ? err.message : String(err))}` : String(err);
}

/** A file-system failure that names its file (Node's fs errors carry path and syscall). */
export function isFileSystemError(err: unknown): err is NodeJS.ErrnoException & { path: string } {
  const e = err as NodeJS.ErrnoException | null;
  return !!e && typeof e.code === 'string' && typeof e.path === 'string' && typeof e.syscall === 'string';
}
