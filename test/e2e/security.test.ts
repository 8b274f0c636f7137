// Locked down by default: role tokens, TLS, limits, and the refusal to serve the network unprotected.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builderToken, proof } from '../../lib/protocol/auth.js';
import { cleanup, messages, node, rawClient, ROOT_OK, startBuilder, startMaster, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const BT = 'builder-secret-0123456789abcdef';
const ST = 'suggest-secret-0123456789abcdef';
const TOKENS = { SIMPLEBB_BUILDER_TOKEN: BT, SIMPLEBB_SUGGEST_TOKEN: ST };

const raw = rawClient;

describe('authentication by role', () => {
  it('lets in builders and suggesters with their own tokens, and keeps tokens out of logs and build environments', async () => {
    const m = await startMaster({ env: TOKENS });
    const b = await startBuilder(m.port, { scripts: { env: 'env | grep -c TOKEN || true' }, env: { SIMPLEBB_BUILDER_TOKEN: builderToken(BT, 'b1') } });
    const r = await suggest(m.port, ['env', 'main', '--wait'], { env: { SIMPLEBB_SUGGEST_TOKEN: ST } });
    expect(r.code).toBe(0);
    const rep = await waitFor('report', () => m.reports()[0]);
    expect(rep.output).toBe('0\n');
    for (const file of [m.logFile, b.logFile]) {
      const text = execFileSync('cat', [file]).toString();
      expect(text).not.toContain(BT);
      expect(text).not.toContain(builderToken(BT, 'b1'));
      expect(text).not.toContain(ST);
    }
  });

  it('refuses a wrong token, a missing one, and the other role\'s token, logging the address', async () => {
    const m = await startMaster({ env: TOKENS });
    const wrong = await suggest(m.port, ['foo', 'main'], { env: { SIMPLEBB_SUGGEST_TOKEN: 'not-the-right-token-at-all' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim()).toBe(`simplebb-suggest: master at 127.0.0.1:${m.port} refused: authentication failed`);
    const none = await suggest(m.port, ['foo', 'main']);
    expect(none.stderr).toContain('refused: authentication failed');
    const builderTokenAsSuggester = await suggest(m.port, ['foo', 'main'], { env: { SIMPLEBB_SUGGEST_TOKEN: BT } });
    expect(builderTokenAsSuggester.stderr).toContain('authentication failed');
    const b = await startBuilder(m.port, { name: 'intruder', env: { SIMPLEBB_BUILDER_TOKEN: ST }, wait: false });
    await waitFor('builder refused', () => b.log().some((l) => String(l.reason ?? '').includes('authentication failed')));
    const failures = m.log().filter((l) => l.event === 'auth-failed');
    expect(failures.length).toBeGreaterThanOrEqual(4);
    expect(failures[0]!.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(m.log().some((l) => l.event === 'connected')).toBe(false);
  });

  it('gives each builder its own identity: a token derived for one name cannot speak as another, and the shared secret only with --shared-builder-token', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'secret'), `${BT}\n`, { mode: 0o600 });
    const printed = node('masterd', ['token', 'builder', 'm1', '--builder-token-file', join(d, 'secret')]);
    expect((await printed.exited).code).toBe(0);
    expect(printed.stdout()).toBe(`${builderToken(BT, 'm1')}\n`);
    for (const [args, line] of [
      [['token', 'builder', 'm/1', '--builder-token-file', join(d, 'secret')], /^simplebb-masterd token: builder name must be/],
      [['token', 'suggester', 'm1', '--builder-token-file', join(d, 'secret')], /^simplebb-masterd token: unknown role "suggester"/],
      [['token', 'builder', 'm1'], /^simplebb-masterd token: no builder secret: give the master's --builder-token-file/],
    ] as const) {
      const bad = node('masterd', [...args], { env: { SIMPLEBB_BUILDER_TOKEN: '' } });
      expect((await bad.exited).code).toBe(2);
      expect(bad.stderr()).toMatch(line);
      expect(bad.stderr().trim().split('\n')).toHaveLength(1);
    }
    const m = await startMaster({ env: TOKENS });
    const m1 = await startBuilder(m.port, { name: 'm1', env: { SIMPLEBB_BUILDER_TOKEN: builderToken(BT, 'm1') } });
    const takeover = await startBuilder(m.port, { name: 'm2', env: { SIMPLEBB_BUILDER_TOKEN: builderToken(BT, 'm1') }, wait: false });
    const shared = await startBuilder(m.port, { name: 'm3', env: { SIMPLEBB_BUILDER_TOKEN: BT }, wait: false });
    await waitFor('both refused', () => takeover.log().some((l) => String(l.reason ?? '').includes('authentication failed'))
      && shared.log().some((l) => String(l.reason ?? '').includes('authentication failed')));
    expect(shared.log().find((l) => String(l.reason ?? '').includes('authentication failed'))!.reason).toContain('builder m3 proved the master\'s builder secret, not a token of its own');
    expect(m.log().filter((l) => l.event === 'connected').map((l) => l.builder)).toEqual(['m1']);
    expect(m1.child.exitCode).toBeNull();
    const open = await startMaster({ env: TOKENS, args: ['--shared-builder-token'] });
    expect(open.stderr()).toContain('warning: --shared-builder-token: a builder that has the builder secret itself may connect under any builder name');
    await startBuilder(open.port, { name: 'm3', env: { SIMPLEBB_BUILDER_TOKEN: BT } });
    await startBuilder(open.port, { name: 'm4', env: { SIMPLEBB_BUILDER_TOKEN: builderToken(BT, 'm4') } });
    // A builder logs `connected` on its welcome, a moment before the master's line about it is written.
    const connected = () => open.log().filter((l) => l.event === 'connected').map((l) => l.builder).sort();
    await waitFor('the master to log both builders', () => connected().length >= 2, 5000).catch(() => undefined);
    expect(connected()).toEqual(['m3', 'm4']);
  });

  it('refuses a replayed handshake: the proof is bound to each connection\'s nonce', async () => {
    const m = await startMaster({ env: TOKENS });
    const a = raw(m.port);
    const greeting = await waitFor('greeting', () => a.lines()[0]);
    const hello = { type: 'hello', protocol: 2, role: 'suggester', auth: proof(ST, greeting.nonce as string, 'suggester') };
    a.send(hello);
    await waitFor('welcome', () => a.lines().some((l) => l.type === 'welcome'));
    const b = raw(m.port);
    const g2 = await waitFor('second greeting', () => b.lines()[0]);
    expect(g2.nonce).not.toBe(greeting.nonce);
    b.send(hello);
    await waitFor('closed', () => b.closed());
    expect(b.lines().at(-1)).toEqual({ type: 'error', message: 'authentication failed' });
    a.sock.destroy();
  });

  it('refuses to listen beyond loopback without both tokens, unless --insecure (which warns)', async () => {
    const dir = tempDir();
    const p = node('masterd', ['--host', '0.0.0.0', '--port', '0', '--data', join(dir, 'd'), '--log', join(dir, 'l')]);
    const r = await p.exited;
    expect(r.code).toBe(78);
    expect(p.stderr().trim()).toMatch(/^simplebb-masterd: refusing to listen on 0\.0\.0\.0 without both --builder-token-file and --suggest-token-file/);
    const q = node('masterd', ['--host', '0.0.0.0', '--port', '0', '--data', join(dir, 'd'), '--log', join(dir, 'l2'), '--insecure']);
    await waitFor('insecure warning', () => q.stderr().includes('warning: INSECURE: listening on 0.0.0.0'));
    process.kill(q.pid, 'SIGTERM');
    expect((await q.exited).code).toBe(0);
    const same = node('masterd', ['--port', '0', '--data', join(dir, 'd')], { env: { SIMPLEBB_BUILDER_TOKEN: BT, SIMPLEBB_SUGGEST_TOKEN: BT } });
    expect((await same.exited).code).toBe(78);
    expect(same.stderr()).toContain('the builder and suggest tokens are the same');
  });

  it('clientd refuses to run as root without --allow-root', async () => {
    if (process.getuid?.() !== 0) return expect(ROOT_OK).toEqual([]);
    const dir = tempDir();
    const p = node('clientd', ['--master', '127.0.0.1:1', '--scripts', join(dir, 's'), '--spool', join(dir, 'sp'), '--log', join(dir, 'l')]);
    expect((await p.exited).code).toBe(78);
    expect(p.stderr().trim()).toBe('simplebb-clientd: refusing to run builds as root: run as an unprivileged user, or pass --allow-root if you really mean it');
  });
});

describe('the master\'s files', () => {
  it('are readable by its user only, also when --data already exists and the umask would allow more', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'data'), { mode: 0o755 });
    writeFileSync(join(dir, 'server.log'), '', { mode: 0o644 });
    const m = await startMaster({ dir });
    expect((await suggest(m.port, ['foo', 'main'])).code).toBe(0); // a commit: the WAL is written
    for (const f of ['simplebb.db', 'simplebb.db-wal', 'simplebb.db-shm']) {
      expect((statSync(join(dir, 'data', f)).mode & 0o777).toString(8), f).toBe('600');
    }
    expect((statSync(m.logFile).mode & 0o777).toString(8)).toBe('600');
  });
});

