// A build's page in chromium against a real master and builder on loopback: a running build's new line appears on
// its open page as it is printed and the verdict when it ends (no reload); a log beyond the report's 512 KiB head and
// tail is shown whole; screenshots of the page running and finished, light and dark, under test/artifacts/.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, ROOT, startBuilder, startMaster, suggest, tempDir, type Master } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE = existsSync(CHROMIUM);
if (!HAVE && process.env.CI) throw new Error(`the browser tests need ${CHROMIUM}; .ci/run installs it`);
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
/** How long a printed line may take to reach the open page (the second, with room for the script's own polling). */
const LIVE_MS = 1_500;

async function json(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as Record<string, unknown>;
}

/** Polls an asynchronous check until it gives a value; throws naming `what` after `timeoutMs`. */
async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The id of the newest suggestion of a project (and branch), once there is one. */
function idOf(m: Master, project: string, branch = 'main'): Promise<string> {
  return poll(`a suggestion of ${project} ${branch}`, async () => {
    const list = (await json(`${m.httpUrl!}/api/v1/suggestions?project=${project}&branch=${branch}`)).suggestions as Array<{ id: string }>;
    return list[0]?.id;
  });
}

describe.runIf(HAVE)('a build page in chromium', () => {
  let browser: Browser;
  let m: Master;
  const gate = tempDir('simplebb-gate-');
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    m = await startMaster();
    // Prints coloured lines, then each marker only once the test opens its gate file (bounded: 20 s), then fails.
    const live = String.raw`printf '\033[1;32m==> building\033[0m\n\033[33mwarning:\033[0m something odd\n'
for step in one two; do
  i=0; while [ ! -e "${gate}/$step" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
  printf '\033[36mstep %s\033[0m: LIVE-MARKER-%s\n' "$step" "$step"
done
i=0; while [ ! -e "${gate}/end" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
printf '\033[31mFAILED\033[0m 1 test\n'; exit 1`;
    // About 1.3 MB: 20,000 numbered lines, so the report keeps only its head and tail.
    const big = String.raw`i=0; while [ $i -lt 20000 ]; do printf 'line %05d \033[32mok\033[0m padding padding padding padding padding\n' $i; i=$((i+1)); done`;
    await startBuilder(m.port, { name: 'b1', scripts: { live, big } });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await cleanup();
  });

  it('shows a running build\'s new lines as they are printed, then its verdict without a reload', async () => {
    expect((await suggest(m.port, ['live', 'main'])).code).toBe(0);
    const id = await idOf(m, 'live');
    const contexts = await Promise.all((['light', 'dark'] as const).map((colorScheme) => browser.newContext({ colorScheme, viewport: { width: 1100, height: 700 } })));
    const pages = await Promise.all(contexts.map((c) => c.newPage()));
    // The build runs once its first lines are on its page.
    await poll('the build to run', async () => (await fetch(`${m.httpUrl!}/b/${id}/b1`, { signal: AbortSignal.timeout(5000) })).status === 200 || undefined);
    for (const page of pages) {
      await page.goto(`${m.httpUrl!}/b/${id}/b1`, { timeout: 10_000 });
      await page.locator('#follow').waitFor({ timeout: 5000 });
      await page.locator('.live:not([hidden])').waitFor({ timeout: 5000 }); // the line stream is open
    }
    expect(await pages[0]!.locator('.logview').innerText()).toContain('==> building');
    for (const step of ['one', 'two']) {
      writeFileSync(join(gate, step), '');
      for (const page of pages) await page.locator('.logview .line', { hasText: `LIVE-MARKER-${step}` }).waitFor({ timeout: LIVE_MS });
    }
    // Each line once, numbered on from the page's own lines.
    const numbers = await pages[0]!.locator('.logview .line').evaluateAll((ls) => ls.map((l) => l.id));
    expect(numbers).toEqual(['L1', 'L2', 'L3', 'L4']);
    for (const scheme of ['light', 'dark'] as const) await pages[scheme === 'light' ? 0 : 1]!.screenshot({ path: join(ARTIFACTS, `build-running-${scheme}.png`), fullPage: true });
    writeFileSync(join(gate, 'end'), '');
    for (const page of pages) await page.locator('#facts', { hasText: 'failure' }).waitFor({ timeout: 10_000 });
    expect(await pages[0]!.locator('.logview').innerText()).toContain('FAILED');
    expect(await pages[0]!.locator('.logview .line').count()).toBe(5);
    for (const scheme of ['light', 'dark'] as const) await pages[scheme === 'light' ? 0 : 1]!.screenshot({ path: join(ARTIFACTS, `build-finished-${scheme}.png`), fullPage: true });
    for (const c of contexts) await c.close();
  }, 60_000);

  it('says a running build is running with JavaScript off, and shows what it printed so far', async () => {
    rmSync(join(gate, 'end'), { force: true }); // this one stays running to the end of the test
    expect((await suggest(m.port, ['live', 'nojs'])).code).toBe(0);
    const id = await idOf(m, 'live', 'nojs');
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await poll('its first lines', async () => {
      await page.goto(`${m.httpUrl!}/b/${id}/b1`, { timeout: 10_000 });
      return (await page.locator('main').innerText()).includes('LIVE-MARKER-two') || undefined;
    });
    const text = await page.locator('main').innerText();
    expect(text).toContain('running');
    expect(text).toContain('reload');
    await context.close();
    writeFileSync(join(gate, 'end'), '');
  }, 60_000);

  it('shows the whole log, not only the report\'s head and tail', async () => {
    expect((await suggest(m.port, ['big', 'main', '--wait'])).code).toBe(0);
    const id = await idOf(m, 'big');
    const report = await json(`${m.httpUrl!}/api/v1/reports/${id}/b1`);
    expect(report.outputCut as number).toBeGreaterThan(0);
    expect(report.output as string).not.toContain('line 10000 ');
    await poll('the full log on disk', async () => ((await json(`${m.httpUrl!}/api/v1/reports/${id}/b1`)).log ? true : undefined));
    const page = await browser.newPage();
    await page.goto(`${m.httpUrl!}/b/${id}/b1#L10001`, { timeout: 10_000 });
    const middle = page.locator('#L10001');
    expect(await middle.innerText()).toContain('line 10000 ok');
    // The anchor scrolled there: the line is on screen.
    await expect.poll(() => middle.evaluate((e) => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }), { timeout: 5000 }).toBe(true);
    expect(await page.locator('.logview .line').count()).toBe(20_000);
    expect(await page.locator('.logview pre.log').count()).toBe(20);
    await page.close();
  }, 60_000);
});
