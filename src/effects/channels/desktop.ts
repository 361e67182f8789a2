// Desktop notifications through node-notifier; a silent no-op where there is no display.
import type { Alert } from '../../core/alerts.js';

export function hasDisplay(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

export async function deliverDesktop(alert: Alert, env: NodeJS.ProcessEnv, timeoutMs = 5000): Promise<void> {
  if (!hasDisplay(env)) return;
  const { default: notifier } = await import('node-notifier');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    notifier.notify(
      { title: `pguard: ${alert.process} ${alert.kind}`, message: alert.message, wait: false },
      () => { clearTimeout(timer); resolve(); },
    );
  });
}
