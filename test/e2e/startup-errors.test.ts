// A configuration a daemon cannot run with: one line on stderr naming the flag or path and the reason in words, exit
// status 78 (EX_CONFIG, which the systemd units do not restart on), within a few seconds, never a spin or a trace.
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLog } from '../../lib/common/log.js';
import { cleanup, node, ROOT_OK, stop, tempDir, waitFor, type Proc } from '../helpers.js';

afterEach(cleanup);

const IS_ROOT = process.getuid?.() === 0;
if (!IS_ROOT) console.warn('startup-errors: not root, so the case of a work dir owned by another user is left out (CI runs it)');

/** Runs a program that must refuse to start; its exit status and its stderr. Still running after 10 s is a failure. */
async function refused(p: Proc): Promise<{ code: number | null; line: string }> {
  const r = await Promise.race([p.exited, new Promise<null>((res) => setTimeout(() => res(null), 10_000))]);
  if (!r) {
    await stop(p, 'SIGKILL');
    throw new Error(`still running after 10 s: ${p.stderr()}`);
  }
  return { code: r.code, line: p.stderr() };
}

const oneLine = (text: string, ...parts: Array<string | RegExp>): void => {
  expect(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, `one line: ${JSON.stringify(text)}`).toBe(true);
  for (const part of parts) expect(text).toMatch(part);
};

describe('simplebb-masterd refuses a configuration it cannot run with', () => {
  it.each([
    ['a log file under /proc', (d: string) => ['--data', join(d, 'data'), '--log', '/proc/simplebb-nope/server.log'], 'simplebb-masterd: cannot write the log file /proc/simplebb-nope/server.log: cannot create its directory /proc/simplebb-nope: no such file or directory'],
    ['a data dir under /proc (Node\'s recursive mkdir would spin)', () => ['--data', '/proc/simplebb-nope/data'], 'simplebb-masterd: cannot create the data dir /proc/simplebb-nope/data: no such file or directory (at /proc/simplebb-nope)'],
    ['a data dir that is a file', (d: string) => ['--data', join(d, 'file')], /^simplebb-masterd: cannot create the data dir .*\/file: it exists and is not a directory$/m],
    ['a certificate that is not PEM', (d: string) => ['--data', join(d, 'data'), '--tls-cert', join(d, 'file'), '--tls-key', join(d, 'file')], /^simplebb-masterd: --tls-cert: .*\/file is not a PEM certificate/m],
    ['a token file that is not there', (d: string) => ['--data', join(d, 'data'), '--builder-token-file', join(d, 'missing')], /^simplebb-masterd: cannot read token file .*\/missing: no such file or directory$/m],
  ])('%s', async (_what, args, message) => {
    const d = tempDir();
    writeFileSync(join(d, 'file'), 'not a dir, not PEM\n');
    const r = await refused(node('masterd', ['--port', '0', ...args(d)]));
    expect(r.code).toBe(78);
    const line = r.line.split('\n').filter((l) => l.startsWith('simplebb-masterd:')).join('\n') + '\n';
    oneLine(line, typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm') : message);
  });
});

describe('simplebb-clientd refuses a configuration it cannot run with', () => {
  const base = (d: string): string[] => ['--master', '127.0.0.1:1', '--state', join(d, 'state'), '--work', join(d, 'work'), '--log', join(d, 'b.log'), ...ROOT_OK];
  it.each([
    ['a --master that is a URL', (d: string) => ['--scripts', d, '--master', 'http://127.0.0.1:7900'], 'simplebb-clientd: --master: master address "http://127.0.0.1:7900" is a URL; give HOST or HOST:PORT (for example 127.0.0.1:7900)'],
    ['a --scripts dir that does not exist', (d: string) => ['--scripts', join(d, 'nope')], /^simplebb-clientd: --scripts: the buildscripts dir .*\/nope does not exist or is not a directory; create it \(one executable per project\) or pass --create-scripts-dir\n$/],
    ['a CA that is not PEM', (d: string) => ['--scripts', d, '--tls-ca', join(d, 'file')], /^simplebb-clientd: --tls-ca: .*\/file is not a PEM certificate/],
    ['a work dir under /proc', (d: string) => ['--scripts', d, '--work', '/proc/simplebb-nope/work'], 'simplebb-clientd: cannot create the work dir (--work) /proc/simplebb-nope/work: no such file or directory (at /proc/simplebb-nope)'],
    ['a log file under /proc', (d: string) => ['--scripts', d, '--log', '/proc/simplebb-nope/b.log'], 'simplebb-clientd: cannot write the log file /proc/simplebb-nope/b.log: cannot create its directory /proc/simplebb-nope: no such file or directory'],
    ['a buildscripts dir other users can write', (d: string) => ['--scripts', join(d, 'shared')], /^simplebb-clientd: --scripts: .*\/shared is writable by other users \(mode 0777\): chmod go-w it\n$/],
    ['a work dir other users can write (they could plant a Makefile)', (d: string) => ['--scripts', d, '--work', join(d, 'shared')], /^simplebb-clientd: --work: .*\/shared is writable by other users \(mode 0777\): chmod go-w it\n$/],
    ['a buildscripts dir inside a dir other users can write (they could swap it)', (d: string) => ['--scripts', join(d, 'shared', 'inner')], /^simplebb-clientd: --scripts: .*\/shared is writable by other users \(mode 0777\) and has no sticky bit: they could put something else in place of .*\/shared\/inner; chmod go-w it\n$/],
    // Giving a dir to another user takes root: CI runs the tests as root; elsewhere this case is left out.
    ...(IS_ROOT ? [['a work dir owned by another user', (d: string) => ['--scripts', d, '--work', join(d, 'foreign')], /^simplebb-clientd: --work: .*\/foreign is owned by uid 4242, not by this user \(uid \d+\) or root\n$/] as [string, (d: string) => string[], RegExp]] : []),
  ])('%s', async (_what, args, message) => {
    const d = tempDir();
    writeFileSync(join(d, 'file'), 'not PEM\n');
    mkdirSync(join(d, 'shared'));
    mkdirSync(join(d, 'shared', 'inner'), { mode: 0o755 });
    chmodSync(join(d, 'shared'), 0o777);
    mkdirSync(join(d, 'foreign'), { mode: 0o755 });
    if (IS_ROOT) chownSync(join(d, 'foreign'), 4242, 4242);
    const r = await refused(node('clientd', [...base(d), ...args(d)]));
    expect(r.code).toBe(78);
    oneLine(r.line, typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n$`) : message);
  });

  it('--create-scripts-dir makes a missing buildscripts dir and starts', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'x'));
    const p = node('clientd', [...base(d), '--scripts', join(d, 'x', 'scripts'), '--create-scripts-dir']);
    await waitFor('clientd to start', () => readLog(join(d, 'b.log')).find((l) => l.event === 'starting'), 10_000);
    expect(statSync(join(d, 'x', 'scripts')).isDirectory()).toBe(true);
    expect(p.child.exitCode).toBeNull();
    await stop(p);
  });
});
