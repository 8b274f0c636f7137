// Scenario 10: a build's page with a 100,000-line coloured log (about 6 MB) the master keeps whole: the server's time
// to send the page (first byte, last byte) against the same log as plain text from the log route, and chromium's
// time to the first screen of log lines, against chromium opening the plain text, and to scroll to its end.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DIST, median, nodeScript, readLog, ROOT_OK, startMaster, stop, table, tempDir, until } from './common.js';
import { timeProcess } from './roundtrip.js';

const LINES = 100_000;
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Put into each page before it loads: notes (in window.firstScreen) when the line `id` is in the document and the
 * frame after the one that drew it has begun, in ms from the navigation's start: the first screen is painted.
 */
function watchFirstScreen(): void {
  const w = window as unknown as { firstScreen?: number };
  // The build page's line 40, or chromium's plain-text view with 40 lines' worth of text (no layout asked for either).
  const seen = (): boolean => document.getElementById('L40') !== null || (document.querySelector('body > pre')?.textContent?.length ?? 0) > 4000;
  const done = (): void => {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      w.firstScreen ??= performance.now();
    }));
  };
  const watch = new MutationObserver(() => {
    if (!seen()) return;
    watch.disconnect();
    done();
  });
  watch.observe(document, { childList: true, subtree: true, characterData: true });
}

/** One GET: milliseconds to the first byte and to the last, and the bytes. */
function get(url: string): Promise<{ first: number; last: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    let first = 0;
    let bytes = 0;
    const req = request(url, { timeout: 30_000, headers: { accept: 'text/html' } }, (res) => {
      res.on('data', (c: Buffer) => {
        if (bytes === 0) first = performance.now() - t;
        bytes += c.length;
      });
      res.on('end', () => resolve({ first, last: performance.now() - t, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

export async function logpage(quick: boolean): Promise<unknown> {
  const runs = quick ? 3 : 7;
  const dir = tempDir();
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  // A compiler's kind of output: a coloured number, a path, a word in colour now and then.
  writeFileSync(join(scripts, 'long'), `#!/bin/sh\nawk 'BEGIN { for (i = 1; i <= ${LINES}; i++) printf "\\033[2m%06d\\033[0m compiling src/module-%d/part-%d.ts %s\\n", i, i % 97, i % 13, (i % 10 == 0 ? "\\033[33mwarning\\033[0m" : "\\033[32mok\\033[0m") }'\n`);
  chmodSync(join(scripts, 'long'), 0o755);
  const m = await startMaster([], {}, dir);
  const b = nodeScript(join(DIST, 'clientd.js'), ['--master', `127.0.0.1:${m.port}`, '--name', 'b1', '--scripts', scripts, '--work', join(dir, 'work'), '--state', join(dir, 'state'), '--log', join(dir, 'b.log'), ...ROOT_OK]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  try {
    await until('builder', () => readLog(m.log).some((l) => l.event === 'connected'));
    const base = await until('the API', () => readLog(m.log).find((l) => l.event === 'http-listening')?.url as string | undefined);
    await timeProcess([join(DIST, 'suggest.js'), '-p', String(m.port), 'long', 'main', '--wait', '--timeout', '120']);
    const report = await until('report', () => readLog(m.log).find((l) => l.event === 'report'));
    const id = report.id as string;
    const api = `${base}/api/v1/reports/${id}/b1`;
    for (let end = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const info = await fetch(api).then((r) => r.json() as Promise<{ log?: { bytes: number } }>);
      if (info.log) break;
      if (Date.now() > end) throw new Error('bench: the full log was not on disk in 30 s');
    }
    const pageUrl = `${base}/b/${id}/b1`;
    const rawUrl = `${api}/log`;
    const server = { page: [] as Array<{ first: number; last: number; bytes: number }>, raw: [] as Array<{ first: number; last: number; bytes: number }> };
    const screen = { page: [] as number[], raw: [] as number[], parsed: [] as number[], scroll: [] as number[] };
    for (let i = 0; i <= runs; i++) {
      const p = await get(pageUrl);
      const r = await get(rawUrl);
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      const tab = await context.newPage();
      await tab.addInitScript(watchFirstScreen);
      const firstScreen = (): Promise<number> => tab.waitForFunction(() => (window as unknown as { firstScreen?: number }).firstScreen, undefined, { timeout: 30_000 }).then((h) => h.jsonValue() as Promise<number>);
      // The first screen: the first 40 lines (an 800 px window's worth) in the document and painted, by the page's clock.
      await tab.goto(pageUrl, { waitUntil: 'load', timeout: 60_000 });
      const first = await firstScreen();
      const parsed = await tab.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventEnd);
      const lines = await tab.evaluate(() => document.querySelectorAll('.logview .line').length);
      if (lines !== LINES) throw new Error(`bench: the page shows ${lines} lines, not ${LINES}`);
      const scroll = await tab.evaluate(() => new Promise<number>((res) => {
        const t = performance.now();
        window.scrollTo(0, document.documentElement.scrollHeight);
        requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t)));
      }));
      // The baseline: chromium's own plain-text view of the same log.
      await tab.goto(rawUrl, { waitUntil: 'load', timeout: 60_000 });
      const rawFirst = await firstScreen();
      await context.close();
      if (i === 0) continue; // warm-up
      server.page.push(p);
      server.raw.push(r);
      screen.page.push(first);
      screen.raw.push(rawFirst);
      screen.parsed.push(parsed);
      screen.scroll.push(scroll);
    }
    const med = (xs: number[]): number => median(xs);
    const rows = {
      pageBytes: server.page[0]!.bytes, rawBytes: server.raw[0]!.bytes,
      serverFirstByteMs: med(server.page.map((x) => x.first)), serverLastByteMs: med(server.page.map((x) => x.last)),
      rawFirstByteMs: med(server.raw.map((x) => x.first)), rawLastByteMs: med(server.raw.map((x) => x.last)),
      firstScreenMs: med(screen.page), rawFirstScreenMs: med(screen.raw), parsedMs: med(screen.parsed), scrollToEndMs: med(screen.scroll),
    };
    table(`10. a build page with a ${LINES.toLocaleString('en-US')}-line log (${(rows.rawBytes / 1e6).toFixed(1)} MB of text, ${(rows.pageBytes / 1e6).toFixed(1)} MB of HTML), medians of ${runs} runs after a warm-up`,
      ['what', 'page ms', 'plain text ms', '× plain text'],
      [
        ['server: first byte', rows.serverFirstByteMs, rows.rawFirstByteMs, (rows.serverFirstByteMs / rows.rawFirstByteMs).toFixed(2)],
        ['server: last byte', rows.serverLastByteMs, rows.rawLastByteMs, (rows.serverLastByteMs / rows.rawLastByteMs).toFixed(2)],
        ['chromium: first screen of lines (target < 1000)', rows.firstScreenMs, rows.rawFirstScreenMs, (rows.firstScreenMs / rows.rawFirstScreenMs).toFixed(2)],
        ['chromium: whole page parsed', rows.parsedMs, '-', '-'],
        ['chromium: scroll to the end, painted', rows.scrollToEndMs, '-', '-'],
      ]);
    return { lines: LINES, runs, ...rows };
  } finally {
    await browser.close();
    await stop(b);
    await stop(m.proc);
  }
}
