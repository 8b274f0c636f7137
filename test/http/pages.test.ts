// The web pages through the app itself (fastify inject, no socket): what each shows with JavaScript off, that a
// build's log renders inert whatever bytes it holds, the policies pages and API answer with, and the 404 pages.
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../lib/http/server.js';
import { EventLog } from '../../lib/http/eventLog.js';
import { collapseReturns } from '../../lib/http/ui/log.js';
import { PAGE_CSP } from '../../lib/http/ui/pages.js';
import { Board } from '../../lib/master/board.js';
import { EventBus } from '../../lib/master/events.js';
import { LiveLogs } from '../../lib/master/liveLogs.js';
import type { Relay } from '../../lib/master/relay.js';
import type { Verdict } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type StoredReport } from '../../lib/store/store.js';
import { Registry } from 'prom-client';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6.1.0', version: '#1 SMP', machine: 'x86_64', hostname: 'h1' };
const EVIL = 'start\n<script>alert(1)</script>\n</pre><b>bold?</b>\n\x1b[31mred text\x1b[0m plain\n'
  + 'copy \x1b]52;c;ZXZpbA==\x07done\n\u202eevil.exe\ndownloading 10%\rdownloading 50%\rdownloading 100%\nlast\n';

/** A record with two projects on two builders (bar failing on b2), one builder online, and an app over it. */
async function fixture(output = EVIL) {
  const store = new SqliteStore(tempDir());
  const events = new EventBus();
  const board = new Board(events);
  let t = 1_796_160_000_000;
  const made = async (project: string, branch: string, verdicts: Record<string, Verdict>, out = 'ok\n', host = uname.hostname) => {
    const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id: `mx57dl${t.toString(36).slice(-2)}-ed4a46c2046${t % 10}`, project, branch, revision: '0123abcd', from: '127.0.0.1:5000', createdAt: t, offeredTo: Object.keys(verdicts) }] });
    const reports: StoredReport[] = Object.entries(verdicts).map(([builder, verdict], i) => ({
      builder, id: s!.id, seq: s!.seq, project, branch, revision: '0123abcd', exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 1200 + i * 300,
      startedAt: t + 10, uname: { ...uname, hostname: host }, node: 'v22.11.0', output: out, outputBytes: Buffer.byteLength(out), outputCut: 0, receivedAt: t + 2000 + i,
    }));
    await store.commit({ ...noWrites(), reports, builders: Object.keys(verdicts).map((name) => ({ name, lastSeen: t })) });
    t += 60_000;
    return s!;
  };
  const aaa = await made('aaa', 'main', { b1: 'success', b2: 'success' });
  const bar = await made('bar', 'main', { b1: 'success', b2: 'failure' }, output);
  await made('ccc', 'main', { b1: 'failure' });
  const ccc = await made('ccc', 'feat', { b1: 'success' });
  events.emit({ type: 'builder-up', name: 'b1', address: '10.0.0.5:40112', instance: 'i', projects: ['aaa', 'bar', 'ccc', 'ddd'], uname, node: 'v22.11.0', jobs: 1, labels: { os: 'linux', arch: 'x64', pool: 'fast' } });
  // ddd runs on b1 now and has no report yet.
  const ddd = { id: 'mx57dlzz-ed4a46c20469', seq: 99, project: 'ddd', branch: 'main', from: '127.0.0.1:5000', createdAt: t };
  events.emit({ type: 'suggestion', suggestion: ddd, builders: ['b1'] });
  events.emit({ type: 'started', id: ddd.id, builder: 'b1', startedAt: t });
  const app = createHttpApp({
    history: store.history, board, relay: {} as Relay, log: new EventLog(events), live: new LiveLogs(events), metrics: new Registry(),
    access: { loopback: true, publicBoard: false },
  });
  return { app, store, made, aaa, bar, ccc };
}

