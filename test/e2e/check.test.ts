// --check: each daemon checks its configuration (and clientd its master) without starting, and says what it found.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builderToken } from '../../lib/protocol/auth.js';
import { cleanup, fakeMaster, node, ROOT_OK, script, startBuilder, startMaster, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const BT = 'builder-token-for-check-0123456789';

async function run(program: 'masterd' | 'clientd', args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = node(program, args);
  const r = await Promise.race([p.exited, new Promise<null>((res) => setTimeout(() => res(null), 15_000))]);
  if (!r) throw new Error(`${program} --check still running after 15 s`);
  return { code: r.code, out: p.stdout(), err: p.stderr() };
}

describe('simplebb-clientd --check', () => {
  it('connects once with its token, names what it found, registers nothing, and fails with one line when something is wrong', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'bt'), `${BT}\n`, { mode: 0o600 });
    writeFileSync(join(d, 'chk.token'), `${builderToken(BT, 'chk')}\n`, { mode: 0o600 });
    const m = await startMaster({ args: ['--builder-token-file', join(d, 'bt')] });
    const scripts = join(d, 'scripts');
    const base = ['--master', `127.0.0.1:${m.port}`, '--name', 'chk', '--scripts', scripts, '--state', join(d, 'state'), '--work', join(d, 'work'), ...ROOT_OK];
    mkdirSync(scripts);
    script(scripts, 'foo', 'echo foo');
    const ok = await run('clientd', [...base, '--token-file', join(d, 'chk.token'), '--check']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('simplebb-clientd: builder chk: 1 project in');
    expect(ok.out).toMatch(/^simplebb-clientd: master 127\.0\.0\.1:\d+: reachable, protocol 2, builder token accepted, name chk free$/m);
    expect(existsSync(join(d, 'work'))).toBe(false);
    expect(m.log().some((l) => l.event === 'connected' || l.event === 'builder-up')).toBe(false);
    const noToken = await run('clientd', [...base, '--check']);
    expect(noToken.code).toBe(2);
    expect(noToken.err).toMatch(/^simplebb-clientd: check failed: master at 127\.0\.0\.1:\d+ refused: authentication failed\n$/);
    const secret = await run('clientd', [...base, '--token-file', join(d, 'bt'), '--check']);
    expect(secret.code).toBe(2);
    expect(secret.err).toMatch(/^simplebb-clientd: check failed: master at 127\.0\.0\.1:\d+ refused: authentication failed: builder chk proved the master's builder secret, not a token of its own; give it the output of `simplebb-masterd token builder chk` as its token, or start the master with --shared-builder-token\n$/);
    const away = await run('clientd', [...base, '--master', '127.0.0.1:1', '--check']);
    expect(away.code).toBe(2);
    expect(away.err).toBe('simplebb-clientd: check failed: cannot reach master at 127.0.0.1:1: connection refused\n');
  });

  it('says a running clientd of that name is connected, and refuses another state dir under that name', async () => {
    const m = await startMaster();
    const b = await startBuilder(m.port, { name: 'busy', scripts: { foo: 'echo foo' } });
    await waitFor('connected', () => m.log().find((l) => l.event === 'connected'));
    const same = await run('clientd', ['--master', `127.0.0.1:${m.port}`, '--name', 'busy', '--scripts', join(b.dir, 'scripts'), '--state', join(b.dir, 'state'), '--check', ...ROOT_OK]);
    expect(same.code).toBe(0);
    expect(same.out).toContain('name busy connected now (by this state dir: a check does not disturb it)');
    const other = await run('clientd', ['--master', `127.0.0.1:${m.port}`, '--name', 'busy', '--scripts', join(b.dir, 'scripts'), '--state', join(tempDir(), 'st'), '--check', ...ROOT_OK]);
    expect(other.code).toBe(2);
    expect(other.err).toContain('builder name busy is in use by another simplebb-clientd');
    expect(b.child.exitCode).toBeNull();
  });
});

describe('simplebb-clientd --check against a master too old for it', () => {
  it('sends no hello (the master would take it for the builder connecting) and says why, exit 2', async () => {
    const fake = await fakeMaster(); // greets without `check`, like a master from before --check
    const d = tempDir();
    mkdirSync(join(d, 'scripts'));
    const r = await run('clientd', ['--master', `127.0.0.1:${fake.port}`, '--name', 'old', '--scripts', join(d, 'scripts'), '--state', join(d, 'st'), '--check', ...ROOT_OK]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`simplebb-clientd: check failed: cannot reach master at 127.0.0.1:${fake.port}: it is too old to be checked (fake); nothing was sent\n`);
    expect(fake.received.filter((m) => m.type === 'hello')).toEqual([]);
    await fake.close();
  });
});

describe('simplebb-masterd --check', () => {
  it('reports the port, tokens and data dir, creates nothing, and names a busy port or a data dir that cannot be made', async () => {
    const d = tempDir();
    const ok = await run('masterd', ['--check', '--port', '0', '--data', join(d, 'data')]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('simplebb-masterd: listen on 127.0.0.1:0: free, plain TCP');
    expect(ok.out).toContain('(a new record would be made)');
    expect(existsSync(join(d, 'data'))).toBe(false);
    const m = await startMaster();
    const busy = await run('masterd', ['--check', '--port', String(m.port), '--data', join(d, 'data')]);
    expect(busy.code).toBe(2);
    expect(busy.err).toBe(`simplebb-masterd: check failed: cannot listen on 127.0.0.1:${m.port}: address already in use (is a master running?)\n`);
    const httpPort = Number(new URL(m.httpUrl!).port);
    const busyHttp = await run('masterd', ['--check', '--port', '0', '--http', `127.0.0.1:${httpPort}`, '--data', join(d, 'data')]);
    expect(busyHttp.code).toBe(2);
    expect(busyHttp.err).toBe(`simplebb-masterd: check failed: cannot listen on 127.0.0.1:${httpPort} (--http): address already in use (is a master running?)\n`);
    expect(ok.out).toContain('simplebb-masterd: HTTP API on 127.0.0.1:0: free; reads open (loopback)');
    const proc = await run('masterd', ['--check', '--port', '0', '--data', '/proc/simplebb-nope/data']);
    expect(proc.code).toBe(2);
    expect(proc.err).toBe('simplebb-masterd: check failed: the data dir (--data): /proc/simplebb-nope/data does not exist and cannot be created in /proc: no such file or directory\n');
  });
});
