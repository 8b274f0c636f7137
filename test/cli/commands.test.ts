// The simplebb command as a separate process (dist/simplebb.js) against a fake of the master's HTTP API: each
// command's table and JSON lines, the exit codes, one-line errors, and a hostile log on a terminal and in a pipe.
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, DIST, onTerminal, runToEnd, tempDir } from '../helpers.js';
import { fakeApi, type FakeData, type FakeReport } from './fakeApi.js';

afterEach(cleanup);

const MIN = 60_000;
const ID = 'mx57dlhd-ed4a46c20464';
const TOKEN = 'r'.repeat(32);
const fakes: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => { await Promise.all(fakes.splice(0).map((f) => f.close())); });

/** What a fresh environment holds: no token or URL from the test's own environment, times in UTC. */
const CLEAN = { TZ: 'UTC', NO_COLOR: '', SIMPLEBB_URL: '', SIMPLEBB_READ_TOKEN: '', SIMPLEBB_READ_TOKEN_FILE: '', SIMPLEBB_SUGGEST_TOKEN: '', SIMPLEBB_SUGGEST_TOKEN_FILE: '' };

function simplebb(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runToEnd('simplebb', args, { env: { ...CLEAN, ...env }, timeoutMs: 15_000 });
}

/** A log that tries a screen clear, an OSC 52 clipboard write, a title change, a one-byte CSI, a bidi override, then red text. */
const HOSTILE_LOG = 'a\x1b[2Jb\x1b]52;c;ZXZpbA==\x07c\x1b]0;title\x07d\u009be\u202ef\x1b[31mred\x1b[0m\nlast line';

let now: number;
let data: FakeData;
let r2: FakeReport;
beforeAll(() => {
  now = Date.now();
  const report = (r: Partial<FakeReport> & Pick<FakeReport, 'id' | 'builder' | 'project' | 'branch' | 'verdict' | 'receivedAt'>): FakeReport => ({
    seq: 7, exitCode: 0, durationMs: 412, node: 'v22.11.0', outputBytes: 10, outputCut: 0, ...r,
  });
  r2 = report({
    id: ID, builder: 'b1', project: 'foo', branch: 'main', revision: '0123abcd', verdict: 'failure', exitCode: 1, startedAt: now - 5 * MIN - 10_000 - 412,
    receivedAt: now - 5 * MIN - 10_000, message: 'make: \x1b]0;pwned\x07 failed', uname: { type: 'Linux', release: '6.1.0', machine: 'x86_64', hostname: 'b1' },
    outputBytes: 2048, outputCut: 512, output: `${Array.from({ length: 11 }, (_, i) => `line ${i + 1}`).join('\n')}\n${HOSTILE_LOG}\n`,
  });
  data = {
    builders: [
      { name: 'b1', online: true, address: '10.0.0.5:40112', since: now - 3 * 86_400_000, lastSeen: now, jobs: 1, running: [{ id: 'mx57dlhe-000000000001', project: 'foo', branch: 'dev', startedAt: now - 12_000 }], labels: { os: 'linux', arch: 'x64', 'script:foo': 'true' } },
      { name: 'b2', online: false, lastSeen: now - 2 * 60 * MIN - MIN },
    ],
    reports: [
      report({ id: 'mx57dlha-000000000001', builder: 'b1', project: 'foo', branch: 'main', verdict: 'success', receivedAt: now - 60 * MIN }),
      r2,
      report({ id: ID, builder: 'b2', project: 'foo', branch: 'main', verdict: 'success', receivedAt: now - 10 * MIN - 10_000, durationMs: 185_000 }),
      report({ id: 'mx57dlhb-000000000002', builder: 'b2', project: 'bar', branch: 'dev', verdict: 'timeout', exitCode: -1, signal: 'SIGKILL', receivedAt: now - 30 * MIN - 10_000, durationMs: 3_725_000 }),
      report({ id: 'mx57dlhb-000000000002', builder: 'b1', project: 'bar', branch: 'dev', verdict: 'no-script', exitCode: -1, receivedAt: now - 40 * MIN - 10_000, message: 'no build script named bar' }),
    ],
    suggestions: [{
      id: ID, seq: 7, project: 'foo', branch: 'main', revision: '0123abcd', from: '127.0.0.1:51512', createdAt: Date.UTC(2026, 11, 2, 9, 5, 7),
      deliveries: [
        { builder: 'b1', state: 'reported', at: Date.UTC(2026, 11, 2, 9, 5, 9), verdict: 'failure', exitCode: 1, durationMs: 412 },
        { builder: 'b2', state: 'started', at: Date.UTC(2026, 11, 2, 9, 5, 8) },
      ],
    }],
  };
});

