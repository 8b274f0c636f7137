// Finding the master by DNS-SD between two network namespaces this test creates, joined by a veth pair: masterd
// --announce in one, clientd --master auto and simplebb-suggest -H auto in the other. No real interface is touched.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, DIST, readLog, ROOT_OK, script, sleep, spawnProc, tempDir, waitFor, type Proc } from '../helpers.js';

/** Names of our own: the PID keeps two runs at once apart (an interface name has at most 15 bytes). */
const TAG = `sbb${process.pid % 100_000}`;
const NS = { master: `${TAG}-m`, client: `${TAG}-c` };
const VETH = { master: `${TAG}m`, client: `${TAG}c` };
/** Inside the namespaces only, so any private range will do. */
const ADDR = { master: '10.77.0.1', client: '10.77.0.2' };
const WIRE_PORT = 7900;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function removeNamespaces(): void {
  for (const ns of Object.values(NS)) {
    try { ip('netns', 'del', ns); } catch { /* not there */ }
  }
}

/** Two namespaces, loopback up, a veth pair between them with a route for multicast on each side. */
function createNamespaces(): void {
  for (const ns of Object.values(NS)) ip('netns', 'add', ns);
  ip('link', 'add', VETH.master, 'netns', NS.master, 'type', 'veth', 'peer', 'name', VETH.client, 'netns', NS.client);
  for (const side of ['master', 'client'] as const) {
    ip('-n', NS[side], 'link', 'set', 'lo', 'up');
    ip('-n', NS[side], 'addr', 'add', `${ADDR[side]}/24`, 'dev', VETH[side]);
    ip('-n', NS[side], 'link', 'set', VETH[side], 'up');
    ip('-n', NS[side], 'route', 'add', '224.0.0.0/4', 'dev', VETH[side]);
  }
}

/** Why namespaces cannot be made here, or undefined when they can (found by making and removing one). */
function cannot(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (ip netns needs CAP_SYS_ADMIN)';
  const probe = `${TAG}-probe`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (err) {
    return `ip netns add failed: ${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim().split('\n')[0]}`;
  }
}

const WHY = cannot();
if (WHY && process.env.CI) throw new Error(`the DNS-SD tests need network namespaces (root and iproute2): ${WHY}`);
if (WHY) console.warn(`DNS-SD tests left out: ${WHY} (CI runs them)`);

/** One of our programs in a namespace; `ip netns exec` execs it, so the PID is the program's own. */
function inNs(ns: string, program: 'masterd' | 'clientd' | 'suggest', args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return spawnProc('ip', ['netns', 'exec', ns, process.execPath, join(DIST, `${program}.js`), ...args], { env });
}

/** Runs to the end, bounded. */
async function toEnd(p: Proc, timeoutMs = 15_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const r = await Promise.race([p.exited, sleep(timeoutMs).then(() => null)]);
  if (!r) {
    process.kill(p.pid, 'SIGKILL');
    throw new Error(`did not end within ${timeoutMs / 1000} s: ${p.stderr()}`);
  }
  return { code: r.code, stderr: p.stderr(), stdout: p.stdout() };
}

const TOKENS = { SIMPLEBB_BUILDER_TOKEN: 'b'.repeat(32), SIMPLEBB_SUGGEST_TOKEN: 's'.repeat(32) };

