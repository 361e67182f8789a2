// The user's crontab, through the real `crontab` command: `crontab -l` to read, `crontab -` to write.
// PGUARD_CRONTAB_USER=NAME (root only, as `crontab -u`) works on that user's table instead: root
// installing the backstop of a service account, and the tests, which never touch their own.
import { UserError } from '../errors.js';

function userArgs(): string[] {
  const user = process.env.PGUARD_CRONTAB_USER;
  if (!user) return [];
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(user)) throw new UserError(`PGUARD_CRONTAB_USER: expected a user name, got ${JSON.stringify(user)}.`, 2);
  return ['-u', user];
}

export async function readCrontab(): Promise<string> {
  let res;
  try {
    const { execa } = await import('execa');
    res = await execa('crontab', [...userArgs(), '-l'], { reject: false, timeout: 10_000 });
  } catch {
    throw new UserError('the `crontab` command is not available. Install cron (Debian/Ubuntu: apt-get install cron), or use `pguard cron install --print --format systemd`.');
  }
  if (res.exitCode === 0) return res.stdout.endsWith('\n') || res.stdout === '' ? res.stdout : `${res.stdout}\n`;
  if (/no crontab/i.test(res.stderr)) return '';
  if ((res as { code?: string }).code === 'ENOENT' || res.exitCode === undefined) {
    throw new UserError('the `crontab` command is not available. Install cron (Debian/Ubuntu: apt-get install cron), or use `pguard cron install --print --format systemd`.');
  }
  throw new UserError(`crontab -l failed: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
}

export async function writeCrontab(text: string): Promise<void> {
  const { execa } = await import('execa');
  const res = await execa('crontab', [...userArgs(), '-'], { input: text, reject: false, timeout: 10_000 });
  if (res.exitCode !== 0) throw new UserError(`crontab - refused the new table: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
}
