// The pages in a real browser: Debian's chromium driven by playwright-core against a real master and builder on
// loopback. The matrix, a hostile log that must stay inert, the pages with JavaScript off, a live update, and a
// screenshot of each page in light and dark under test/artifacts/ (not committed).
// Chromium is installed by .ci/run; on a machine without it this suite says so and is left out, but never in CI.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, ROOT, startBuilder, startMaster, suggest, waitFor, type Master } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE = existsSync(CHROMIUM);
if (!HAVE && process.env.CI) throw new Error(`the browser tests need ${CHROMIUM}; .ci/run installs it`);
if (!HAVE) console.warn(`browser tests left out: no ${CHROMIUM} (apt-get install -y chromium; CI runs them)`);
const ARTIFACTS = join(ROOT, 'test', 'artifacts');

describe.runIf(HAVE)('the pages in chromium', () => {
  let browser: Browser;
  let m: Master;
  let hostileId = '';
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    m = await startMaster();
    // A log with markup, a screen clear, an OSC 52 clipboard write, a bidi override, and colour.
    const hostile = String.raw`printf '<script>alert(1)</script></pre><img src=x onerror=alert(2)>\n\033[2Jcleared\033]52;c;ZXZpbA==\007\n\342\200\256evil\n\033[31mred\033[0m\n'; exit 1`;
    await startBuilder(m.port, { name: 'b1', scripts: { good: 'echo fine', hostile } });
    expect((await suggest(m.port, ['good', 'main', '--wait'])).code).toBe(0);
    expect((await suggest(m.port, ['hostile', 'main', '--wait'])).code).toBe(1);
    hostileId = (await waitFor('the hostile report', () => m.reports().find((r) => r.project === 'hostile'))).id as string;
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await cleanup();
  });

  it('shows the matrix with a failing and a passing cell, failing first', async () => {
    const page = await browser.newPage();
    await page.goto(`${m.httpUrl!}/`, { timeout: 10_000 });
    const rows = await page.locator('table.matrix tbody tr').allInnerTexts();
    expect(rows[0]).toMatch(/^hostile\s+failing[\s\S]*failure/);
    expect(rows[1]).toMatch(/^good[\s\S]*success/);
    await page.close();
  });

  it('renders a hostile log as inert text: no script runs, nothing is injected, the colour stays', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await page.goto(`${m.httpUrl!}/b/${hostileId}/b1`, { timeout: 10_000 });
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    const log = await page.locator('pre').first().innerText();
    expect(log).toContain('<script>alert(1)</script></pre><img src=x onerror=alert(2)>');
    expect(log).toContain('cleared');
    expect(log).not.toContain('ZXZpbA=='); // an OSC string is dropped, as a terminal hides it
    expect(await page.locator('pre img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1); // the page's own live.js only
    expect(await page.locator('pre span[id="L4"]').count()).toBe(1);
    // The red is drawn: the word sits in a coloured span whose colour differs from the plain text's.
    const red = page.locator('pre span[id="L4"] span', { hasText: 'red' });
    expect(await red.count()).toBe(1);
    const [shade, plain] = await Promise.all([red.evaluate((e) => getComputedStyle(e).color), page.locator('pre span[id="L2"]').evaluate((e) => getComputedStyle(e).color)]);
    expect(shade).not.toBe(plain);
    await page.close();
  });

  it('works with JavaScript off: every page shows its data as served', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    for (const [path, text] of [['/', 'hostile'], ['/builders', 'b1'], ['/suggestions', 'good'], [`/b/${hostileId}/b1`, 'cleared'], ['/p/good', 'success']] as const) {
      await page.goto(`${m.httpUrl!}${path}`, { timeout: 10_000 });
      expect(await page.locator('main').innerText(), path).toContain(text);
    }
    await context.close();
  });

  it('brings a new build onto an open project page without a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${m.httpUrl!}/p/good`, { timeout: 10_000 });
    const before = await page.locator('main').innerText();
    expect(before).not.toContain('second');
    await page.waitForTimeout(300); // the event stream is open
    expect((await suggest(m.port, ['good', 'second', '--wait'])).code).toBe(0);
    await page.locator('main', { hasText: 'second' }).waitFor({ timeout: 5000 });
    await page.close();
  });

  it('saves a screenshot of each page in light and dark under test/artifacts/', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1200, height: 800 } });
      const page = await context.newPage();
      for (const [name, path] of [['matrix', '/'], ['builders', '/builders'], ['suggestions', '/suggestions'], ['build', `/b/${hostileId}/b1`], ['project', '/p/good']] as const) {
        await page.goto(`${m.httpUrl!}${path}`, { timeout: 10_000 });
        const file = join(ARTIFACTS, `${name}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: true });
        expect(existsSync(file)).toBe(true);
      }
      // The dark theme is really dark: the page's background is not white.
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      if (scheme === 'dark') expect(bg).not.toBe('rgb(255, 255, 255)');
      await context.close();
    }
  });
});
