// Healthy when the command exits 0 within the timeout.
import type { ProbeResult } from '../../core/probes.js';

export async function probeExec(command: string, cwd: string, env: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  // Loaded here, not at the top: the hot commands' bundle leaves execa out until a probe runs.
  const { execa } = await import('execa');
  const res = await execa(command, { shell: '/bin/sh', cwd, env, extendEnv: false, timeout: timeoutMs, reject: false, stdin: 'ignore', all: true });
  const ms = Math.round(performance.now() - t0);
  if (res.timedOut) return { ok: false, detail: `still running after ${timeoutMs / 1000} s`, ms };
  if (res.exitCode === 0) return { ok: true, detail: 'exit 0', ms };
  const tail = (res.all ?? '').trim().split('\n').slice(-1)[0] ?? '';
  return { ok: false, detail: `exit ${res.exitCode ?? res.signal}${tail ? `: ${tail.slice(0, 200)}` : ''}`, ms };
}
