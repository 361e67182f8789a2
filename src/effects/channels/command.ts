// $settings.notify_command: run through the shell with the alert as JSON on stdin, bounded in time.
// What it answers never holds the command's text: a command line may carry a token or a password.

/** The JSON it reads: the alert (or a digest's or a test's message), with its process and kind at least. */
export interface CommandPayload { readonly process: string; readonly kind: string }

export async function deliverCommand(command: string, alert: CommandPayload, cwd: string, timeoutMs = 10_000): Promise<{ ok: boolean; detail: string }> {
  const { execa } = await import('execa'); // loaded when a command channel runs (cli/hot.ts)
  const result = await execa(command, {
    shell: '/bin/sh',
    input: `${JSON.stringify(alert)}\n`,
    cwd,
    timeout: timeoutMs,
    reject: false,
    env: { PGUARD_ALERT_PROCESS: alert.process, PGUARD_ALERT_KIND: alert.kind },
  });
  if (!result.failed) return { ok: true, detail: 'ok' };
  // execa's shortMessage begins with the command line: worded here from its fields instead.
  if (result.timedOut) return { ok: false, detail: `no exit within ${timeoutMs / 1000} s (ended)` };
  if (result.signal) return { ok: false, detail: `killed by ${result.signal}` };
  if (typeof result.exitCode === 'number') return { ok: false, detail: `exit code ${result.exitCode}` };
  const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
  return { ok: false, detail: `could not run${code ? ` (${code})` : ''}` };
}
