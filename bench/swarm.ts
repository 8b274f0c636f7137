// Simulated builders in one process, speaking the real protocol (or raw TCP for the floor), driven over IPC by the benchmark.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import { lineSplitter } from './lines.js';

type Cmd =
  | { cmd: 'connect'; host: string; port: number; n: number; raw: boolean; prefix: string; work?: boolean }
  | { cmd: 'starts' }
  | { cmd: 'reset' }
  | { cmd: 'collect'; expect: number; timeoutMs: number }
  | { cmd: 'reports'; durationMs: number; window: number; idsPerBuilder: number; idPrefix: string }
  | { cmd: 'close' };

const uname = { type: os.type(), release: os.release(), version: os.version(), machine: os.machine(), hostname: os.hostname() };
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Sim { sock: Socket; name: string; welcomed: boolean; got?: number; acks: number; sent: number; next?: () => void }
let sims: Sim[] = [];
/** With `work`: when each order arrived (µs), by id, over all simulated builders. */
const starts = new Map<string, number>();


/** A builder that works: takes `one` orders (hello `ids`), and at once says it has the order, started it, and that it succeeded. */
function build(sock: Socket, m: { id?: string; seq?: number; one?: boolean; project?: string; branch?: string }): void {
  const id = m.id!;
  starts.set(id, nowUs());
  sock.write(JSON.stringify({ type: 'received', seq: m.seq, ...(m.one ? { ids: [id] } : {}) }) + '\n'
    + JSON.stringify({ type: 'started', id, startedAt: Date.now() }) + '\n'
    + JSON.stringify({ type: 'report-output', id, data: 'ok\n' }) + '\n'
    + JSON.stringify({ type: 'report', id, project: m.project, branch: m.branch, exitCode: 0, verdict: 'success', durationMs: 1, uname, node: process.version, outputBytes: 3, outputCut: 0, outputChunks: 1 }) + '\n');
}

function open(host: string, port: number, name: string, raw: boolean, work = false): Promise<Sim> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    sock.setNoDelay(true);
    const sim: Sim = { sock, name, welcomed: raw, acks: 0, sent: 0 };
    sock.once('error', reject);
    if (raw) {
      sock.on('data', (d: Buffer) => { if (sim.got === undefined && d.includes(10)) sim.got = nowUs(); });
      sock.once('connect', () => resolve(sim));
      return;
    }
    sock.on('data', lineSplitter((l) => {
      const m = JSON.parse(l) as { type: string; id?: string; t?: number };
      switch (m.type) {
        case 'greeting':
          sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'builder', name, instance: randomBytes(8).toString('hex'), uname, node: process.version, projects: ['foo'], ...(work ? { ids: true, jobs: 1 } : {}) }) + '\n');
          return;
        case 'welcome':
          sim.welcomed = true;
          resolve(sim);
          return;
        case 'suggest':
          if (sim.got === undefined) sim.got = nowUs();
          if (work) build(sock, m as { id?: string; seq?: number; one?: boolean; project?: string; branch?: string });
          return;
        case 'ping':
          sock.write(JSON.stringify({ type: 'pong', t: m.t }) + '\n');
          return;
        case 'ack':
          sim.acks++;
          sim.next?.();
          return;
        default:
          return;
      }
    }));
  });
}

async function handle(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'connect': {
      // In batches, so the listen backlog is not the thing measured.
      for (let i = 0; i < c.n; i += 250) {
        const batch = await Promise.all(Array.from({ length: Math.min(250, c.n - i) }, (_, k) => open(c.host, c.port, `${c.prefix}${i + k}`, c.raw, c.work)));
        sims.push(...batch);
      }
      return { connected: sims.length };
    }
    case 'reset':
      for (const s of sims) s.got = undefined;
      starts.clear();
      return { ok: true };
    case 'starts':
      return { starts: Object.fromEntries(starts) };
    case 'collect': {
      const end = Date.now() + c.timeoutMs;
      while (sims.filter((s) => s.got !== undefined).length < c.expect && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
      return { times: sims.map((s) => s.got ?? null) };
    }
    case 'reports': {
      // Each builder keeps `window` reports in flight and sends the next on every ack.
      const report = (id: string): string => JSON.stringify({
        type: 'report', id, project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 1, uname, node: process.version,
        outputBytes: 3, outputCut: 0, outputChunks: 1,
      });
      let stopAt = 0;
      const t0 = Date.now();
      stopAt = t0 + c.durationMs;
      sims.forEach((s, b) => {
        s.acks = 0;
        s.sent = 0;
        const send = (): void => {
          if (Date.now() >= stopAt || s.sent >= c.idsPerBuilder) return;
          const id = `${c.idPrefix}${b}-${s.sent++}`;
          s.sock.write(JSON.stringify({ type: 'report-output', id, data: 'ok\n' }) + '\n' + report(id) + '\n');
        };
        s.next = send;
        for (let k = 0; k < c.window; k++) send();
      });
      await new Promise((r) => setTimeout(r, c.durationMs));
      const acksAtEnd = sims.reduce((a, s) => a + s.acks, 0);
      const elapsed = Date.now() - t0;
      for (const s of sims) s.next = undefined;
      return { acks: acksAtEnd, elapsedMs: elapsed, sent: sims.reduce((a, s) => a + s.sent, 0) };
    }
    case 'close':
      for (const s of sims) s.sock.destroy();
      sims = [];
      return { ok: true };
  }
}

process.on('message', (c: Cmd) => {
  handle(c).then((r) => process.send!(r), (err: Error) => process.send!({ error: err.message }));
});
process.on('disconnect', () => process.exit(0));
