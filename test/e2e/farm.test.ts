// The core farm end to end: real masterd, clientd and simplebb-suggest processes on loopback ports with temp dirs.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, DIST, node, rawClient, ROOT, script, sleep, startBuilder, startMaster, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const FOO = 'echo "It works"\nexit 0';
const BAR = 'echo "This is broken on branch $1"\nexit 1';

describe('the core farm', () => {
  it('logs success and failure reports with uname and Node version', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { name: 'alpha', scripts: { foo: FOO, bar: BAR } });
    const a = await suggest(m.port, ['foo', 'master']);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/suggested foo master as [0-9a-z-]+ to 1 builder: alpha/);
    const b = await suggest(m.port, ['bar', 'dev', '--wait']);
    expect(b.code).toBe(1);
    expect(b.stdout).toMatch(/alpha\s+bar dev\s+failure\s+exit 1/);
    const reports = await waitFor('two reports', () => (m.reports().length >= 2 ? m.reports() : undefined));
    const foo = reports.find((r) => r.project === 'foo')!;
    const bar = reports.find((r) => r.project === 'bar')!;
    expect(foo).toMatchObject({ branch: 'master', builder: 'alpha', exitCode: 0, verdict: 'success', node: process.version });
    expect(foo.output).toBe('It works\n');
    expect(foo.uname).toMatchObject({ type: expect.any(String), release: expect.any(String), machine: expect.any(String), hostname: expect.any(String) });
    expect(bar).toMatchObject({ branch: 'dev', exitCode: 1, verdict: 'failure', output: 'This is broken on branch dev\n' });
    expect(typeof bar.durationMs).toBe('number');
  });

  it('reports an unknown project as no-script with exit code -1, and --wait exits 3', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { foo: FOO } });
    const r = await suggest(m.port, ['nope', 'main', '--wait']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('no-script');
    const rep = await waitFor('report', () => m.reports()[0]);
    expect(rep).toMatchObject({ project: 'nope', exitCode: -1, verdict: 'no-script', message: 'no build script named nope' });
  });

  it('--ignore-unknown builders skip projects they lack', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { name: 'picky', scripts: { foo: FOO }, args: ['--ignore-unknown'] });
    await startBuilder(m.port, { name: 'broad', scripts: { bar: BAR } });
    const r = await suggest(m.port, ['bar', 'main', '--wait']);
    expect(r.stdout).toContain('to 1 builder: broad');
    expect(r.code).toBe(1);
  });

  it('relays to two builders with different scripts and waits for both', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { name: 'one', scripts: { foo: FOO } });
    await startBuilder(m.port, { name: 'two', scripts: { bar: BAR } });
    const foo = await suggest(m.port, ['foo', 'main', '--wait']);
    expect(foo.code).toBe(0); // one ran and succeeded, two had no script
    expect(foo.stdout).toMatch(/one\s+foo main\s+success/);
    expect(foo.stdout).toMatch(/two\s+foo main\s+no-script/);
    const bar = await suggest(m.port, ['bar', 'main', '--wait']);
    expect(bar.code).toBe(1);
    const none = await suggest(m.port, ['baz', 'main', '--wait']);
    expect(none.code).toBe(3);
    await waitFor('six reports', () => m.reports().length === 6);
  });

  it('--wait with no builder connected exits 3', async () => {
    const m = await startMaster();
    const r = await suggest(m.port, ['foo', 'main', '--wait']);
    expect(r.stdout).toContain('to 0 builders');
    expect(r.code).toBe(3);
  });

  it('--follow streams output before the build ends', async () => {
    const m = await startMaster();
    const dir = tempDir();
    const gate = join(dir, 'gate');
    await startBuilder(m.port, { scripts: { slow: `echo "first line"\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho "last line"` } });
    const p = node('suggest', ['-p', String(m.port), 'slow', 'main', '--follow']);
    await waitFor('live output', () => p.stdout().includes('b1| first line'));
    expect(p.stdout()).not.toContain('last line');
    expect(p.child.exitCode).toBeNull();
    writeFileSync(gate, '');
    const r = await p.exited;
    expect(r.code).toBe(0);
    expect(p.stdout()).toContain('b1| last line');
  });

  it('--follow prints the build\'s bytes line by line, a character split between two writes whole, a 3 MB burst complete', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { loud: "printf 'euro \\342\\202'; sleep 0.3; printf '\\254 sign\\n'; yes 123456789 | head -c 3000000; printf 'no newline'" } });
    const r = await suggest(m.port, ['loud', 'main', '--follow']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('b1| euro € sign');
    expect(lines.filter((l) => l === 'b1| 123456789')).toHaveLength(300_000);
    expect(lines).toContain('b1| no newline');
    const j = await suggest(m.port, ['loud', 'main', '--follow', '--json']);
    const text = j.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; data?: string }).filter((o) => o.type === 'output').map((o) => o.data).join('');
    expect(text.startsWith('euro € sign\n123456789\n')).toBe(true);
    expect(text.length).toBe('euro € sign\n'.length + 3_000_000 + 'no newline'.length);
  });

  it('picks up a script added at runtime without a restart', async () => {
    const m = await startMaster();
    const b = await startBuilder(m.port, { name: 'b1', scripts: { foo: FOO }, args: ['--ignore-unknown'] });
    script(b.scripts, 'late', 'echo late');
    await waitFor('master to learn the new project', () => m.log().some((l) => l.event === 'projects' && (l.projects as string[]).includes('late')));
    const r = await suggest(m.port, ['late', 'main', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('to 1 builder: b1');
  });

  it('runs the script with the branch as its only argument, in its work dir, with SIMPLEBB_* set', async () => {
    const m = await startMaster();
    const b = await startBuilder(m.port, { scripts: { env: 'echo "args=$# 1=$1 pwd=$(pwd) p=$SIMPLEBB_PROJECT b=$SIMPLEBB_BRANCH r=$SIMPLEBB_REVISION id=$SIMPLEBB_BUILD_ID"' } });
    const r = await suggest(m.port, ['env', 'feat/x', '--revision', 'abcdef1', '--wait']);
    expect(r.code).toBe(0);
    const rep = await waitFor('report', () => m.reports()[0]);
    expect(rep.output).toBe(`args=1 1=feat/x pwd=${join(b.dir, 'work', 'env')} p=env b=feat/x r=abcdef1 id=${rep.id as string}\n`);
  });

  it('suggest gives up with one line when the master stays down for its --connect-timeout', async () => {
    const dir = tempDir();
    // A port that was free a moment ago.
    const m = await startMaster({ dir });
    const port = m.port;
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    const r = await suggest(port, ['--connect-timeout', '1', 'foo', 'main']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`^simplebb-suggest: cannot reach master at 127\\.0\\.0\\.1:${port}: connection refused \\([2-9] tries in 1\\.\\d\\d s\\)$`));
  });

  it('suggest keeps trying while the master restarts, and its suggestion is accepted once it listens', async () => {
    const dir = tempDir();
    const m = await startMaster({ dir });
    const port = m.port;
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    const asking = suggest(port, ['--connect-timeout', '20', 'foo', 'main']);
    await sleep(500);
    const again = await startMaster({ dir, port });
    const r = await asking;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(again.log().filter((l) => l.event === 'suggestion').map((l) => l.branch)).toEqual(['main']);
  });

  it('refuses invalid names and bad flags with one line and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['../etc', 'main'], /invalid project "..\/etc": project name must not contain ".."/],
      [['foo', 'a..b'], /invalid branch "a..b": branch name must not contain ".."/],
      [['foo', '--', '-rf'], /invalid branch "-rf": branch name must not start with "-"/],
      [['foo', 'main', '--revision', 'zz'], /invalid revision "zz"/],
      [['foo', 'main', '--port', 'x'], /port must be a number/],
      [['--bogus'], /unknown option '--bogus'/],
      // `-rf main` is revision "f" for project "main" with no branch; so is a bare project with nothing on stdin.
      [['-rf', 'main'], /^simplebb-suggest: --revision "f" needs a BRANCH/],
      [['main'], /^simplebb-suggest: no BRANCH given and stdin is empty/],
    ];
    for (const [args, re] of cases) {
      const r = await suggest(1, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(re);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('all three programs answer --help and --version', () => {
    const version = (JSON.parse(execFileSync('cat', [join(ROOT, 'package.json')]).toString()) as { version: string }).version;
    for (const prog of ['masterd', 'clientd', 'suggest']) {
      expect(execFileSync(process.execPath, [join(DIST, `${prog}.js`), '--version']).toString().trim()).toBe(version);
      expect(execFileSync(process.execPath, [join(DIST, `${prog}.js`), '--help']).toString()).toContain(`Usage: simplebb-${prog}`);
    }
  });

  it('reads flags from the environment', async () => {
    const dir = tempDir();
    const p = node('masterd', [], { env: { SIMPLEBB_PORT: '0', SIMPLEBB_DATA: join(dir, 'data'), SIMPLEBB_LOG: join(dir, 'env.log') } });
    await waitFor('master listening via env', () => existsSync(join(dir, 'env.log')) && execFileSync('cat', [join(dir, 'env.log')]).toString().includes('"listening"'));
    process.kill(p.pid, 'SIGTERM');
    expect((await p.exited).code).toBe(0);
  });
});

describe('the master under bad input', () => {
  const raw = rawClient;

  it('answers garbage with one error line each and keeps serving everyone', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { foo: FOO } });
    const c = raw(m.port);
    await waitFor('greeting', () => c.lines()[0]);
    c.sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester' }) + '\n');
    await waitFor('welcome', () => c.lines().some((l) => l.type === 'welcome'));
    c.sock.write('garbage\nnull\n{"type":"nope"}\n\xff\xfe\n{"type":"suggest","project":"../../bin/sh","branch":"main"}\n');
    const errors = await waitFor('five errors', () => {
      const e = c.lines().filter((l) => l.type === 'error');
      return e.length >= 5 ? e : undefined;
    });
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('not valid JSON'),
      'message must be a JSON object',
      'unknown message type "nope"',
      expect.stringContaining('not valid'),
      expect.stringContaining('project name must not contain ".."'),
    ]);
    expect(c.closed()).toBe(false);
    const ok = await suggest(m.port, ['foo', 'main', '--wait']);
    expect(ok.code).toBe(0);
    c.sock.destroy();
  });

  it.each([
    ['in one chunk', (s: import('node:net').Socket, big: Buffer) => s.write(Buffer.concat([big, Buffer.from('\n')]))],
    ['split across many chunks', async (s: import('node:net').Socket, big: Buffer) => {
      for (let i = 0; i < big.length && !s.destroyed; i += 64 * 1024) {
        s.write(big.subarray(i, i + 64 * 1024));
        await new Promise((r) => setTimeout(r, 1));
      }
    }],
  ])('closes a connection that sends a line over 1 MiB %s, and keeps serving others', async (_how, send) => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { foo: FOO } });
    const c = raw(m.port);
    await waitFor('greeting', () => c.lines()[0]);
    const big = Buffer.from(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester', pad: 'x'.repeat(1024 * 1024 + 10) }));
    await send(c.sock, big);
    await waitFor('connection closed', () => c.closed());
    expect(c.lines().at(-1)).toEqual({ type: 'error', message: 'line longer than 1048576 bytes' });
    const ok = await suggest(m.port, ['foo', 'main', '--wait']);
    expect(ok.code).toBe(0);
  });

  it('closes a connection that says something other than hello first, and names the version on a mismatch', async () => {
    const m = await startMaster();
    const a = raw(m.port);
    await waitFor('greeting', () => a.lines()[0]);
    a.sock.write('{"type":"suggest","project":"foo","branch":"main"}\n');
    await waitFor('closed', () => a.closed());
    expect(a.lines().at(-1)).toEqual({ type: 'error', message: 'expected a hello message first' }); // refused unparsed
    // A line that names hello somewhere but is another message is parsed, and named.
    const c = raw(m.port);
    await waitFor('greeting', () => c.lines()[0]);
    c.sock.write('{"type":"suggest","project":"foo","branch":"hello"}\n');
    await waitFor('closed', () => c.closed());
    expect(c.lines().at(-1)).toEqual({ type: 'error', message: 'expected a hello message first, got suggest' });
    const b = raw(m.port);
    await waitFor('greeting', () => b.lines()[0]);
    // A peer of protocol version 1 (simplebb 0.1) hears both versions named.
    b.sock.write('{"type":"hello","protocol":1,"role":"suggester"}\n');
    await waitFor('closed', () => b.closed());
    expect(b.lines().at(-1)).toEqual({ type: 'error', message: 'protocol version 1 is not supported; this master speaks version 2' });
  });

  it('a client of version 2 meeting a master of version 1 says so in one line naming both', async () => {
    const old = createServer((s) => {
      s.on('error', () => undefined);
      s.write('{"type":"greeting","protocol":1,"server":"simplebb-masterd/0.1.0","nonce":"00"}\n');
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    try {
      const r = await suggest((old.address() as { port: number }).port, ['foo', 'main']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toMatch(/^simplebb-suggest: cannot reach master at 127\.0\.0\.1:\d+: master's protocol version 1 is not supported; this client speaks version 2$/);
    } finally {
      old.close();
    }
  });

  it('closes connections that never say hello', async () => {
    const m = await startMaster({ args: ['--hello-timeout', '0.3'] });
    const c = raw(m.port);
    await waitFor('closed', () => c.closed(), 5000);
    expect(c.lines().at(-1)).toEqual({ type: 'error', message: 'no hello within 0.3 s' });
  });
});
