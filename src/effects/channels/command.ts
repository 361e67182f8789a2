// $settings.notify_command: run through the shell with the alert as JSON on stdin, bounded in time.
import type { OutgoingAlert } from '../../core/alerts.js';

export async function deliverCommand(command: string, alert: OutgoingAlert, cwd: string, timeoutMs = 10_000): Promise<{ ok: boolean; detail: string }> {
  const { execa } = await import('execa'); // loaded when a command channel runs (cli/hot.ts)
  const result = await execa(command, {
    shell: '/bin/sh',
    input: `${JSON.stringify(alert)}\n`,
    cwd,
    timeout: timeoutMs,
    reject: false,
    env: { PGUARD_ALERT_PROCESS: alert.process, PGUARD_ALERT_KIND: alert.kind },
  });
  if (result.failed) return { ok: false, detail: result.shortMessage ?? `exit ${result.exitCode}` };
  return { ok: true, detail: 'ok' };
}
