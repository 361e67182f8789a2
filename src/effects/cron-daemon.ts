// Is a cron daemon running? A crontab line does nothing without one (containers and fresh VMs
// often have the crontab command but no daemon). Linux: a process named as a cron daemon is
// found in /proc; elsewhere pguard cannot tell (null).
import { readdirSync, readFileSync } from 'node:fs';

/** Process names (/proc/PID/comm) of the cron daemons users run: Debian's cron, cronie's crond, busybox crond, fcron, dcron. */
const DAEMONS = new Set(['cron', 'crond', 'fcron', 'dcron', 'cronie', 'busybox-crond']);

export function cronDaemonRunning(procRoot = '/proc'): boolean | null {
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      if (DAEMONS.has(readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim())) return true;
    } catch { /* gone since the listing */ }
  }
  return false;
}

/** What to tell the user when none runs (and, with @reboot lines, that it must start at boot too). */
export function describeNoDaemon(boot: boolean): string {
  return `no cron daemon is running, so the crontab line${boot ? 's (@reboot included)' : ''} will not run. Start one: \`service cron start\` (Debian/Ubuntu; \`crond\` elsewhere), or \`systemctl enable --now cron\`${boot ? ', which also starts it at boot' : ''}.`;
}
