// Surviving the session. setsid leaves the login session's cgroup as it was: where logind kills a
// user's processes at logout (KillUserProcesses=yes, the upstream default) or an agent sandbox tears
// its scope down, everything started in it dies with it. Where a systemd user manager runs, the
// runner starts in a transient scope of its own (`systemd-run --user --scope`), which outlives the
// session; elsewhere setsid is what there is. PGUARD_SESSION=setsid turns the scope off.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { sha256 } from './hash.js';
import { which } from './which.js';

export type SessionMode = 'systemd-user-scope' | 'setsid';

export interface Session {
  readonly mode: SessionMode;
  /** The systemd-run found on PATH, in systemd-user-scope mode. */
  readonly systemdRun: string | null;
}

export function detectSession(env: NodeJS.ProcessEnv): Session {
  if (env.PGUARD_SESSION === 'setsid') return { mode: 'setsid', systemdRun: null };
  // The user manager's private socket: present while `systemd --user` runs for this user.
  const manager = env.XDG_RUNTIME_DIR ? existsSync(join(env.XDG_RUNTIME_DIR, 'systemd', 'private')) : false;
  const systemdRun = manager ? which('systemd-run', env) : null;
  return systemdRun ? { mode: 'systemd-user-scope', systemdRun } : { mode: 'setsid', systemdRun: null };
}

/** Whether the user's manager outlives their last session (`loginctl enable-linger`); null without systemd. */
export function lingerEnabled(): boolean | null {
  if (!existsSync('/run/systemd/system') && !existsSync('/var/lib/systemd')) return null;
  return existsSync(join('/var/lib/systemd/linger', userInfo().username));
}

/** The program and arguments that start the runner in this session mode. */
export function runnerCommand(session: Session, runnerPath: string, unit: { procDir: string; name: string; epoch: number }): { file: string; args: string[] } {
  if (session.mode === 'setsid' || !session.systemdRun) return { file: '/bin/sh', args: [runnerPath] };
  const scope = `pguard-${sha256(unit.procDir).slice(0, 8)}-${unit.name}-${unit.epoch}`;
  return {
    file: session.systemdRun,
    // --scope: systemd-run execs the runner itself (same PID), in a new transient scope unit.
    args: ['--user', '--scope', '--collect', '--quiet', `--unit=${scope}`, '--', '/bin/sh', runnerPath],
  };
}
