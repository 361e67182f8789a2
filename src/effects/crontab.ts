// The user's crontab, through the real `crontab` command: `crontab -l` to read, `crontab -` to write.
import { execa } from 'execa';
import { UserError } from '../errors.js';

export async function readCrontab(): Promise<string> {
  let res;
  try {
    res = await execa('crontab', ['-l'], { reject: false, timeout: 10_000 });
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
  const res = await execa('crontab', ['-'], { input: text, reject: false, timeout: 10_000 });
  if (res.exitCode !== 0) throw new UserError(`crontab - refused the new table: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
}
