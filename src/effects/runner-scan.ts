// A process's runner, as /proc shows it: whether the runner beside a live run is alive (one read of
// the run's /proc/PID/stat while its runner is its parent), and, without its record (state.json
// lost or unreadable), the live `/bin/sh pguard-runner.sh` whose environment names this process's
// folder (one pass over /proc, only on that repair path).
import { readdirSync, readFileSync } from 'node:fs';
import type { Identity } from '../core/record.js';
import { isOurs, readCommandLine, readIdentity, readIdentityAndParent } from './identity.js';
import { RUNNER_ENV } from './runner-protocol.js';
import { RUNNER_PATH } from './spawn.js';

/**
 * Is the recorded run alive (same PID, start time and boot), and a runner beside it? A runner
 * forks its runs, so while it lives it is their parent: the run's one /proc/PID/stat read answers
 * both. Otherwise (an adopted run, whose runner is not its parent; or its runner died, and it was
 * reparented) the recorded runner is looked at too, and then the run's parent, in case it is a
 * runner the record does not name (a record rebuilt without it): never adopted a second time.
 */
export function lookAtRun(run: Identity, runner: Identity | null): { processAlive: boolean; runnerAlive: boolean } {
  const live = run.pid > 1 ? readIdentityAndParent(run.pid) : null;
  if (!live || live.identity.startTime !== run.startTime || live.identity.bootId !== run.bootId) {
    return { processAlive: false, runnerAlive: isOurs(runner) };
  }
  if (runner !== null && live.ppid === runner.pid) return { processAlive: true, runnerAlive: true };
  const runnerAlive = isOurs(runner) || (live.ppid !== null && live.ppid > 1 && isRunnerProcess(live.ppid));
  return { processAlive: true, runnerAlive };
}

/** A pguard runner (any install's): `/bin/sh .../pguard-runner.sh`. */
function isRunnerProcess(pid: number): boolean {
  return /(^|\/)pguard-runner\.sh$/.test(readCommandLine(pid)?.[1] ?? '');
}

export function findRunner(procDir: string): Identity | null {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((f) => /^\d+$/.test(f)).map(Number);
  } catch {
    return null; // no /proc: nothing to scan
  }
  const wanted = `${RUNNER_ENV.procDir}=${procDir}`;
  for (const pid of pids) {
    const argv = readCommandLine(pid);
    if (!argv || argv[1] !== RUNNER_PATH) continue;
    let environ: string[];
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!environ.includes(wanted)) continue;
    const id = readIdentity(pid);
    if (id) return id;
  }
  return null;
}
