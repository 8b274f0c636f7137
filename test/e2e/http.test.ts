// The master's HTTP API against the real programs: builders, suggestions made over HTTP, reports and their logs,
// filters and pages, events resumed by Last-Event-ID, badges, metrics, and the exposure rule at start.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, freePort, node, runToEnd, startBuilder, startMaster, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One HTTP request to the master, bounded to 5 s. */
function http(url: string, opts: { method?: string; body?: unknown; rawBody?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const req = request(url, {
      method: opts.method ?? 'GET', timeout: 5000,
      headers: {
        ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers,
      },
    }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const json = async (url: string, opts?: Parameters<typeof http>[1]): Promise<Record<string, unknown>> => {
  const a = await http(url, opts);
  return { status: a.status, ...(JSON.parse(a.body) as Record<string, unknown>) };
};

/** Reads an event stream for `ms`, sending Last-Event-ID if given; returns its events. */
function events(url: string, ms: number, lastId?: string): Promise<Array<{ id?: string; event?: string; data?: string }>> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/v1/events`, { headers: lastId ? { 'last-event-id': lastId } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      setTimeout(() => {
        req.destroy();
        resolve(text.split('\n\n').filter((f) => /^(id|event):/m.test(f)).map((f) => Object.fromEntries(f.split('\n')
          .filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]))));
      }, ms);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the HTTP API', () => {
  it('shows builders, takes a suggestion the way simplebb-suggest does, and serves its reports, log, filters and pages', async () => {
    const m = await startMaster();
    const url = m.httpUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await startBuilder(m.port, { name: 'b1', scripts: { foo: 'echo "built $1"', bad: 'echo "broke on $1"; exit 1' } });
    const builders = await json(`${url}/api/v1/builders`);
    expect(builders.builders).toEqual([expect.objectContaining({ name: 'b1', online: true, projects: ['bad', 'foo'], node: process.version, running: [] })]);

    const made = await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'foo', branch: 'main', revision: '0123abcd' } });
    expect(made).toMatchObject({ status: 201, project: 'foo', branch: 'main', revision: '0123abcd', count: 1, builders: ['b1'], id: expect.any(String) });
    await waitFor('the report', () => m.reports().length === 1);
    expect((await suggest(m.port, ['bad', 'dev', '--wait'])).code).toBe(1);
    for (let i = 0; i < 3; i++) expect((await suggest(m.port, ['foo', `f${i}`, '--wait'])).code).toBe(0);

    const one = await json(`${url}/api/v1/suggestions/${made.id as string}`);
    expect(one).toMatchObject({ status: 200, id: made.id, project: 'foo', deliveries: [{ builder: 'b1', state: 'reported', verdict: 'success', exitCode: 0 }] });
    const report = await json(`${url}/api/v1/reports/${made.id as string}/b1`);
    expect(report).toMatchObject({ status: 200, verdict: 'success', output: 'built main\n', revision: '0123abcd', builder: 'b1' });
    const log = await http(`${url}/api/v1/reports/${made.id as string}/b1/log`);
    expect(log.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(log.body).toBe('built main\n');

    const failing = await json(`${url}/api/v1/reports?failing=1`);
    expect((failing.reports as Array<Record<string, unknown>>).map((r) => `${r.project} ${r.branch} ${r.verdict}`)).toEqual(['bad dev failure']);
    const foo = await json(`${url}/api/v1/reports?project=foo&verdict=success`);
    expect((foo.reports as unknown[]).length).toBe(4);
    // Pages of two, newest first, without gaps or repeats.
    const seen: string[] = [];
    let next: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await json(`${url}/api/v1/reports?limit=2${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
      seen.push(...(page.reports as Array<{ branch: string }>).map((r) => r.branch));
      next = page.next as string | undefined;
      if (!next) break;
    }
    expect(seen).toEqual(['f2', 'f1', 'f0', 'dev', 'main']);
    const sugg = await json(`${url}/api/v1/suggestions?project=foo&limit=10`);
    expect((sugg.suggestions as Array<{ branch: string }>).map((s) => s.branch)).toEqual(['f2', 'f1', 'f0', 'main']);

    // Bad input: one line naming the parameter, never a trace.
    expect(await json(`${url}/api/v1/reports?verdict=green`)).toEqual({ status: 400, error: expect.stringMatching(/^verdict: must be one of success, failure/) });
    expect(await json(`${url}/api/v1/reports?limit=0`)).toEqual({ status: 400, error: 'limit: must be a whole number from 1 to 500, got "0"' });
    expect(await json(`${url}/api/v1/reports?cursor=nope`)).toMatchObject({ status: 400, error: expect.stringMatching(/^cursor: /) });
    expect(await json(`${url}/api/v1/suggestions/nope`)).toEqual({ status: 404, error: 'no such suggestion: "nope"' });
    const longest = 'b'.repeat(128); // the longest builder name there may be
    expect(await json(`${url}/api/v1/reports/x-1/${longest}`)).toEqual({ status: 404, error: `no report of builder "${longest}" for "x-1"` });
    expect(await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: '../x', branch: 'main' } })).toMatchObject({ status: 400, error: expect.stringMatching(/^project: /) });
    expect(await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'foo', branch: 'main', admin: true } })).toMatchObject({ status: 400, error: 'Unrecognized key: "admin"' });
    expect(await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'foo', branch: 'x'.repeat(20_000) } })).toMatchObject({ status: 413 });
    const page = await http(`${url}/api/v1/builders`);
    expect(page.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('streams a running build\'s log like tail -f, from its start, and ends the stream when the report comes', async () => {
    const m = await startMaster();
    const url = m.httpUrl!;
    const gate = join(tempDir(), 'go');
    const b = await startBuilder(m.port, { name: 'b1', scripts: { slow: `echo one; while [ ! -e ${gate} ]; do sleep 0.05; done; echo two` } });
    const made = await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'slow', branch: 'main' } });
    await waitFor('the build to start', () => b.log().some((l) => l.event === 'started'));
    await new Promise((r) => setTimeout(r, 200)); // its first line on its way to the master
    const got: string[] = [];
    let ended = false;
    const req = request(`${url}/api/v1/reports/${made.id as string}/b1/log`, (res) => {
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      res.on('data', (d: Buffer) => got.push(d.toString()));
      res.on('end', () => { ended = true; });
    });
    req.end();
    await waitFor('the first line, printed before we asked', () => got.join('').includes('one\n'));
    expect(ended).toBe(false);
    writeFileSync(gate, '');
    await waitFor('the second line, live, and the end', () => ended, 10_000);
    expect(got.join('')).toBe('one\ntwo\n');
    expect(await json(`${url}/api/v1/reports/zz-nothing/b1/log`)).toEqual({ status: 404, error: 'no report of builder "b1" for "zz-nothing", and it does not run now' });
    req.destroy();
  });

  it('resumes an event stream from Last-Event-ID with every event once, and says reset for an id of another run', async () => {
    const m = await startMaster();
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'b1', scripts: { foo: 'true' } });
    const first = events(url, 1500);
    await new Promise((r) => setTimeout(r, 300));
    expect((await suggest(m.port, ['foo', 'a', '--wait'])).code).toBe(0);
    const seenFirst = await first;
    const last = seenFirst.at(-1)!;
    expect(seenFirst.map((e) => e.event)).toContain('report');
    // While nobody listens: two more builds. A client back with its last id gets exactly those, then live ones.
    expect((await suggest(m.port, ['foo', 'b', '--wait'])).code).toBe(0);
    expect((await suggest(m.port, ['foo', 'c', '--wait'])).code).toBe(0);
    const resumed = await events(url, 800, last.id);
    const ids = resumed.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(last.id);
    const branches = resumed.filter((e) => e.event === 'suggestion').map((e) => (JSON.parse(e.data!) as { branch: string }).branch);
    expect(branches).toEqual(['b', 'c']);
    const all = await events(url, 500, `${last.id!.split('-')[0]}-0`);
    expect(all.filter((e) => e.event === 'suggestion')).toHaveLength(3);
    const other = await events(url, 500, 'zzzz-5');
    expect(other.map((e) => e.event)).toEqual(['reset']); // and no backlog it could not place
  });

  it('keeps a quiet event stream open past the server\'s idle timeout, with a keepalive comment', async () => {
    const m = await startMaster();
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      let ended = false;
      const req = request(`${m.httpUrl!}/api/v1/events`, (res) => {
        res.on('data', (d: Buffer) => { got += d.toString(); });
        res.on('end', () => { ended = true; });
      });
      req.on('error', reject);
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve(ended ? `${got}(ended)` : got);
      }, 11_500);
    });
    expect(text).toContain(': keepalive');
    expect(text).not.toContain('(ended)');
  });

  it('draws a badge for any project, never a 404, and serves metrics', async () => {
    const m = await startMaster();
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'b1', scripts: { foo: 'true', bad: 'exit 1' } });
    const unknown = await http(`${url}/badge/nothing.svg`);
    expect(unknown.status).toBe(200);
    expect(unknown.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(unknown.body).toContain('nothing: unknown');
    await suggest(m.port, ['foo', 'main', '--wait']);
    await suggest(m.port, ['bad', 'main', '--wait']);
    const passing = await http(`${url}/badge/foo.svg`);
    expect(passing.body).toContain('foo: passing');
    expect((await http(`${url}/badge/bad.svg?branch=main`)).body).toContain('bad: failing');
    expect((await http(`${url}/badge/foo.svg`, { headers: { 'if-none-match': passing.headers.etag as string } })).status).toBe(304);
    const metrics = (await http(`${url}/metrics`)).body;
    expect(metrics).toMatch(/^simplebb_builds_total\{project="bad",builder="b1",verdict="failure"\} 1$/m);
    expect(metrics).toMatch(/^simplebb_failing\{project="bad",branch="main",builder="b1"\} 1$/m);
    expect(metrics).toMatch(/^simplebb_failing\{project="foo",branch="main",builder="b1"\} 0$/m);
    expect(metrics).toMatch(/^simplebb_builders\{state="online"\} 1$/m);
    expect(metrics).toMatch(/^simplebb_suggestions_total 2$/m);
    // Each builder report's time from arrival to durable commit, observed once.
    expect(metrics).toMatch(/^simplebb_report_commit_seconds_count 2$/m);
    expect(Number(/^simplebb_report_commit_seconds_sum (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });
});

