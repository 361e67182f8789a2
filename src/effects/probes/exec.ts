// Healthy when the command exits 0 within the timeout. A process with `user` is probed as that
// user (setpriv, as its runner starts it), with the environment the process gets.
import type { ProbeResult } from '../../core/probes.js';
import { setprivArgs, type RunAs } from '../run-as.js';

export async function probeExec(command: string, cwd: string, env: Record<string, string>, timeoutMs: number, runAs: RunAs | null = null): Promise<ProbeResult> {
  const t0 = performance.now();
  // Loaded here, not at the top: the hot commands' bundle leaves execa out until a probe runs.
  const { execa } = await import('execa');
  const opts = { cwd, env, extendEnv: false, timeout: timeoutMs, reject: false, stdin: 'ignore', all: true } as const;
  const res = runAs
    ? await execa(runAs.setpriv, [...setprivArgs(runAs), '/bin/sh', '-c', command], opts)
    : await execa(command, { ...opts, shell: '/bin/sh' });
  const ms = Math.round(performance.now() - t0);
  if (res.timedOut) return { ok: false, detail: `still running after ${timeoutMs / 1000} s`, ms };
  if (res.exitCode === 0) return { ok: true, detail: 'exit 0', ms };
  const tail = (res.all ?? '').trim().split('\n').slice(-1)[0] ?? '';
  return { ok: false, detail: `exit ${res.exitCode ?? res.signal}${tail ? `: ${tail.slice(0, 200)}` : ''}`, ms };
}