describe.runIf(!WHY)('finding the master by DNS-SD between network namespaces', () => {
  afterEach(async () => {
    await cleanup();
    removeNamespaces();
  });

  it('clientd --master auto and suggest -H auto find an announcing master; before it announces they say none was found', async () => {
    removeNamespaces(); // left by a run that was killed
    createNamespaces();
    const dir = tempDir('simplebb-dnssd-');
    const scripts = join(dir, 'scripts');
    script(scripts, 'proj', 'echo built by $SIMPLEBB_BUILDER');

    const none = await toEnd(inNs(NS.client, 'suggest', ['-H', 'auto', 'proj', 'main'], TOKENS));
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('simplebb-suggest: no master answered on the local network (DNS-SD _simplebb._tcp.local) within 1.5 s\n');

    const builderLog = join(dir, 'builder.log');
    inNs(NS.client, 'clientd', ['--master', 'auto', '--name', 'b1', '--scripts', scripts, '--work', join(dir, 'work'), '--state', join(dir, 'state'),
      '--log', builderLog, '--reconnect-base', '0.2', '--reconnect-max', '1', ...ROOT_OK], TOKENS);
    await waitFor('clientd to say no master was found', () => readLog(builderLog).find((l) => l.event === 'disconnected' && /no master answered/.test(String(l.reason))), 15_000);

    const check = await toEnd(inNs(NS.master, 'masterd', ['--check', '--announce-name', 'farm-e2e', '--host', '0.0.0.0', '--port', String(WIRE_PORT), '--http', 'off',
      '--data', join(dir, 'data')], TOKENS));
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`simplebb-masterd: announce by DNS-SD (_simplebb._tcp.local, UDP port 5353): farm-e2e at ${ADDR.master} port ${WIRE_PORT}\n`);

    const masterLog = join(dir, 'master.log');
    const master = inNs(NS.master, 'masterd', ['--announce', '--announce-name', 'farm-e2e', '--shared-builder-token', '--host', '0.0.0.0', '--port', String(WIRE_PORT), '--http', 'off',
      '--data', join(dir, 'data'), '--log', masterLog], TOKENS);
    const announcing = await waitFor('master to announce', () => readLog(masterLog).find((l) => l.event === 'announcing')
      ?? (master.child.exitCode !== null ? { event: 'exited' } : undefined), 15_000);
    expect(announcing).toMatchObject({ instance: 'farm-e2e', addresses: [ADDR.master], port: WIRE_PORT });

    const connected = await waitFor('builder b1 to connect to the master', () => readLog(masterLog).find((l) => l.event === 'connected' && l.builder === 'b1'), 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}; the builder's log ends: ${readLog(builderLog).slice(-3).map((l) => JSON.stringify(l)).join(' ')}`); });
    expect(connected.address).toContain(ADDR.client);
    expect(readLog(builderLog).find((l) => l.event === 'found-master')).toMatchObject({ msg: `found master farm-e2e at ${ADDR.master}:${WIRE_PORT} by DNS-SD`, tls: false });

    const found = await toEnd(inNs(NS.client, 'suggest', ['-H', 'auto', 'proj', 'main', '--wait', '--timeout', '20'], TOKENS), 30_000);
    expect(found.stderr).toContain(`simplebb-suggest: found master farm-e2e at ${ADDR.master}:${WIRE_PORT} by DNS-SD\n`);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain('b1');
  }, 90_000);

  it('prefer a master that serves TLS, and speak TLS to it; with --tls-ca the certificate is checked', async () => {
    removeNamespaces();
    createNamespaces();
    const dir = tempDir('simplebb-dnssd-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'm.key'), '-out', join(dir, 'm.crt'),
      '-days', '1', '-subj', '/CN=simplebb-test', '-addext', `subjectAltName=IP:${ADDR.master}`], { stdio: 'ignore', timeout: 10_000 });
    const scripts = join(dir, 'scripts');
    script(scripts, 'proj', 'echo built');
    // Two masters in one namespace, both answering on port 5353: the plain one first, so taking the first would be wrong.
    const logs = { plain: join(dir, 'plain.log'), tls: join(dir, 'tls.log') };
    const start = (which: 'plain' | 'tls', port: number, extra: string[]): Proc => inNs(NS.master, 'masterd', ['--announce-name', `${which}-m`, '--shared-builder-token',
      '--host', '0.0.0.0', '--port', String(port), '--http', 'off', '--data', join(dir, `data-${which}`), '--log', logs[which], ...extra], TOKENS);
    const masters = [start('plain', WIRE_PORT, []), start('tls', WIRE_PORT + 1, ['--tls-cert', join(dir, 'm.crt'), '--tls-key', join(dir, 'm.key')])];
    for (const [i, which] of (['plain', 'tls'] as const).entries()) {
      await waitFor(`${which} master to announce`, () => readLog(logs[which]).find((l) => l.event === 'announcing')
        ?? (masters[i]!.child.exitCode !== null ? (() => { throw new Error(`masterd exited: ${masters[i]!.stderr()}`); })() : undefined), 15_000);
    }

    const builderLog = join(dir, 'builder.log');
    inNs(NS.client, 'clientd', ['--master', 'auto', '--tls-ca', join(dir, 'm.crt'), '--name', 'b1', '--scripts', scripts, '--work', join(dir, 'work'),
      '--state', join(dir, 'state'), '--log', builderLog, '--reconnect-base', '0.2', '--reconnect-max', '1', ...ROOT_OK], TOKENS);
    await waitFor('builder b1 to connect to the TLS master', () => readLog(logs.tls).find((l) => l.event === 'connected' && l.builder === 'b1'), 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}; the builder's log ends: ${readLog(builderLog).slice(-3).map((l) => JSON.stringify(l)).join(' ')}`); });
    expect(readLog(builderLog).find((l) => l.event === 'found-master')).toMatchObject({ msg: `found master tls-m at ${ADDR.master}:${WIRE_PORT + 1} (tls) by DNS-SD`, tls: true });
    expect(readLog(logs.plain).some((l) => l.event === 'connected')).toBe(false);

    const ok = await toEnd(inNs(NS.client, 'suggest', ['-H', 'auto', '--tls-ca', join(dir, 'm.crt'), 'proj', 'main', '--wait', '--timeout', '20'], TOKENS), 30_000);
    expect(ok.stderr).toContain(`found master tls-m at ${ADDR.master}:${WIRE_PORT + 1} (tls) by DNS-SD`);
    expect(ok.code, ok.stderr).toBe(0);
    // Without our CA the certificate of the master it prefers is not trusted: one line, exit 2, nothing sent elsewhere.
    const untrusted = await toEnd(inNs(NS.client, 'suggest', ['-H', 'auto', 'proj', 'main'], TOKENS));
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(new RegExp(`cannot reach master at ${ADDR.master.replace(/\./g, '\\.')}:${WIRE_PORT + 1}: TLS: certificate`));
    expect(readLog(logs.plain).some((l) => l.event === 'report')).toBe(false);
  }, 90_000);
});