describe('the simplebb command against a real master', () => {
  it('shows status, history, one suggestion and a log, suggests, and exits 1 on --failing when something is red', async () => {
    const m = await startMaster();
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'b1', scripts: { foo: 'echo "built $1"', bad: 'echo broke; exit 1' } });
    const cli = (...args: string[]) => runToEnd('simplebb', [...args, '--url', url]);
    const made = await cli('suggest', 'foo', 'main');
    expect(made.code, made.stderr).toBe(0);
    await waitFor('the report', () => m.reports().length === 1);
    expect((await suggest(m.port, ['bad', 'dev', '--wait'])).code).toBe(1);
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/b1/);
    expect(status.stdout.indexOf('bad')).toBeLessThan(status.stdout.indexOf('foo')); // failing first
    const failing = await cli('history', '--failing', '--json');
    expect(failing.code).toBe(1);
    expect(failing.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { project: string }).project)).toEqual(['bad']);
    const all = await cli('history', '--json');
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; project: string });
    expect(lines.map((l) => l.project)).toEqual(['bad', 'foo']);
    const id = lines[1]!.id;
    const shown = await cli('show', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('b1');
    const log = await cli('logs', id, 'b1');
    expect(log).toMatchObject({ code: 0, stdout: 'built main\n' });
    const missing = await cli('show', 'no-such-id');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const closed = await freePort();
    const down = await runToEnd('simplebb', ['status', '--url', `http://127.0.0.1:${closed}`]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed}.*connection refused`));
  });
});

describe('who may read and write', () => {
  it('needs the read token for reads and the suggest token for writes when they are set', async () => {
    const m = await startMaster({ env: { SIMPLEBB_READ_TOKEN: 'read-token-0123456789', SIMPLEBB_SUGGEST_TOKEN: 'suggest-token-0123456789' } });
    const url = m.httpUrl!;
    expect(await json(`${url}/api/v1/builders`)).toEqual({ status: 401, error: 'this master needs its read token as a bearer (Authorization: Bearer TOKEN)' });
    expect(await json(`${url}/api/v1/builders`, { token: 'wrong-token-0123456789' })).toEqual({ status: 401, error: 'wrong token' });
    expect(await json(`${url}/api/v1/builders`, { token: 'read-token-0123456789' })).toEqual({ status: 200, builders: [] });
    expect((await http(`${url}/badge/foo.svg`)).status).toBe(401);
    expect(await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'foo', branch: 'main' }, token: 'read-token-0123456789' })).toEqual({ status: 401, error: 'wrong token' });
    expect(await json(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'foo', branch: 'main' }, token: 'suggest-token-0123456789' })).toMatchObject({ status: 201, count: 0 });
  });

  it('refuses at start to serve a non-loopback address without a read token or --public-board, in one line', async () => {
    const p = node('masterd', ['--port', '0', '--data', tempDir(), '--http', '0.0.0.0:0', '--insecure']);
    const r = await p.exited;
    expect(r.code).toBe(78);
    expect(p.stderr().split('\n').filter((l) => l.startsWith('simplebb-masterd: ') && !l.includes('warning'))).toEqual([
      'simplebb-masterd: refusing to serve the HTTP API on 0.0.0.0 without --read-token-file (or SIMPLEBB_READ_TOKEN): anyone who can reach it could read every build\'s output; pass --public-board to open reads to anyone',
    ]);
    const bad = node('masterd', ['--port', '0', '--data', tempDir(), '--http', 'http://x']);
    expect((await bad.exited).code).toBe(78);
    expect(bad.stderr()).toMatch(/^simplebb-masterd: --http: address "http:\/\/x" is a URL; give HOST or HOST:PORT/m);
  });
});

describe('signing a browser in', () => {
  it('sends a browser to sign in, takes the read token once, and reads with the session cookie after that', async () => {
    const m = await startMaster({ env: { SIMPLEBB_READ_TOKEN: 'read-token-0123456789', SIMPLEBB_SUGGEST_TOKEN: 'suggest-token-0123456789' } });
    const url = m.httpUrl!;
    const asBrowser = { accept: 'text/html,application/xhtml+xml' };
    const refused = await http(`${url}/`, { headers: asBrowser });
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toBe('/sign-in');
    expect((await http(`${url}/api/v1/builders`, { headers: asBrowser })).status).toBe(401); // a program is not redirected
    const formPage = await http(`${url}/sign-in`);
    expect(formPage.status).toBe(200);
    expect(formPage.body).toContain('<form method="post" action="/sign-in"');
    const post = (token: string) => http(`${url}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: `token=${encodeURIComponent(token)}` });
    const wrong = await post('not-the-token-at-all');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const right = await post('read-token-0123456789');
    expect(right.status).toBe(303);
    const setCookie = String(right.headers['set-cookie']);
    expect(setCookie).toMatch(/^simplebb_session=\d+\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=2592000$/);
    expect(setCookie).not.toContain('read-token');
    const session = setCookie.split(';')[0]!;
    const board = await http(`${url}/`, { headers: { ...asBrowser, cookie: session } });
    expect(board.status).toBe(200);
    expect(board.body).toContain('<h1>Matrix</h1>');
    expect((await http(`${url}/api/v1/builders`, { headers: { cookie: session } })).status).toBe(200);
    // A forged or altered session is no session.
    const forged = session.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    expect((await http(`${url}/`, { headers: { ...asBrowser, cookie: forged } })).status).toBe(303);
    // Writes still need the suggest token: a session opens reads only.
    expect((await http(`${url}/api/v1/suggestions`, { method: 'POST', body: { project: 'foo', branch: 'main' }, headers: { cookie: session } })).status).toBe(401);
    const out = await http(`${url}/sign-out`, { method: 'POST', headers: { cookie: session } });
    expect(out.status).toBe(303);
    expect(String(out.headers['set-cookie'])).toMatch(/^simplebb_session=; .*Max-Age=0$/);
  });
});
