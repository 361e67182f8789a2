// Finding a process's runner without its record (state.json lost or unreadable): the live
// `/bin/sh pguard-runner.sh` whose environment names this process's folder. One pass over /proc,
// only on that repair path.
import { readdirSync, readFileSync } from 'node:fs';
import type { Identity } from '../core/record.js';
import { readCommandLine, readIdentity } from './identity.js';
import { RUNNER_ENV } from './runner-protocol.js';
import { RUNNER_PATH } from './spawn.js';

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
