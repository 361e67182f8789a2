// Windows' Task Scheduler through schtasks.exe: /Create /XML, /Delete, /Query /XML. Run by its
// absolute path (%SystemRoot%\System32\schtasks.exe), never through a shell, so no folder on PATH
// and no cmd.exe quoting comes between pguard and it. The runner is a parameter: tests pass a
// fake (Wine's schtasks accepts XML and runs nothing, so it proves little).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, win32 } from 'node:path';
import { UserError } from '../errors.js';
import { childProcess } from './lazy-builtins.js';

export interface SchtasksResult {
  /** Exit code; null when it was killed (timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs schtasks.exe with these arguments. */
export type SchtasksRunner = (args: readonly string[]) => Promise<SchtasksResult>;

/** The three things pguard asks of Task Scheduler. */
export interface TaskScheduler {
  /** The task's XML as Task Scheduler holds it, or null when there is none of that name. */
  readTask(name: string): Promise<string | null>;
  /** Create the task, or replace one of that name (/F), from its XML. */
  writeTask(name: string, xml: string): Promise<void>;
  deleteTask(name: string): Promise<void>;
}

/** %SystemRoot%\System32\schtasks.exe; C:\Windows when SystemRoot is unset or not a drive path. */
export function schtasksPath(env: NodeJS.ProcessEnv): string {
  const root = env.SystemRoot ?? env.SYSTEMROOT;
  return win32.join(root && /^[A-Za-z]:\\/.test(root) ? root : 'C:\\Windows', 'System32', 'schtasks.exe');
}

/**
 * schtasks writes to a pipe in the console's code page, or UTF-16 when so set; /Query /XML's
 * text declares UTF-16 whatever the bytes are. A BOM or a NUL in the second byte means UTF-16
 * LE; else UTF-8 if it is valid UTF-8; else Latin-1 (an ANSI code page shown as near as can be).
 */
export function decodeOutput(buf: Buffer): string {
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || buf[1] === 0)) {
    const text = buf.toString('utf16le');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return buf.toString('latin1');
  }
}

/** The real runner: execFile of schtasks.exe, no shell, no window, 30 s at most. */
export function realSchtasksRunner(env: NodeJS.ProcessEnv = process.env): SchtasksRunner {
  const exe = schtasksPath(env);
  return (args) => new Promise((done, fail) => {
    childProcess().execFile(exe, [...args], { windowsHide: true, timeout: 30_000, encoding: 'buffer', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code: unknown = (err as { code?: unknown } | null)?.code;
      if (code === 'ENOENT') {
        fail(new UserError(`${exe}: no such program, so pguard cannot reach Task Scheduler. Check that SystemRoot names your Windows folder (it is ${JSON.stringify(env.SystemRoot ?? '')}).`));
        return;
      }
      if (typeof code === 'string') {
        fail(new UserError(`${exe} could not be run: ${err!.message}`));
        return;
      }
      // A number: its exit code; none with an error: killed at the timeout.
      done({ code: err ? (typeof code === 'number' ? code : null) : 0, stdout: decodeOutput(stdout), stderr: decodeOutput(stderr) });
    });
  });
}

const UTF16_BOM = Buffer.from([0xff, 0xfe]);

function describeFailure(what: string, res: SchtasksResult): string {
  const said = (res.stderr.trim() || res.stdout.trim()).replace(/\s+/g, ' ').replace(/[.\s]+$/, '');
  return `schtasks ${what} failed (${res.code === null ? 'timed out' : `exit ${res.code}`})${said ? `: ${said}` : ''}`;
}

/**
 * Task Scheduler through `run`. The XML goes to a file in a folder made for it (mkdtemp) inside
 * `tempDir` (the state directory: private, already checked), in UTF-16 LE with a BOM, which is
 * what schtasks /XML reads; the folder is removed once schtasks is done with it.
 */
export function schtasksScheduler(opts: { run?: SchtasksRunner; tempDir: string }): TaskScheduler {
  const run = opts.run ?? realSchtasksRunner();
  return {
    async readTask(name) {
      const res = await run(['/Query', '/TN', name, '/XML']);
      // Any failure reads as "no such task": its wording is localised, its exit code always 1.
      return res.code === 0 && res.stdout.trim() !== '' ? res.stdout : null;
    },
    async writeTask(name, xml) {
      const dir = mkdtempSync(join(opts.tempDir, 'schtasks-'));
      try {
        const file = join(dir, 'task.xml');
        writeFileSync(file, Buffer.concat([UTF16_BOM, Buffer.from(xml, 'utf16le')]), { mode: 0o600, flag: 'wx' });
        const res = await run(['/Create', '/TN', name, '/XML', file, '/F']);
        if (res.code !== 0) throw new UserError(`${describeFailure(`/Create /TN ${name}`, res)}. Run \`pguard cron install --print --format schtasks\` to see the task.`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async deleteTask(name) {
      const res = await run(['/Delete', '/TN', name, '/F']);
      if (res.code !== 0) throw new UserError(`${describeFailure(`/Delete /TN ${name}`, res)}.`);
    },
  };
}

/** Task Scheduler where it is the scheduler (Windows); null elsewhere (the crontab). */
export function platformTaskScheduler(tempDir: string): TaskScheduler | null {
  return process.platform === 'win32' ? schtasksScheduler({ tempDir }) : null;
}
