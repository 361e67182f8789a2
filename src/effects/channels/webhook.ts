// POST each alert as JSON. Short timeout, bounded retries: a dead endpoint costs at most
// 3 x 3 s plus 1.25 s of pauses, and runs after any restart, never before it.
import type { OutgoingAlert } from '../../core/alerts.js';

export interface WebhookResult {
  readonly ok: boolean;
  readonly attempts: number;
  readonly detail: string;
}

export async function deliverWebhook(
  url: string,
  alert: OutgoingAlert,
  opts: { timeoutMs?: number; attempts?: number } = {},
): Promise<WebhookResult> {
  const attempts = opts.attempts ?? 3;
  const timeoutMs = opts.timeoutMs ?? 3000;
  let detail = '';
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'pguard' },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect is not followed: the alert body goes to the configured origin or nowhere.
        redirect: 'manual',
      });
      if (res.status >= 300 && res.status < 400) {
        return { ok: false, attempts: i, detail: `HTTP ${res.status} redirect to ${res.headers.get('location') ?? '?'} not followed (set the webhook to the final URL)` };
      }
      if (res.ok) return { ok: true, attempts: i, detail: `HTTP ${res.status}` };
      detail = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) return { ok: false, attempts: i, detail };
    } catch (err) {
      detail = err instanceof Error ? err.message : String(err);
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, 250 * 4 ** (i - 1)));
  }
  return { ok: false, attempts, detail };
}
