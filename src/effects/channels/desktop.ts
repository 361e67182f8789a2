// Desktop notifications through node-notifier; skipped where there is no display (not a failure).
export function hasDisplay(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

export async function deliverDesktop(title: string, message: string, env: NodeJS.ProcessEnv, timeoutMs = 5000): Promise<{ ok: boolean; detail: string; skipped?: true }> {
  if (!hasDisplay(env)) return { ok: false, detail: 'skipped: no display', skipped: true };
  const { default: notifier } = await import('node-notifier');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
    notifier.notify(
      { title: `pguard: ${title}`, message, wait: false },
      (err) => { clearTimeout(timer); resolve(err ? { ok: false, detail: err.message } : { ok: true, detail: 'shown' }); },
    );
  });
}
