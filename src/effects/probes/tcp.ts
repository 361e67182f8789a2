// Healthy when a TCP connection is accepted within the timeout.
import { net } from '../lazy-builtins.js';
import type { ProbeResult } from '../../core/probes.js';

export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = net().connect({ host, port });
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ ok, detail, ms: Math.round(performance.now() - t0) });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no connection within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(true, 'connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}
