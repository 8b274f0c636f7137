// The HTTP listener's time limits against the real master: a client that dribbles its request's header lines (slow
// loris) is cut once the header limit passes, and one that opens a TLS connection and never shakes hands is cut by
// the handshake limit, each long before Node's own defaults (60 s for headers, 120 s for a handshake) would.
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, startMaster, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const sockets: Socket[] = [];
afterEach(() => { for (const s of sockets.splice(0)) s.destroy(); });

/** A raw TCP connection to `url`'s port that records what it got and whether it was closed. */
function open(url: string) {
  const sock = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
  sockets.push(sock);
  let got = '';
  let closed = false;
  sock.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  sock.on('error', () => undefined);
  sock.on('close', () => { closed = true; });
  return { sock, got: () => got, closed: () => closed };
}

/** The master's limit plus the 1 s between its checks, with room for a loaded machine; Node's defaults take 30 s or more. */
const BOUND_MS = 12_000;

describe('the HTTP listener\'s time limits', () => {
  it('cuts a client that keeps dribbling its header lines, and answers 408', async () => {
    const m = await startMaster();
    const c = open(m.httpUrl!);
    c.sock.write('GET /api/v1/builders HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // A header line every 300 ms: never idle long enough for the idle timeout, never a whole request.
    let n = 0;
    const drip = setInterval(() => { if (!c.closed()) c.sock.write(`X-Slow-${n++}: still coming\r\n`); }, 300);
    try {
      await waitFor('the master to cut the slow client', () => c.closed(), BOUND_MS);
    } finally {
      clearInterval(drip);
    }
    expect(n).toBeGreaterThan(3);
    expect(c.got()).toMatch(/^HTTP\/1\.1 408 /);
    // The listener serves the next client as ever.
    const res = await fetch(`${m.httpUrl!}/api/v1/builders`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
  });

  it('cuts a connection to the HTTPS listener that never starts its TLS handshake', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'),
      '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=simplebb-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const m = await startMaster({ args: ['--tls-cert', join(dir, 'c.pem'), '--tls-key', join(dir, 'k.pem')] });
    expect(m.httpUrl).toMatch(/^https:/);
    const c = open(m.httpUrl!);
    await waitFor('the master to cut the silent TLS client', () => c.closed(), BOUND_MS);
    expect(c.got()).toBe('');
  });
});