describe('TLS', () => {
  function certs() {
    const dir = tempDir();
    const mk = (name: string, san: string) => execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', '/CN=simplebb-test', '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
    mk('server', 'DNS:localhost,IP:127.0.0.1');
    mk('other', 'DNS:localhost,IP:127.0.0.1');
    mk('named', 'DNS:only.example.invalid');
    return dir;
  }

  it('works end to end with the right CA, and fails clearly with the wrong CA, the wrong name, or no TLS', async () => {
    const c = certs();
    const m = await startMaster({ args: ['--tls-cert', join(c, 'server.crt'), '--tls-key', join(c, 'server.key')] });
    await startBuilder(m.port, { scripts: { foo: 'echo over tls' }, args: ['--tls-ca', join(c, 'server.crt')] });
    const ok = await suggest(m.port, ['foo', 'main', '--wait', '--tls-ca', join(c, 'server.crt')]);
    expect(ok.code).toBe(0);
    expect((await waitFor('report', () => m.reports()[0])).output).toBe('over tls\n');
    const wrongCa = await suggest(m.port, ['foo', 'main', '--tls-ca', join(c, 'other.crt')]);
    expect(wrongCa.code).toBe(2);
    expect(wrongCa.stderr.trim()).toMatch(new RegExp(`^simplebb-suggest: cannot reach master at 127\\.0\\.0\\.1:${m.port}: TLS: certificate`));
    // NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment does not turn the check off.
    const unchecked = await suggest(m.port, ['foo', 'main', '--tls-ca', join(c, 'other.crt')], { env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
    expect(unchecked.code).toBe(2);
    expect(unchecked.stderr).toContain('TLS: certificate');
    expect(unchecked.stderr).toContain('simplebb-suggest: warning: NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: the master\'s certificate is checked all the same');
    const plain = await suggest(m.port, ['foo', 'main', '--connect-timeout', '1']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('(if the master serves TLS, use --tls or --tls-ca)');
    const plainMaster = await startMaster();
    const tlsToPlain = await suggest(plainMaster.port, ['foo', 'main', '--tls-ca', join(c, 'server.crt')]);
    expect(tlsToPlain.code).toBe(2);
    expect(tlsToPlain.stderr.trim()).toBe(`simplebb-suggest: cannot reach master at 127.0.0.1:${plainMaster.port}: TLS: the master does not speak TLS (it answered in plain text): drop --tls and --tls-ca, or give the master --tls-cert and --tls-key`);
    await waitFor('the plain master names the TLS client', () => plainMaster.log().find((l) => l.event === 'invalid' && String(l.problem).startsWith('the client speaks TLS, and this master serves no TLS')), 10_000);
    const m2 = await startMaster({ args: ['--tls-cert', join(c, 'named.crt'), '--tls-key', join(c, 'named.key')] });
    const wrongName = await suggest(m2.port, ['foo', 'main', '--tls-ca', join(c, 'named.crt')]);
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toContain('TLS: certificate is not for this host name');
    const withSystemCas = await suggest(plainMaster.port, ['foo', 'main', '--tls']);
    expect(withSystemCas.stderr).toContain('TLS: the master does not speak TLS');
  });

  it('counts TLS connections per address at TCP accept, before the handshake: silent handshakes cannot crowd out another address', async () => {
    const c = certs();
    const m = await startMaster({ args: ['--tls-cert', join(c, 'server.crt'), '--tls-key', join(c, 'server.key'), '--max-conns-per-address', '3'] });
    const silent = Array.from({ length: 5 }, () => raw(m.port)); // TCP only: no ClientHello, ever
    await waitFor('the two over the limit to be closed', () => silent.filter((x) => x.closed()).length === 2, 5000);
    expect(m.log().filter((l) => l.event === 'too-many-connections')).toHaveLength(2);
    // Another address (127.0.0.2, same loopback) still gets in and is greeted, while the three hold their slots.
    const greeting = await new Promise<string>((resolve, reject) => {
      const tcp = netConnect({ host: '127.0.0.1', port: m.port, localAddress: '127.0.0.2' });
      const t = tlsConnect({ socket: tcp, host: '127.0.0.1', ca: readFileSync(join(c, 'server.crt')) }, () => undefined);
      t.once('data', (d: Buffer) => { resolve(d.toString()); t.destroy(); });
      t.once('error', reject);
      setTimeout(() => reject(new Error('no greeting in 5 s')), 5000).unref();
    });
    expect(JSON.parse(greeting.split('\n')[0]!)).toMatchObject({ type: 'greeting', protocol: 2 });
    expect(silent.filter((x) => x.closed())).toHaveLength(2);
    for (const x of silent) x.sock.destroy();
  });

  it('drops a connection that never completes the TLS handshake', async () => {
    const c = certs();
    const m = await startMaster({ args: ['--tls-cert', join(c, 'server.crt'), '--tls-key', join(c, 'server.key'), '--hello-timeout', '0.3'] });
    const silent = raw(m.port);
    await waitFor('the master to drop the silent connection', () => silent.closed(), 5000);
    // A plain client waits for a greeting, so the handshake never starts: the master says what that usually means.
    expect(m.log().find((l) => l.event === 'tls-error')).toMatchObject({ address: '127.0.0.1', error: 'no TLS handshake within 0.3 s: the client may not use TLS (give it --tls or --tls-ca)' });
  });
});

describe('limits', () => {
  it('rate-limits suggestions per address, across its connections, and keeps serving other addresses', async () => {
    const m = await startMaster({ args: ['--suggest-rate', '5', '--suggest-burst', '10'] });
    await startBuilder(m.port, { scripts: { foo: 'true' }, args: ['--ignore-unknown'] });
    const suggester = async (localAddress: string) => {
      const sock = netConnect({ host: '127.0.0.1', port: m.port, localAddress });
      const got: Array<Record<string, unknown>> = [];
      sock.on('data', messages((msg) => got.push(msg)));
      sock.on('error', () => undefined);
      await waitFor('greeting', () => got[0]);
      sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester' }) + '\n');
      await waitFor('welcome', () => got.some((l) => l.type === 'welcome'));
      const ask = async (n: number) => {
        const before = got.length;
        for (let i = 0; i < n; i++) sock.write(JSON.stringify({ type: 'suggest', ref: String(i), project: 'nothing', branch: 'main' }) + '\n');
        await waitFor(`${n} answers`, () => got.slice(before).filter((l) => l.type === 'accepted' || l.type === 'error').length >= n);
        return got.slice(before);
      };
      return { sock, ask };
    };
    const c = await suggester('127.0.0.1');
    const answers = await c.ask(100);
    const accepted = answers.filter((l) => l.type === 'accepted').length;
    const limited = answers.filter((l) => l.type === 'error');
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan(20);
    expect(limited[0]).toMatchObject({ message: 'rate limit: at most 5 suggestions per second from one address (burst 10)', ref: expect.any(String) });
    // A new connection from the same address does not start with a full bucket...
    const again = await suggester('127.0.0.1');
    expect((await again.ask(20)).filter((l) => l.type === 'accepted').length).toBeLessThan(5);
    // ...another address does; the refusals were logged at a limited rate, with the count of those left out.
    const other = await suggester('127.0.0.2');
    expect((await other.ask(10)).filter((l) => l.type === 'accepted')).toHaveLength(10);
    const logged = m.log().filter((l) => l.event === 'rate-limited');
    expect(logged.length).toBeLessThan(30);
    for (const x of [c, again, other]) x.sock.destroy();
  });

  it('caps connections per address', async () => {
    const m = await startMaster({ args: ['--max-conns-per-address', '3'] });
    const conns = [raw(m.port), raw(m.port), raw(m.port)];
    await waitFor('three greetings', () => conns.every((c) => c.lines().length > 0));
    const fourth = raw(m.port);
    await waitFor('fourth closed', () => fourth.closed());
    expect(fourth.lines()).toEqual([{ type: 'error', message: 'too many connections from 127.0.0.1 (limit 3)' }]);
    conns[0]!.sock.destroy();
    // The master may not have seen the close yet: try again until a new connection is greeted.
    let fifth = raw(m.port);
    await waitFor('a freed slot is usable again', () => {
      if (fifth.lines()[0]?.type === 'greeting') return true;
      if (fifth.closed()) fifth = raw(m.port);
      return false;
    });
    fifth.sock.destroy();
    for (const c of conns) c.sock.destroy();
  });

  it('holds a budget for unfinished input from all connections: the oldest unauthenticated holders are cut first, memory stays bounded', async () => {
    const m = await startMaster({ args: ['--max-input-buffer', '4', '--hello-timeout', '60'] });
    const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${m.child.pid}/status`, 'utf8'))![1]) / 1024;
    // An authenticated peer (a suggester: no tokens on loopback) is the oldest holder, half-way through a long line.
    const trusted = raw(m.port);
    await waitFor('greeting', () => trusted.lines().length > 0);
    trusted.send({ type: 'hello', protocol: 2, role: 'suggester' });
    await waitFor('welcome', () => trusted.lines().some((l) => l.type === 'welcome'));
    trusted.sock.write('{"type":"ping","t":7' + ' '.repeat(512 * 1024));
    await new Promise((r) => setTimeout(r, 200));
    const before = rss();
    const strangers = Array.from({ length: 250 }, () => raw(m.port));
    await waitFor('greetings', () => strangers.every((c) => c.lines().length > 0 || c.closed()), 20_000);
    for (const c of strangers) c.sock.write('{"type":"hello","junk":"' + 'x'.repeat(1000 * 1024));
    await waitFor('the oldest strangers cut', () => strangers.filter((c) => c.closed()).length >= 240, 30_000);
    const cut = strangers.filter((c) => c.closed());
    expect(cut[0]!.lines().at(-1)).toEqual({ type: 'error', message: expect.stringMatching(/^the master holds more than 4 MiB of unfinished lines from all connections; this connection's was the oldest and is dropped$/) });
    expect(strangers[0]!.closed()).toBe(true); // oldest first
    expect(strangers.at(-1)!.closed()).toBe(false); // the newest still within the budget
    // 250 MB were sent, which the master would hold without the budget; it kept at most 4 MiB of it. Its RSS still
    // grows by the garbage it has read and not yet collected (measured here: ~90 MiB).
    expect(rss() - before).toBeLessThan(150);
    // The authenticated peer was not cut: its line completes and is answered.
    trusted.sock.write('}\n');
    await waitFor('pong', () => trusted.lines().some((l) => l.type === 'pong' && l.t === 7));
    expect(trusted.closed()).toBe(false);
    for (const c of [trusted, ...strangers]) c.sock.destroy();
  });

  it('refuses oversized report output from a builder', async () => {
    const m = await startMaster();
    const c = raw(m.port);
    await waitFor('greeting', () => c.lines()[0]);
    c.send({ type: 'hello', protocol: 2, role: 'builder', name: 'evil', instance: 'ee'.repeat(8), uname: { type: 'x', release: 'x', version: 'x', machine: 'x', hostname: 'x' }, node: 'v0', projects: [] });
    await waitFor('welcome', () => c.lines().some((l) => l.type === 'welcome'));
    for (let i = 0; i < 20 && !c.closed(); i++) c.send({ type: 'report-output', id: 'x-1', data: 'x'.repeat(100_000) });
    await waitFor('closed', () => c.closed());
    expect(String(c.lines().at(-1)!.message)).toMatch(/a report may carry at most 16 report-output chunks and \d+ characters of output/);
  });
});
