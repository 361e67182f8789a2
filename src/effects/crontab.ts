// The user's crontab, through the real `crontab` command: `crontab -l` to read, `crontab -` to write.
// PGUARD_CRONTAB_USER=NAME (root only, as `crontab -u`) works on that user's table instead: root
// installing the backstop of a service account, and the tests, which never touch their own.
import { UserError } from '../errors.js';
import { childProcess } from './lazy-builtins.js';

function userArgs(): string[] {
  const user = process.env.PGUARD_CRONTAB_USER;
  if (!user) return [];
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(user)) throw new UserError(`PGUARD_CRONTAB_USER: expected a user name, got ${JSON.stringify(user)}.`, 2);
  return ['-u', user];
}

/** `crontab ARGS` with `input` on stdin: its exit code and output (the command missing: code ENOENT). */
function runCrontab(args: readonly string[], input?: string): Promise<{ exitCode: number | null; stdout: string; stderr: string; missing: boolean }> {
  // node:child_process (not execa, ~15 MB more to load): `pguard dashboard` asks every 10 s.
  return new Promise((done) => {
    const child = childProcess().execFile('crontab', [...args], { timeout: 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      done({ exitCode: err ? (typeof code === 'number' ? code : child.exitCode) : 0, stdout, stderr, missing: code === 'ENOENT' });
    });
    // `crontab -l` reads no input and may be gone before it would: a closed pipe is not an error.
    child.stdin?.on('error', () => undefined);
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(input);
  });
}

const NO_CRONTAB = 'the `crontab` command is not available. Install cron (Debian/Ubuntu: apt-get install cron), or use `pguard cron install --print --format systemd`.';

export async function readCrontab(): Promise<string> {
  const res = await runCrontab([...userArgs(), '-l']);
  if (res.missing) throw new UserError(NO_CRONTAB);
  if (res.exitCode === 0) return res.stdout.endsWith('\n') || res.stdout === '' ? res.stdout : `${res.stdout}\n`;
  if (/no crontab/i.test(res.stderr)) return '';
  throw new UserError(`crontab -l failed: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
}

export async function writeCrontab(text: string): Promise<void> {
  const res = await runCrontab([...userArgs(), '-'], text);
  if (res.missing) throw new UserError(NO_CRONTAB);
  if (res.exitCode !== 0) throw new UserError(`crontab - refused the new table: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
}
