// `pguard dashboard --port 0` for a test registry: started through the built CLI, its address and
// token read from its first line, stopped (SIGINT, as Ctrl-C) at the end of the test.
import { execa, type ResultPromise } from 'execa';
import { afterEach } from 'vitest';
import { CLI } from './run-cli.js';
import type { TmpRegistry } from './tmp-registry.js';
import { waitFor } from './wait-for.js';

export interface RunningDashboard {
  readonly url: string;
  readonly base: string;
  readonly token: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** fetch with the token (unless `auth: false`) */
  api(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
}

const running: ResultPromise[] = [];

export async function startDashboard(t: TmpRegistry, args: string[] = []): Promise<RunningDashboard> {
  const child = execa(process.execPath, [CLI, 'dashboard', '--port', '0', ...args], { cwd: t.dir, env: { ...t.env, NO_COLOR: '1' }, reject: false });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const line = await waitFor(() => /^pguard dashboard: (http:\/\/\S+)\n/.exec(out)?.[1], { timeoutMs: 15_000, what: `the dashboard's first line (stderr: ${err})` });
  const url = new URL(line);
  const token = /^#token=([A-Za-z0-9_-]+)$/.exec(url.hash)![1]!;
  const base = `${url.protocol}//${url.host}`;
  return {
    url: line, base, token, stdout: () => out, stderr: () => err,
    api: (path, init = {}) => {
      const { auth = true, headers, ...rest } = init;
      return fetch(`${base}${path}`, { ...rest, headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string> | undefined) } });
    },
  };
}

afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGINT');
    await child;
  }
});
