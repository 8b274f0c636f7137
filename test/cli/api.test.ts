// The HTTP API's client in the test's own process against a small node:http server: the bound on what it reads, no
// redirect followed, and the one-line wording of the master's error answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Api, ApiError } from '../../lib/cli/api.js';
import { collect } from '../../lib/cli/pages.js';

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** A server that answers every request with `answer`; resolves to its URL. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<URL> {
  const s = createServer(answer);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(s.address() as { port: number }).port}`);
}

const api = (url: URL, more: Partial<ConstructorParameters<typeof Api>[0]> = {}): Api => new Api({ url, timeoutMs: 5000, tokenHint: 'give the read token', ...more });

/** The one line an ApiError says. */
async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as Error).message).not.toContain('\n');
  return (err as Error).message;
}

describe('Api', () => {
  it('refuses an answer larger than its bound, whether its length is declared or it is streamed', async () => {
    const declared = await serve((_, res) => { res.setHeader('content-length', 2048); res.end('x'.repeat(2048)); });
    expect(await failure(api(declared, { maxBytes: 1024 }).bytes('/log'))).toMatch(/^the answer from http:\/\/127\.0\.0\.1:\d+\/log is larger than 1024 bytes$/);
    const streamed = await serve((_, res) => {
      res.write('x'.repeat(1000));
      setTimeout(() => res.end('x'.repeat(1000)), 20);
    });
    expect(await failure(api(streamed, { maxBytes: 1024 }).bytes('/log'))).toContain('is larger than');
    expect((await api(streamed, { maxBytes: 4096 }).bytes('/log')).length).toBe(2000);
  });

  it('sends the token as a bearer and follows no redirect', async () => {
    let elsewhere = 0;
    const other = await serve((_, res) => { elsewhere++; res.end('{}'); });
    const seen: Array<string | undefined> = [];
    const url = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(302, { location: `${other.href}steal` });
      res.end();
    });
    expect(await failure(api(url, { token: 't'.repeat(20) }).json('/api/v1/builders')))
      .toBe(`${url.href.replace(/\/$/, '')}/api/v1/builders answered with a redirect (HTTP 302) to ${other.href}steal; give the master's own address`);
    expect(seen).toEqual([`Bearer ${'t'.repeat(20)}`]);
    expect(elsewhere).toBe(0);
  });

  it('words the master\'s errors in one line, its text escaped and cut short', async () => {
    const answers: Record<string, [number, string]> = {
      '/400': [400, '{"error":"limit must be 1 to 500"}'],
      '/401': [401, '{"error":"wrong \\u001b[2Jtoken\\nsecond line"}'],
      '/429': [429, '{"error":"rate limit"}'],
      '/503': [503, '{"error":"the record cannot be read"}'],
      '/500': [500, 'not json'],
      '/long': [400, JSON.stringify({ error: 'y'.repeat(1000) })],
      '/text': [200, 'not json'],
    };
    const url = await serve((req, res) => {
      const [status, body] = answers[req.url!]!;
      res.writeHead(status);
      res.end(body);
    });
    const a = api(url);
    const base = url.href.replace(/\/$/, '');
    expect(await failure(a.json('/400'))).toBe('the master refused the request: limit must be 1 to 500');
    expect(await failure(a.json('/401'))).toBe('the master refused: wrong \\x1b[2Jtoken\\nsecond line (give the read token)');
    expect(await failure(api(url, { token: 'x'.repeat(16) }).json('/401'))).toBe('the master refused: wrong \\x1b[2Jtoken\\nsecond line');
    expect(await failure(a.json('/429'))).toBe('the master is limiting requests: rate limit; try again shortly');
    expect(await failure(a.json('/503'))).toBe('the master cannot read its record now: the record cannot be read');
    expect(await failure(a.json('/500'))).toBe(`${base}/500 answered HTTP 500: Internal Server Error`);
    expect(await failure(a.json('/long'))).toBe(`the master refused the request: ${'y'.repeat(300)}…`);
    expect(await failure(a.json('/text'))).toBe(`the answer from ${base}/text is not JSON (is ${base} the master's HTTP address?)`);
  });

  it('keeps a path prefix of the URL (a proxy\'s) and puts the query in the request', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => { seen.push(req.url!); res.end('{"reports":[]}'); });
    await api(new URL('/simplebb/', url)).json('/api/v1/reports', { query: { project: 'foo', branch: undefined, latest: '1' } });
    expect(seen).toEqual(['/simplebb/api/v1/reports?project=foo&latest=1']);
  });
});

describe('collect', () => {
  it('stops at a cursor it has seen, so a master that repeats itself is not asked for ever', async () => {
    let asked = 0;
    const url = await serve((_, res) => { asked++; res.end(JSON.stringify({ reports: [{ id: `r${asked}` }], next: 'same' })); });
    const { items } = await collect<{ id: string }>(api(url), '/api/v1/reports', 'reports', {}, 100);
    expect(items.map((r) => r.id)).toEqual(['r1', 'r2']);
    expect(asked).toBe(2);
  });

  it('refuses an answer without the list it asked for', async () => {
    const url = await serve((_, res) => res.end('{"items":[]}'));
    expect(await failure(collect(api(url), '/api/v1/reports', 'reports', {}, 10))).toBe('the answer of /api/v1/reports has no "reports" list (not the API of docs/API.md)');
  });
});
