// The dashboard in a real browser: Debian's Chromium driven by playwright-core (which downloads no
// browser of its own). Skipped, saying so, where /usr/bin/chromium is missing (.ci/run installs it).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { APPS } from '../helpers/run-cli.js';
import { startDashboard } from '../helpers/dashboard.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const CHROMIUM = process.env.PGUARD_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`dashboard browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set PGUARD_CHROMIUM)`);
const forever = `sh ${APPS}forever.sh`;

let browser: Browser;
beforeAll(async () => {
  if (!hasChromium) return;
  const { chromium } = await import('playwright-core');
  // The flags a closed network needs (no background fetches), as root (no sandbox), a fresh profile.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => { await browser?.close(); });

async function open(url: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (err) => { throw err; });
  await page.goto(url);
  // Settled: the first status, alerts and meta are drawn (each redraws the rows once) and the
  // event stream is open; a row is not replaced under a click after this but by a change.
  await page.locator('#live', { hasText: 'live' }).waitFor();
  await page.waitForFunction(() => (document.getElementById('registry')?.textContent ?? '') !== '');
  return page;
}
const row = (page: Page, name: string) => page.locator(`tr[data-process="${name}"]`);

describe.skipIf(!hasChromium)('pguard dashboard in Chromium', () => {
  it('shows every process with its status once loaded with the token, and keeps the token out of the address bar', async () => {
    const t = tmpRegistry({ web: { command: forever }, job: { command: 'sleep 0.3', duration_min: 0.004 }, idle: { command: forever } });
    await t.cli(['start', 'web', 'job', '--no-wait']);
    await waitFor(async () => (await t.status('job')).status === 'completed' || null, { what: 'job to complete' });
    const d = await startDashboard(t);
    const page = await open(d.url);
    await expect.poll(() => page.locator('tr[data-process]').count()).toBe(3);
    expect(await row(page, 'web').getAttribute('data-status')).toBe('running');
    expect(await row(page, 'job').getAttribute('data-status')).toBe('completed');
    expect(await row(page, 'idle').getAttribute('data-status')).toBe('never-started');
    expect(await row(page, 'web').locator('.status').textContent()).toBe('running');
    expect(page.url()).not.toContain('token');
    await page.close();
  });

  it('turns a row grey within 2 s of a stop made from the CLI, without a reload', async () => {
    const t = tmpRegistry({ web: { command: forever } });
    await t.cli(['start', 'web', '--no-wait']);
    const d = await startDashboard(t);
    const page = await open(d.url);
    await expect.poll(() => row(page, 'web').getAttribute('data-status')).toBe('running');
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });
    await t.cli(['stop', 'web']);
    const stoppedAt = Date.now();
    await expect.poll(() => row(page, 'web').getAttribute('data-status'), { timeout: 2000 }).toBe('stopped');
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1); // the same page: no reload
    // (Polled: each update redraws the rows, and a redrawn row's old cells have no style.)
    await expect.poll(() => row(page, 'web').locator('.status').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(102, 112, 133)'); // grey
    await page.close();
  });

  it('starts and stops the real process from its buttons', async () => {
    const t = tmpRegistry({ web: { command: forever } });
    const d = await startDashboard(t);
    const page = await open(d.url);
    await row(page, 'web').locator('button[data-action="start"]').click();
    await waitFor(async () => (await t.status('web')).status === 'running' || null, { what: 'web to run' });
    await expect.poll(() => row(page, 'web').getAttribute('data-status')).toBe('running');
    const pid = (await t.status('web')).pid as number;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await row(page, 'web').locator('button[data-action="stop"]').click();
    await expect.poll(() => row(page, 'web').getAttribute('data-status')).toBe('stopped');
    expect((await t.status('web')).status).toBe('stopped');
    await waitFor(() => { try { process.kill(pid, 0); return null; } catch { return true; } }, { what: 'the process to be gone' });
    await page.close();
  });

  it('turns a crash loop that gives up red, shows its alert, and acknowledging it removes the alert flag', async () => {
    const t = tmpRegistry({ crashy: { command: 'sh -c "echo dying; exit 1"', max_restarts: 1, restart_cooldown: 0 } });
    const d = await startDashboard(t);
    const page = await open(d.url);
    await expect.poll(() => row(page, 'crashy').getAttribute('data-status')).toBe('never-started');
    await t.cli(['start', 'crashy', '--no-wait']);
    await expect.poll(() => row(page, 'crashy').getAttribute('data-status'), { timeout: 10_000 }).toBe('failed');
    await expect.poll(() => row(page, 'crashy').locator('.status').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(196, 39, 27)'); // red
    const alert = page.locator('[data-alert-id][data-kind="failed"]');
    await expect.poll(() => alert.count(), { timeout: 5000 }).toBe(1);
    expect(await alert.textContent()).toContain('gave up after 1 restart');
    const flag = join(t.stateDir, 'alert.flag');
    expect(existsSync(flag)).toBe(true);
    await page.locator('button[data-action="ack"][data-all="true"]').click();
    await waitFor(() => !existsSync(flag) || null, { timeoutMs: 5000, what: 'the alert flag to go' });
    await expect.poll(() => page.locator('[data-alert-id]').count()).toBe(0);
    await page.close();
  });

  it('fits a phone-width window: every control reachable, nothing but the table scrolls sideways', async () => {
    const t = tmpRegistry({ 'a-long-process-name': { command: forever } });
    const d = await startDashboard(t);
    const page = await open(d.url, { width: 390, height: 800 });
    await expect.poll(() => row(page, 'a-long-process-name').count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const start = row(page, 'a-long-process-name').locator('button[data-action="start"]');
    expect(await start.getAttribute('aria-label')).toBe('Start a-long-process-name');
    // The rows are redrawn when a late answer (meta) arrives: a button caught mid-redraw is detached,
    // and the scroll is tried again on the row drawn in its place.
    await expect.poll(async () => {
      try { await start.scrollIntoViewIfNeeded({ timeout: 2000 }); return await start.isVisible(); } catch { return false; }
    }).toBe(true);
    await page.close();
  });

  it('shows 100 processes (how fast: bench/dashboard.mjs measures it), and takes the README screenshot of the demo', async () => {
    const entries: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) entries[`p${String(i).padStart(3, '0')}`] = { command: 'true' };
    const t = tmpRegistry(entries);
    const d = await startDashboard(t);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const t0 = Date.now();
    await page.goto(d.url);
    await page.locator('tr[data-process="p099"]').waitFor();
    const ms = Date.now() - t0;
    console.log(`dashboard: 100 rows shown ${ms} ms after navigation`); // a figure, not an assertion (bench/ measures it)
    await page.close();

    // The demo registry, as `npm run demo` runs it: one steady process and one flaky one that gives up.
    const demo = JSON.parse(readFileSync(new URL('../../templates/demo.registry.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    delete demo.$schema;
    const u = tmpRegistry(demo);
    await u.cli(['start', '--all', '--no-wait']);
    await waitFor(async () => (await u.status('flaky')).status === 'failed' || null, { timeoutMs: 30_000, what: 'flaky to give up' });
    const dd = await startDashboard(u);
    const shot = await open(dd.url);
    await expect.poll(() => row(shot, 'flaky').getAttribute('data-status')).toBe('failed');
    await shot.locator('button[data-view="history"][data-process="flaky"]').click();
    await shot.locator('#history tr[data-failure]').first().waitFor();
    const file = join(u.dir, 'dashboard.png');
    await shot.screenshot({ path: file, fullPage: true });
    // PGUARD_UPDATE_SCREENSHOT=1 npm test refreshes the README's picture from this run.
    if (process.env.PGUARD_UPDATE_SCREENSHOT === '1') {
      const docs = new URL('../../docs/', import.meta.url).pathname;
      mkdirSync(docs, { recursive: true });
      copyFileSync(file, join(docs, 'dashboard.png'));
    }
    await shot.close();
  });
});