/** The body's text with its tags taken out and entities read back: what a reader sees. */
function visibleText(body: string): string {
  return body.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

describe('the web pages', () => {
  it('show the matrix with a failing and a passing cell, failing projects first, a red branch a newer green one would hide, what runs now, builders online and offline on top', async () => {
    const { app, bar, ccc } = await fixture();
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const rows = [...res.body.matchAll(/<tr class="(red|green)">\s*<th scope="row"><a href="\/p\/(\w+)">/g)].map((m) => `${m[2]}:${m[1]}`);
    expect(rows).toEqual(['bar:red', 'ccc:red', 'aaa:green', 'ddd:green']);
    expect(res.body).toMatch(/<td class="cell c-failure"><a href="\/b\/[^"]+\/b2"[^>]*><span class="v v-failure" title="failure">✗ failure<\/span>/);
    expect(res.body).toContain(`href="/b/${bar.id}/b2"`);
    expect(res.body).toMatch(/<span class="v v-success" title="success">✓ success<\/span>/);
    expect(res.body).toMatch(/b1<\/a><br><span class="on">● online/);
    expect(res.body).toMatch(/b2<\/a><br><span class="off">○ offline/);
    // A green newer branch shows, and the red one it would hide is named in the same cell.
    expect(res.body).toMatch(new RegExp(`<td class="cell c-success also-red"><a href="/b/${ccc.id}/b1"[^]*?<small class="also">also <a href="/b/[^"]+/b1"><span class="v v-failure" title="failure">✗</span> main</a></small>`));
    expect(res.body).toMatch(/<a href="\/p\/ddd">ddd<\/a><\/th>\s*<td class="cell empty"><span class="run">▶ running<\/span><\/td>/);
  });

  it('a build\'s page says who suggested it and its duration against its builder\'s usual one', async () => {
    const { app, made, aaa, bar } = await fixture();
    // Two more green builds of aaa main on b1: its usual is the median of its newest successful ones.
    await made('aaa', 'main', { b1: 'success' });
    const third = await made('aaa', 'main', { b1: 'success' });
    const page = (await app.inject({ url: `/b/${third.id}/b1` })).body;
    expect(page).toContain('<dt>suggested by</dt><dd>127.0.0.1:5000, ');
    expect(page).toMatch(/<dt>duration<\/dt><dd>1\.2 s <span class="msg">\(usually 1\.2 s: about as usual\)<\/span><\/dd>/);
    expect((await app.inject({ url: `/b/${aaa.id}/b1` })).body).toContain('suggested by');
    // b2 never passed bar main: nothing to compare with.
    expect((await app.inject({ url: `/b/${bar.id}/b2` })).body).toMatch(/<dt>duration<\/dt><dd>1\.5 s<\/dd>/);
  });

  it('render a build\'s log inert: markup and escape sequences as text, colour as a span, \\r collapsed, each line an anchor', async () => {
    const { app, bar } = await fixture();
    const res = await app.inject({ url: `/b/${bar.id}/b2` });
    expect(res.statusCode).toBe(200);
    const body = res.body;
    // The page's own script tag is the only one.
    expect(body.match(/<script/gi)).toEqual(['<script']);
    expect(body).toContain('<script src="/static/live.js" defer></script>');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body.match(/<\/pre>/g)).toHaveLength(1);
    expect(body).toContain('&lt;/pre&gt;&lt;b&gt;bold?&lt;/b&gt;');
    expect(body).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    expect(body).toContain('<span class="ansi-red-fg">red text</span> plain');
    expect(body).not.toContain('ZXZpbA==');
    expect(body).toMatch(/<span class="ctl" title="U\+202E">\\u202e<\/span>evil\.exe/);
    const log = visibleText(body.slice(body.indexOf('<pre class="log">'), body.indexOf('</pre>')));
    expect(log).toContain('copy done');
    expect(log).toContain('downloading 100%');
    expect(log).not.toContain('downloading 50%');
    expect(body).toMatch(/<span class="line" id="L1"><a class="ln" href="#L1" aria-hidden="true">1<\/a>start\n<\/span>/);
    expect(body).toMatch(/id="L8"><a class="ln" href="#L8" aria-hidden="true">8<\/a>last\n<\/span><\/pre>/);
    expect(body).not.toContain('id="L9"');
    expect(visibleText(body)).toMatch(/exit code\s*1/);
    expect(body).toContain('v22.11.0');
    expect(body).toContain('Linux 6.1.0 x86_64 (h1)');
    expect(body).toContain('<code>0123abcd</code>');
  });

  it('escape every value they show, not only the log: a branch and a hostname of markup stay text on every page', async () => {
    const { app, made } = await fixture();
    const evil = await made('eee', '"><script>alert(2)</script>', { b3: 'failure' }, 'x', '<img src=x onerror=alert(3)>');
    for (const url of ['/', '/builders', '/suggestions', `/s/${evil.id}`, `/b/${evil.id}/b3`, '/p/eee']) {
      const body = (await app.inject({ url })).body;
      expect(body.match(/<script/gi), url).toEqual(['<script']);
      expect(body, url).not.toContain('<img src=x');
      expect(body, url).toMatch(/&quot;&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;|&lt;img src=x onerror=alert\(3\)&gt;/);
    }
  });

  it('collapse \\r as a terminal does: what follows the last \\r of a line, a \\r\\n ending as a newline', () => {
    expect(collapseReturns('a 1%\ra 2%\ra 3%\nnext\r\nend')).toBe('a 3%\nnext\nend');
    expect(collapseReturns('trailing\r')).toBe('trailing');
  });

  it('answer with their whole data to a plain GET (no script needed): builders, suggestions filtered and paged, one suggestion, a project', async () => {
    const { app, aaa, bar } = await fixture();
    const builders = await app.inject({ url: '/builders' });
    expect(builders.body).toMatch(/<th scope="row">b1<\/th>\s*<td><span class="on">● online/);
    expect(visibleText(builders.body)).toContain('last seen');
    expect(builders.body).toContain('Linux 6.1.0 x86_64 (h1)');
    // Its labels, script:* left out (the projects column has them).
    expect(builders.body).toContain('<code class="label">arch=x64</code> <code class="label">os=linux</code> <code class="label">pool=fast</code>');
    expect(builders.body).not.toContain('script:aaa');
    const api = (await app.inject({ url: '/api/v1/builders' })).json() as { builders: Array<{ name: string; labels?: Record<string, string> }> };
    expect(api.builders.find((b) => b.name === 'b1')?.labels).toEqual({ os: 'linux', arch: 'x64', pool: 'fast', 'script:aaa': 'true', 'script:bar': 'true', 'script:ccc': 'true', 'script:ddd': 'true' });

    const all = await app.inject({ url: '/suggestions' });
    expect(all.body).toContain(`href="/s/${aaa.id}"`);
    expect(all.body).toContain(`href="/s/${bar.id}"`);
    const red = await app.inject({ url: '/suggestions?project=&branch=&builder=&verdict=failure' });
    expect(red.statusCode).toBe(200);
    expect(red.body).toContain(`href="/s/${bar.id}"`);
    expect(red.body).not.toContain(`href="/s/${aaa.id}"`);
    expect(red.body).toContain('<option selected>failure</option>');
    // Pages of one of b2's suggestions: the "older" link keeps the filter.
    const first = await app.inject({ url: '/suggestions?project=&builder=b2&limit=1' });
    expect(first.body).toContain(`href="/s/${bar.id}"`);
    expect(first.body).toContain('<input name="builder" value="b2"');
    const older = /<a rel="next" href="([^"]+)">older/.exec(first.body)![1]!.replace(/&amp;/g, '&');
    expect(older).toBe(`/suggestions?builder=b2&limit=1&cursor=${bar.seq}`);
    const second = await app.inject({ url: older });
    expect(second.body).toContain(`href="/s/${aaa.id}"`);
    expect(second.body).not.toContain(`href="/s/${bar.id}"`);
    expect(second.body).not.toContain('rel="next"');
    expect((await app.inject({ url: '/suggestions?verdict=green' })).statusCode).toBe(400);

    const one = await app.inject({ url: `/s/${bar.id}` });
    expect(one.body).toMatch(/<a href="\/b\/[^"]+\/b2">b2<\/a><\/th>\s*<td><span class="v v-failure"/);
    const project = await app.inject({ url: '/p/bar' });
    expect(project.statusCode).toBe(200);
    expect(project.body).toMatch(/<svg viewBox="0 0 720 180"/);
    expect(project.body).toMatch(/<rect class="pt bad"/);
    expect(project.body).toContain(`href="/b/${bar.id}/b1"`);
  });

  it('answer pages under a policy that allows their own CSS, JS and event stream, and the API under default-src \'none\'', async () => {
    const { app } = await fixture();
    for (const url of ['/', '/builders', '/suggestions', '/p/bar', '/s/nope']) {
      const res = await app.inject({ url });
      expect(res.headers['content-security-policy'], url).toBe(PAGE_CSP);
    }
    expect(PAGE_CSP).toMatch(/^default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self';/);
    for (const url of ['/api/v1/builders', '/api/v1/reports', '/static/live.js']) {
      expect((await app.inject({ url })).headers['content-security-policy'], url).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    const css = await app.inject({ url: '/static/simplebb.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toContain('prefers-color-scheme: dark');
    const js = await app.inject({ url: '/static/live.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toContain("new EventSource('/api/v1/events')");
    expect((await app.inject({ url: '/static/live.js', headers: { 'if-none-match': js.headers.etag as string } })).statusCode).toBe(304);
  });

  it('answer an unknown id with an HTML 404 page of one line', async () => {
    const { app, bar } = await fixture();
    for (const [url, line] of [
      ['/s/nope', 'There is no suggestion "nope" in this master\'s record.'],
      [`/b/${bar.id}/b9`, `There is no report of builder "b9" for suggestion "${bar.id}", and it does not run now.`],
      ['/p/nope', 'There is no report of project "nope" in this master\'s record.'],
    ] as const) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toMatch(/^<!doctype html>/);
      expect(res.body.match(/<p class="explain">([^<]*)<\/p>/)![1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'")).toBe(line);
    }
  });

  it('follow the access rules of the API: a master with a read token refuses a page without it', async () => {
    const { store } = await fixture();
    const events = new EventBus();
    const app = createHttpApp({
      history: store.history, board: new Board(events), relay: {} as Relay, log: new EventLog(events), live: new LiveLogs(events), metrics: new Registry(),
      access: { loopback: true, publicBoard: false, readToken: 'sekrit' },
    });
    expect((await app.inject({ url: '/' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/', headers: { authorization: 'Bearer sekrit' } })).statusCode).toBe(200);
  });
});