async function fake(opts: Parameters<typeof fakeApi>[1] = {}) {
  const f = await fakeApi(data, opts);
  fakes.push(f);
  return f;
}

/** A TCP server that does what `behave` does with each connection (never answer, or speak something else). */
async function rawServer(behave: (s: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    behave(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fakes.push({ close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The run failed with exit 2 and one line on stderr, no stack trace, nothing on stdout. */
function oneLineError(r: { code: number | null; stdout: string; stderr: string }): string {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr.trimEnd();
}

describe('simplebb status', () => {
  it('shows the builders, then the newest verdict of each project, branch and builder, failing ones first', async () => {
    const f = await fake();
    const r = await simplebb(['status', '--url', f.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('BUILDER  STATE    LAST SEEN  RUNNING           LABELS');
    expect(lines[1]).toMatch(/^b1       online   now        foo dev \(12\.\d s\)  arch=x64 os=linux$/);
    expect(lines[2]).toBe('b2       offline  2 h ago');
    expect(lines[3]).toBe('');
    expect(lines.slice(4)).toEqual([
      'PROJECT  BRANCH  BUILDER  VERDICT    EXIT     TOOK        WHEN        ID',
      `foo      main    b1       failure    1        0.41 s      5 min ago   ${ID}`,
      'bar      dev     b2       timeout    SIGKILL  1 h 02 min  30 min ago  mx57dlhb-000000000002',
      `foo      main    b2       success    0        3 min 05 s  10 min ago  ${ID}`,
      'bar      dev     b1       no-script  -1       0.41 s      40 min ago  mx57dlhb-000000000002',
      '',
    ]);
    expect(f.requests.map((q) => [q.path, q.query])).toEqual(expect.arrayContaining([
      ['/api/v1/builders', {}], ['/api/v1/reports', { latest: '1', limit: '500' }],
    ]));
  });

  it('prints one JSON object per line with --json: builders, then reports, failing first, each tagged', async () => {
    const f = await fake();
    const r = await simplebb(['status', '--json', '--url', f.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.type, l.name ?? `${l.project} ${l.branch} ${l.builder} ${l.verdict}`])).toEqual([
      ['builder', 'b1'], ['builder', 'b2'],
      ['report', 'foo main b1 failure'], ['report', 'bar dev b2 timeout'], ['report', 'foo main b2 success'], ['report', 'bar dev b1 no-script'],
    ]);
    expect(lines[0]).toMatchObject({ online: true, address: '10.0.0.5:40112', running: [{ project: 'foo', branch: 'dev' }] });
    expect(lines[2]).toMatchObject({ id: ID, message: 'make: \x1b]0;pwned\x07 failed', exitCode: 1 });
    expect(r.stdout).not.toContain('\x1b'); // JSON escapes it as \u001b
  });

  it('colours the verdicts and states on a terminal, unless NO_COLOR', async () => {
    const f = await fake();
    const cmd = `${process.execPath} ${join(DIST, 'simplebb.js')} --url ${f.url} status`;
    const coloured = await onTerminal(cmd, { NO_COLOR: '' });
    expect(coloured).toContain('\x1b[31mfailure\x1b[0m    1');
    expect(coloured).toContain('\x1b[32monline\x1b[0m ');
    const plain = await onTerminal(cmd, { NO_COLOR: '1' });
    expect(plain).toContain(`foo      main    b1       failure    1        0.41 s      5 min ago   ${ID}\n`);
    expect(plain).not.toContain('\x1b');
  });

  it('says so when there is nothing yet', async () => {
    const f = await fakeApi({});
    fakes.push(f);
    const r = await simplebb(['status', '--url', f.url]);
    expect(r.stdout).toBe('no builders known\n\nno reports yet\n');
    expect(r.code).toBe(0);
  });
});

describe('simplebb history', () => {
  it('lists reports newest first with the time, and passes the filters on', async () => {
    const f = await fake();
    const r = await simplebb(['history', '--url', f.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('WHEN                 PROJECT  BRANCH  BUILDER  VERDICT    EXIT     TOOK        ID');
    expect(lines.slice(1).map((l) => l.slice(21).replace(/ +/g, ' '))).toEqual([
      `foo main b1 failure 1 0.41 s ${ID}`,
      `foo main b2 success 0 3 min 05 s ${ID}`,
      'bar dev b2 timeout SIGKILL 1 h 02 min mx57dlhb-000000000002',
      'bar dev b1 no-script -1 0.41 s mx57dlhb-000000000002',
      'foo main b1 success 0 0.41 s mx57dlha-000000000001',
    ]);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  foo/);
    const filtered = await simplebb(['history', '--url', f.url, '--project', 'foo', '--branch', 'main', '--builder', 'b2', '--verdict', 'success', '--limit', '5']);
    expect(filtered.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(f.requests.at(-1)!.query).toEqual({ project: 'foo', branch: 'main', builder: 'b2', verdict: 'success', limit: '5' });
  });

  it('follows next cursors until --limit reports are shown, and says there are more', async () => {
    const f = await fake({ pageSize: 2 });
    const r = await simplebb(['history', '--url', f.url, '--limit', '3', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { verdict: string }).verdict)).toEqual(['failure', 'success', 'timeout']);
    // The fake's cursor is the last item's receivedAt:id:builder, as docs/API.md's example.
    expect(f.requests.map((q) => q.query)).toEqual([{ limit: '3' }, { limit: '1', cursor: `${data.reports![2]!.receivedAt}:${ID}:b2` }]);
    const table = await simplebb(['history', '--url', f.url, '--limit', '3']);
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(table.stdout).toMatch(/\n\(the newest 3; --limit N for more\)\n$/);
    const all = await simplebb(['history', '--url', f.url, '--limit', '100']);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(6); // header and five, over three pages, nothing more to say
  });

  it('--failing asks for failing=1 and exits 1 when something is red, 0 when nothing is', async () => {
    const f = await fake();
    const red = await simplebb(['history', '--failing', '--url', f.url]);
    expect(red.code).toBe(1);
    expect(red.stdout.trimEnd().split('\n').slice(1).map((l) => l.slice(21).split(/ +/).slice(0, 4).join(' '))).toEqual(['foo main b1 failure', 'bar dev b2 timeout']);
    expect(f.requests.at(-1)!.query).toEqual({ failing: '1', limit: '20' });
    const json = await simplebb(['history', '--failing', '--json', '--url', f.url]);
    expect(json.code).toBe(1);
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(2);
    const green = await simplebb(['history', '--failing', '--project', 'baz', '--url', f.url]);
    expect(green).toMatchObject({ code: 0, stdout: 'nothing failing\n' });
  });
});

describe('simplebb show', () => {
  it('shows a suggestion with every builder\'s part', async () => {
    const f = await fake();
    const r = await simplebb(['show', ID, '--url', f.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      `suggestion  ${ID} (seq 7)`,
      'project     foo',
      'branch      main',
      'revision    0123abcd',
      'from        127.0.0.1:51512',
      'created     2026-12-02 09:05:07',
      '',
      'BUILDER  STATE     AT                   VERDICT  EXIT  TOOK',
      'b1       reported  2026-12-02 09:05:09  failure  1     0.41 s',
      'b2       started   2026-12-02 09:05:08  -        -     -',
      '',
    ].join('\n'));
    const json = await simplebb(['show', ID, '--json', '--url', f.url]);
    expect(JSON.parse(json.stdout)).toEqual(data.suggestions![0]);
  });

  it('shows a builder\'s report with its fields and its output\'s last lines, what came from the master escaped', async () => {
    const f = await fake();
    const r = await simplebb(['show', ID, 'b1', '--url', f.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 13)).toEqual([
      `report    ${ID} (seq 7) on b1`,
      'project   foo',
      'branch    main',
      'revision  0123abcd',
      'verdict   failure',
      'exit      1',
      'took      0.41 s',
      expect.stringMatching(/^started   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      expect.stringMatching(/^received  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      'message   make: \\x1b]0;pwned\\x07 failed',
      'node      v22.11.0',
      'system    Linux 6.1.0 x86_64 (b1)',
      'output    2048 bytes, 512 cut from the middle',
    ]);
    expect(lines[14]).toBe(`the last 10 lines of its output (all of it: simplebb logs ${ID} b1):`);
    expect(lines[15]).toBe('  │ line 4');
    expect(lines).toContain('  │ a\\x1b[2Jb\\x1b]52;c;ZXZpbA==\\x07c\\x1b]0;title\\x07d\\x9be\\u202ef\\x1b[31mred\\x1b[0m');
    expect(lines.at(-2)).toBe('  │ last line');
    expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    const json = await simplebb(['show', ID, 'b1', '--json', '--url', f.url]);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: ID, builder: 'b1', output: r2.output, message: r2.message });
  });

  it('names what is missing on a 404: the suggestion, or the builder\'s report', async () => {
    const f = await fake();
    expect(oneLineError(await simplebb(['show', 'mx00000000-nope', '--url', f.url]))).toBe('simplebb: no such suggestion mx00000000-nope');
    expect(oneLineError(await simplebb(['show', ID, 'b9', '--url', f.url]))).toBe(`simplebb: no report of builder b9 for suggestion ${ID}`);
    expect(oneLineError(await simplebb(['logs', ID, 'b9', '--url', f.url]))).toBe(`simplebb: no report of builder b9 for suggestion ${ID} (if it runs now, follow it with --follow)`);
  });
});

describe('simplebb logs', () => {
  it('passes the log to a pipe byte for byte', async () => {
    const f = await fake();
    const r = await simplebb(['logs', ID, 'b1', '--url', f.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(r2.output);
    expect(f.requests.at(-1)!.path).toBe(`/api/v1/reports/${ID}/b1/log`);
  });

  it('on a terminal shows control sequences, C1 controls and bidi overrides as escapes and keeps colours unless NO_COLOR', async () => {
    const f = await fake();
    const cmd = `${process.execPath} ${join(DIST, 'simplebb.js')} --url ${f.url} logs ${ID} b1`;
    const seen = await onTerminal(cmd, { NO_COLOR: '' });
    const line = seen.split('\n').find((l) => l.includes('red'))!;
    expect(line).toBe('a\\x1b[2Jb\\x1b]52;c;ZXZpbA==\\x07c\\x1b]0;title\\x07d\\x9be\\u202ef\x1b[31mred\x1b[0m\x1b[0m');
    expect(seen).toContain('line 11');
    expect(seen).toContain('last line');
    expect(seen.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]/);
    const plain = await onTerminal(cmd, { NO_COLOR: '1' });
    expect(plain).toContain('\\u202efred\n');
    expect(plain).not.toContain('\x1b');
  });
});

describe('simplebb suggest', () => {
  it('posts the suggestion with the suggest token and says who got it', async () => {
    const f = await fake({ token: TOKEN, suggestToken: 's'.repeat(32) });
    const r = await simplebb(['suggest', 'foo', 'main', '-r', '0123abcd', '--url', f.url], { SIMPLEBB_READ_TOKEN: TOKEN, SIMPLEBB_SUGGEST_TOKEN: 's'.repeat(32) });
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: 'suggested foo main (0123abcd) as mx57dlhd-0000000000ff to 1 builder: b1\n' });
    expect(f.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/suggestions', authorization: `Bearer ${'s'.repeat(32)}` });
    expect(JSON.parse(f.requests.at(-1)!.body!)).toEqual({ project: 'foo', branch: 'main', revision: '0123abcd' });
    const json = await simplebb(['suggest', 'foo', 'main', '--json', '--url', f.url], { SIMPLEBB_SUGGEST_TOKEN: 's'.repeat(32) });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'mx57dlhd-0000000000ff', count: 1, builders: ['b1'] });
    const refused = await simplebb(['suggest', 'foo', 'main', '--url', f.url], { SIMPLEBB_READ_TOKEN: TOKEN });
    expect(oneLineError(refused)).toBe('simplebb: the master refused: this master needs a token (give the suggest token with --token-file FILE, SIMPLEBB_SUGGEST_TOKEN_FILE or SIMPLEBB_SUGGEST_TOKEN)');
  });
});

describe('simplebb\'s errors', () => {
  it('a 401 is one line with the master\'s reason and where a token goes; with the token the read works', async () => {
    const f = await fake({ token: TOKEN });
    expect(oneLineError(await simplebb(['status', '--url', f.url])))
      .toBe('simplebb: the master refused: this master needs a token (give the read token with --token-file FILE, SIMPLEBB_READ_TOKEN_FILE or SIMPLEBB_READ_TOKEN)');
    expect(oneLineError(await simplebb(['history', '--url', f.url], { SIMPLEBB_READ_TOKEN: 'w'.repeat(32) }))).toBe('simplebb: the master refused: wrong token');
    const file = join(tempDir(), 'read.token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    const ok = await simplebb(['history', '--url', f.url, '--token-file', file]);
    expect(ok.code).toBe(0);
    expect(f.requests.at(-1)!.authorization).toBe(`Bearer ${TOKEN}`);
    expect((await simplebb(['history', '--url', f.url], { SIMPLEBB_READ_TOKEN_FILE: file })).code).toBe(0);
    expect(oneLineError(await simplebb(['status', '--url', f.url, '--token-file', join(file, 'nope')]))).toMatch(/^simplebb: cannot read token file .*nope: a part of the path is not a directory$/);
  });

  it('refuses NODE_TLS_REJECT_UNAUTHORIZED=0 for an https URL instead of sending a token unchecked', async () => {
    const r = await simplebb(['status', '--url', 'https://127.0.0.1:7901'], { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toBe('simplebb: NODE_TLS_REJECT_UNAUTHORIZED=0 would send your token to anyone in the middle; unset it (trust a private CA with NODE_EXTRA_CA_CERTS=ca.crt)');
  });

  it('a refused connection names the URL and says "connection refused"', async () => {
    const port = await closedPort();
    expect(oneLineError(await simplebb(['status', '--url', `http://127.0.0.1:${port}`]))).toBe(`simplebb: cannot reach the master at http://127.0.0.1:${port}: connection refused`);
    expect(oneLineError(await simplebb(['history'], { SIMPLEBB_URL: `http://127.0.0.1:${port}/` }))).toBe(`simplebb: cannot reach the master at http://127.0.0.1:${port}: connection refused`);
  });

  it('a master that does not answer in --timeout, or answers with something that is not HTTP, is one line', async () => {
    const silent = await rawServer(() => undefined);
    const started = Date.now();
    expect(oneLineError(await simplebb(['status', '--url', silent, '--timeout', '0.3']))).toBe(`simplebb: cannot reach the master at ${silent}: no answer within 0.3 s`);
    expect(Date.now() - started).toBeLessThan(5000);
    const wire = await rawServer((s) => s.end('{"type":"greeting","protocol":2}\n'));
    expect(oneLineError(await simplebb(['history', '--url', wire]))).toMatch(/^simplebb: cannot reach the master at http:\/\/127\.0\.0\.1:\d+: the answer is not HTTP \(is this the master's --http address and not its builders' port\?\)$/);
  });

  it('an answer that is not the API is one line, and so are bad flags and unknown commands', async () => {
    const f = await fake();
    expect(oneLineError(await simplebb(['status', '--url', `${f.url}/elsewhere`]))).toBe(`simplebb: ${f.url}/elsewhere/api/v1/builders: not found (is ${f.url}/elsewhere the master's HTTP address?)`);
    expect(oneLineError(await simplebb(['frob']))).toBe("simplebb: unknown command 'frob' (status, history, show, logs, where, queue, suggest, cancel, rerun, prune or hook) (see --help)");
    expect(oneLineError(await simplebb(['history', '--frob']))).toBe("simplebb: unknown option '--frob' (see --help)");
    expect(oneLineError(await simplebb(['logs', ID]))).toBe("simplebb: missing required argument 'builder' of logs (see --help)");
  });

  it('--help and --version answer at once', async () => {
    const help = await simplebb(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: simplebb \[options\] <command>/);
    for (const c of ['status', 'history', 'show <id> [builder]', 'logs <id> <builder>', 'suggest <project> <branch>', '--failing', '--url <url>', '--timeout <sec>']) expect(help.stdout).toContain(c);
    expect((await simplebb(['-V'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
