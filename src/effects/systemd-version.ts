// The systemd on this machine, for `pguard export systemd` (RestartSteps= needs 254).
import { childProcess } from './lazy-builtins.js';

/** `systemctl --version`'s number, else 252 (Debian 12's) where there is no systemctl. */
export function machineSystemdVersion(): number {
  try {
    const m = /systemd (\d+)/.exec(childProcess().execFileSync('systemctl', ['--version'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] }));
    return m ? Number(m[1]) : 252;
  } catch {
    return 252;
  }
}
