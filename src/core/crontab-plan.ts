// Planning crontab changes as text -> text: every line that is not ours stays byte for byte.
// Ours carry a trailing marker "# pguard:<id>" naming the registry they serve.

export function markerFor(id: string): string {
  return `# pguard:${id}`;
}

function isOurs(line: string, id: string): boolean {
  return line.trimEnd().endsWith(markerFor(id));
}

/** Our lines currently in the crontab. */
export function findOurLines(crontab: string, id: string): string[] {
  return crontab.split('\n').filter((l) => isOurs(l, id));
}

/** Replace our lines with `lines` (none: uninstall). Idempotent. */
export function planCrontab(crontab: string, id: string, lines: readonly string[]): string {
  const kept = crontab === '' ? [] : crontab.replace(/\n$/, '').split('\n').filter((l) => !isOurs(l, id));
  const all = [...kept, ...lines.map((l) => `${l} ${markerFor(id)}`)];
  return all.length === 0 ? '' : `${all.join('\n')}\n`;
}

/** "every N minutes" as a cron schedule; N from 1 to 60. */
export function scheduleEvery(minutes: number): string | null {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) return null;
  return minutes === 60 ? '0 * * * *' : minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
}

/** Quote for a POSIX shell (cron runs its lines through /bin/sh). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One argument of a crontab command: quoted for the shell, and every `%` escaped, since cron turns
 * an unescaped `%` into a newline (the rest of the line becomes stdin) whatever the quoting; cron
 * removes the backslash before the shell sees it.
 */
export function cronArg(s: string): string {
  return shellQuote(s).replace(/%/g, '\\%');
}

/** One argument of a systemd unit's ExecStart: double-quoted, and `%` doubled (specifiers). */
export function systemdArg(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/** Text in an XML document (a launchd plist, a scheduled task). */
export function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The first control character (a newline, say) in a path bound for a crontab line, a unit file or a shell. */
export function findControlCharacter(s: string): string | null {
  const m = /[\u0000-\u001f\u007f]/.exec(s);
  return m ? m[0] : null;
}
