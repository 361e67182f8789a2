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
    // Stop asks first, in a dialog the keyboard can use: Escape (or Cancel) stops nothing.
    await row(page, 'web').locator('button[data-action="stop"]').click();
    const dialog = page.locator('dialog#confirm');
    await expect.poll(() => dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
    expect(await page.locator('#confirm-text').textContent()).toMatch(/^Stop web\?/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-cancel');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
    expect((await t.status('web')).status).toBe('running');
    await row(page, 'web').locator('button[data-action="stop"]').click();
    await page.locator('#confirm-ok').click();
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

  it('puts the processes first at 1440 and 390 px, a card each on a phone with its controls reachable without sideways scrolling', async () => {
    const crashing = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const t = tmpRegistry({ 'a-long-process-name': { command: forever }, ...Object.fromEntries(crashing.map((c) => [c, { command: 'sh -c "exit 1"', max_restarts: 0 }])) });
    // Five alerts: they once filled the first screen, and the processes were below the fold.
    await t.cli(['start', ...crashing, '--no-wait']);
    for (const c of crashing) await waitFor(async () => (await t.status(c)).status === 'failed' || null, { what: `${c} to fail` });
    await t.cli(['start', 'a-long-process-name', '--no-wait']);
    const d = await startDashboard(t);
    for (const viewport of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
      const page = await open(d.url, viewport);
      await expect.poll(() => row(page, 'a-long-process-name').getAttribute('data-status')).toBe('running');
      await expect.poll(() => page.locator('div[data-alert-id]').count()).toBe(5);
      expect(await page.locator('#alert-count').textContent()).toBe('5 unacknowledged');
      // The processes are on the first screen, without scrolling: every row at 1440 px, the first cards at 390.
      for (const name of viewport.width > 600 ? ['a-long-process-name', ...crashing] : ['a-long-process-name', 'c1']) {
        const box = (await row(page, name).boundingBox())!;
        expect(box.y + box.height, `${name} at ${viewport.width} px`).toBeLessThanOrEqual(viewport.height);
      }
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      // The summary line counts them.
      expect(await page.locator('#summary').textContent()).toBe('1 running0 down0 waiting5 failed0 stopped');
      const stop = row(page, 'a-long-process-name').locator('button[data-action="stop"]');
      expect(await stop.getAttribute('aria-label')).toBe('Stop a-long-process-name');
      // All three controls inside the width: a tap reaches them without sideways scrolling.
      for (const action of ['start', 'stop', 'restart']) {
        const b = (await row(page, 'a-long-process-name').locator(`button[data-action="${action}"]`).boundingBox())!;
        expect(b.x >= 0 && b.x + b.width <= viewport.width, `${action} at ${viewport.width} px`).toBe(true);
      }
      // Restarts spelled out.
      expect(await row(page, 'a-long-process-name').locator('.c-restarts').textContent()).toBe('0 restarts, 0 of 5 used in the current window');
      await page.close();
    }
  });

  it('draws a real crash and its recovery on the uptime bar, in the right place and colour, live after a kill -9', async () => {
    const t = tmpRegistry({ web: { command: forever, restart_cooldown: 0, ready_after: 0.2 } });
    await t.cli(['start', 'web', '--no-wait']);
    const d = await startDashboard(t);
    const page = await open(d.url, { width: 1440, height: 900 });
    const bar = page.locator('svg[data-timeline="web"]');
    await expect.poll(() => bar.locator('rect[data-state="running"]').count()).toBeGreaterThan(0);
    expect(await bar.locator('line[data-failure-at]').count()).toBe(0);
    const pid = await waitFor(() => t.runs('web').latest?.identity.pid);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    // Live: the failure appears on the open page, without a reload.
    const mark = bar.locator('line[data-failure-at]');
    await expect.poll(() => mark.count(), { timeout: 5000 }).toBe(1);
    const at = Date.parse((await mark.getAttribute('data-failure-at'))!);
    expect(Math.abs(at - killedAt)).toBeLessThan(2000);
    expect(await mark.locator('title').textContent()).toMatch(/killed by SIGKILL; restarted; back (within 10 ms|after \d+ ms)/);
    // In the right place: the mark's x is the kill's share of the window (24 h), as is the down segment.
    const x = Number(await mark.getAttribute('x1'));
    const from = Date.parse((await bar.locator('rect').first().getAttribute('data-from'))!);
    const lastRect = bar.locator('rect').last();
    const to = Date.parse((await lastRect.getAttribute('data-to'))!);
    expect(Math.abs(x - ((at - from) / (to - from)) * 1000)).toBeLessThan(1);
    const down = bar.locator('rect[data-state="down"]');
    expect(await down.count()).toBe(1);
    expect(Math.abs(Date.parse((await down.getAttribute('data-from'))!) - at)).toBeLessThan(50);
    // Colours: running green, down amber; and words on hover, not colour alone.
    expect(await bar.locator('rect[data-state="running"]').last().evaluate((e) => getComputedStyle(e).fill)).toBe('rgb(18, 128, 60)');
    expect(await down.evaluate((e) => getComputedStyle(e).fill)).toBe('rgb(178, 94, 9)');
    expect(await down.locator('title').textContent()).toMatch(/^down: /);
    // Running again after it.
    const runningAfter = await bar.locator('rect[data-state="running"]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-from')));
    expect(runningAfter.some((f) => Date.parse(f!) >= at)).toBe(true);
    // Its history opens next to its row: the big bar, the recovery chart and the failure.
    await row(page, 'web').locator('button[data-view="history"]').click();
    const detail = page.locator('tr.detail');
    await detail.waitFor();
    expect(await page.evaluate(() => document.querySelector('tr.detail')?.previousElementSibling?.getAttribute('data-process'))).toBe('web');
    await expect.poll(() => detail.locator('[data-chart="recovery"]').count()).toBe(1);
    expect(await detail.locator('tr[data-failure] td').nth(1).textContent()).toBe('killed by SIGKILL');
    await page.close();
  });

  it('shows times relative with the ISO time on hover, keeps focus visible, and its text and states at AA contrast', async () => {
    const t = tmpRegistry({ crashy: { command: 'sh -c "exit 1"', max_restarts: 0 }, web: { command: forever } });
    await t.cli(['start', 'crashy', 'web', '--no-wait']);
    await waitFor(async () => (await t.status('crashy')).status === 'failed' || null);
    const d = await startDashboard(t);
    const page = await open(d.url, { width: 1440, height: 900 });
    await page.locator('#alerts-toggle').click();
    const time = page.locator('[data-alert-id] time').first();
    await time.waitFor();
    expect(await time.textContent()).toMatch(/^(just now|\d+ s ago)$/);
    expect(await time.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => { const e = document.activeElement as HTMLElement; return getComputedStyle(e).outlineStyle; })).not.toBe('none');
    // WCAG contrast of each status badge and the muted text against what is behind them.
    const ratios = await page.evaluate(() => {
      const lum = (c: string) => {
        const [r, g, b] = (c.match(/\d+/g) ?? []).slice(0, 3).map(Number).map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const ratio = (a: string, b: string) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x! + 0.05) / (y! + 0.05); };
      const out: Record<string, number> = {};
      for (const e of document.querySelectorAll<HTMLElement>('.status, .sev')) out[e.className] = ratio(getComputedStyle(e).color, getComputedStyle(e).backgroundColor);
      const muted = document.querySelector<HTMLElement>('.muted')!;
      out.muted = ratio(getComputedStyle(muted).color, 'rgb(255, 255, 255)');
      return out;
    });
    for (const [what, r] of Object.entries(ratios)) expect(r, what).toBeGreaterThanOrEqual(4.5);
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
    // PGUARD_UPDATE_SCREENSHOT=1 npm test refreshes the README's pictures from this run: the desktop
    // with flaky's history open beside its row, and the phone.
    for (const [viewport, name] of [[{ width: 1440, height: 900 }, 'dashboard.png'], [{ width: 390, height: 844 }, 'dashboard-phone.png']] as const) {
      const shot = await open(dd.url, viewport);
      await expect.poll(() => row(shot, 'flaky').getAttribute('data-status')).toBe('failed');
      await expect.poll(() => shot.locator('svg[data-timeline="flaky"] line[data-failure-at]').count()).toBeGreaterThan(0);
      if (viewport.width > 600) {
        await shot.locator('button[data-view="history"][data-process="flaky"]').click();
        await shot.locator('#history tr[data-failure]').first().waitFor();
        // Gave up: no recovery time to show.
        expect(await shot.locator('#history tr[data-failure]').first().locator('td').nth(3).textContent()).toBe('not restarted');
      }
      const file = join(u.dir, name);
      await shot.screenshot({ path: file, fullPage: viewport.width > 600 });
      if (process.env.PGUARD_UPDATE_SCREENSHOT === '1') {
        const docs = new URL('../../docs/', import.meta.url).pathname;
        mkdirSync(docs, { recursive: true });
        copyFileSync(file, join(docs, name));
      }
      await shot.close();
    }
  });
});
