// GET the URL; healthy on expect_status (default any 2xx) within the timeout.
import type { ProbeResult } from '../../core/probes.js';

export async function probeHttp(url: string, expectStatus: number | null, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    const ok = expectStatus === null ? res.status >= 200 && res.status < 300 : res.status === expectStatus;
    const want = expectStatus === null ? '2xx' : String(expectStatus);
    return { ok, detail: ok ? `HTTP ${res.status}` : `HTTP ${res.status}, expected ${want}`, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const detail = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.message);
    return { ok: false, detail, ms: Math.round(performance.now() - t0) };
  }
}
