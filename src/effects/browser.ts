// Opening the dashboard in the user's browser without putting its token on any command line (every
// user can read /proc/PID/cmdline): the opener gets the path of a hand-over page instead, 0600 in the
// private state folder, which sends the browser on to the address with the token in its fragment.
// The page is removed once the dashboard sees its token (the browser has it), and when it stops.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

export interface Opened {
  /** Remove the hand-over page (idempotent). */
  readonly remove: () => void;
}

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Write the hand-over page for URL (which carries the token) in STATE_DIR and ask the system to open it. */
export function openInBrowser(stateDir: string, url: string, port: number, onError: (message: string) => void): Opened {
  const file = join(stateDir, `dashboard-${port}.html`);
  writeFileAtomic(file, [
    '<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">',
    `<meta http-equiv="refresh" content="0; url=${html(url)}"><title>pguard dashboard</title></head>`,
    `<body><script>location.replace(${JSON.stringify(url).replace(/</g, '\\u003c')})</script>`,
    `<p>Opening <a href="${html(url)}">the pguard dashboard</a>...</p></body></html>`,
    '',
  ].join('\n'), 0o600, { durable: false });
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  // One argument, never through a shell, and no secret in it.
  const child = spawn(opener, [file], { stdio: 'ignore', detached: true });
  child.on('error', () => onError(`could not open a browser (${opener} not found); open the address above.`));
  child.unref();
  return { remove: () => rmSync(file, { force: true }) };
}
