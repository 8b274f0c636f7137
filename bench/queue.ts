// Scenario: dispatch to one builder (`--one`): 10,000 suggestions over 100 simulated builders (one job each), builds
// handed out per second and the wait from suggestion to order, against broadcast delivering as many orders in the
// same run; and a master restart with 10,000 orders queued: the time until dispatch resumes.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { DIST, nodeScript, percentile, readLog, startMaster, stop, table, tempDir, until, within } from './common.js';
import { ask, startSwarm } from './ipc.js';
import { lineSplitter } from './lines.js';

const BUILDERS = 100;
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Suggester { sock: Socket; sentAt: Map<string, number>; accepted: Map<string, string>; queued: number; errors: string[] }

/** A suggester speaking the protocol: hello, then `n` suggestions at once; it keeps when each went and its id. */
async function suggester(port: number): Promise<Suggester> {
  const sock = connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  const s: Suggester = { sock, sentAt: new Map(), accepted: new Map(), queued: 0, errors: [] };
  await within('the suggester\'s welcome', new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.on('data', lineSplitter((l) => {
      const m = JSON.parse(l) as { type: string; id?: string; ref?: string; queued?: number; message?: string };
      if (m.type === 'greeting') sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester' }) + '\n');
      else if (m.type === 'welcome') resolve();
      else if (m.type === 'accepted') {
        s.accepted.set(m.ref!, m.id!);
        if (m.queued !== undefined) s.queued++;
      } else if (m.type === 'error') s.errors.push(m.message ?? '');
    }));
  }), 10_000);
  return s;
}

function send(s: Suggester, n: number, one: boolean, projects: number): void {
  let batch = '';
  for (let i = 0; i < n; i++) {
    const ref = String(i);
    batch += JSON.stringify({ type: 'suggest', ref, project: projects > 1 ? `foo${i % projects}` : 'foo', branch: `b${i}`, ...(one ? { one: true } : {}) }) + '\n';
    s.sentAt.set(ref, nowUs());
  }
  s.sock.write(batch);
}

interface Round { orders: number; seconds: number; perSec: number; p50Ms: number; p99Ms: number; queuedAtAccept: number }

/** Sends `suggestions` (with `one`, or broadcast) and waits until the builders got `expected` orders. */
async function round(one: boolean, suggestions: number, expected: number, timeoutMs: number): Promise<Round> {
  const m = await startMaster([], {}, tempDir());
  const swarm = startSwarm();
  try {
    await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port: m.port, n: BUILDERS, raw: false, prefix: 'q-', work: true });
    const s = await suggester(m.port);
    const t0 = nowUs();
    send(s, suggestions, one, 1);
    await until('every suggestion accepted', () => s.accepted.size + s.errors.length >= suggestions, timeoutMs);
    if (s.errors.length) throw new Error(`bench: ${s.errors.length} suggestions refused: ${s.errors[0]}`);
    let starts: Record<string, number> = {};
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      starts = (await ask<{ starts: Record<string, number> }>(swarm, { cmd: 'starts' })).starts;
      if (Object.keys(starts).length >= (one ? expected : suggestions)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Broadcast: one order per builder per suggestion; the swarm keeps the first arrival per id, so the wait of a
    // broadcast suggestion is to its first builder, and its orders are counted by the master's log instead.
    const byId = new Map([...s.accepted].map(([ref, id]) => [id, s.sentAt.get(ref)!]));
    const waits = Object.entries(starts).map(([id, at]) => (at - byId.get(id)!) / 1000).sort((a, b) => a - b);
    const got = Object.keys(starts).length;
    if (got < (one ? expected : suggestions)) throw new Error(`bench: only ${got} of ${one ? expected : suggestions} suggestions reached a builder in ${timeoutMs / 1000} s`);
    const last = Math.max(...Object.values(starts));
    const seconds = (last - t0) / 1e6;
    s.sock.destroy();
    return { orders: expected, seconds, perSec: expected / seconds, p50Ms: percentile(waits, 50), p99Ms: percentile(waits, 99), queuedAtAccept: s.queued };
  } finally {
    await ask(swarm, { cmd: 'close' }).catch(() => undefined);
    await stop(swarm);
    await stop(m.proc);
  }
}

/** 10,000 orders queued (the builders known but away), the master restarted: how long until the first order goes. */
async function restart(orders: number): Promise<{ startToListenMs: number; listenToDispatchMs: number; drainSeconds: number }> {
  const dir = tempDir();
  const m = await startMaster(['--replay-window', '3600'], {}, dir);
  const swarm = startSwarm();
  try {
    await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port: m.port, n: BUILDERS, raw: false, prefix: 'r-', work: true });
    await ask(swarm, { cmd: 'close' });
    await new Promise((r) => setTimeout(r, 300));
    const s = await suggester(m.port);
    send(s, orders, true, 1);
    await until('every suggestion accepted', () => s.accepted.size + s.errors.length >= orders, 60_000);
    if (s.errors.length) throw new Error(`bench: ${s.errors.length} suggestions refused: ${s.errors[0]}`);
    s.sock.destroy();
    await stop(m.proc, 'SIGKILL');
    const t0 = nowUs();
    const before = readLog(m.log).filter((l) => l.event === 'listening').length;
    const again = nodeScript(join(DIST, 'masterd.js'), ['--port', String(m.port), '--http', 'off', '--data', join(dir, 'data'), '--log', m.log, '--suggest-rate', '1000000',
      '--suggest-burst', '1000000', '--max-conns-per-address', '1000000', '--replay-window', '3600']);
    await until('the master to listen again', () => readLog(m.log).filter((l) => l.event === 'listening').length > before, 60_000, 5);
    const listening = nowUs();
    await ask(swarm, { cmd: 'reset' });
    await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port: m.port, n: BUILDERS, raw: false, prefix: 'r-', work: true });
    let first = 0;
    let drained = 0;
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const starts = Object.values((await ask<{ starts: Record<string, number> }>(swarm, { cmd: 'starts' })).starts);
      if (starts.length && !first) first = Math.min(...starts);
      if (starts.length >= orders) {
        drained = Math.max(...starts);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await stop(again);
    if (!drained) {
      const counts = new Map<string, number>();
      for (const l of readLog(m.log)) counts.set(String(l.event), (counts.get(String(l.event)) ?? 0) + 1);
      throw new Error(`bench: the queue did not drain after the restart (log events: ${JSON.stringify(Object.fromEntries(counts))})`);
    }
    return { startToListenMs: (listening - t0) / 1000, listenToDispatchMs: (first - listening) / 1000, drainSeconds: (drained - listening) / 1e6 };
  } finally {
    await ask(swarm, { cmd: 'close' }).catch(() => undefined);
    await stop(swarm);
  }
}

export async function queue(quick: boolean): Promise<unknown> {
  const n = quick ? 2000 : 10_000;
  const timeoutMs = 60_000;
  const one = await round(true, n, n, timeoutMs);
  const broadcast = await round(false, n / BUILDERS, n, timeoutMs);
  table(`Dispatch: ${n} --one suggestions over ${BUILDERS} simulated builders (one job each, builds end at once), against broadcast of ${n / BUILDERS} suggestions (${n} orders)`,
    ['mode', 'orders', 'seconds', 'orders/s', 'wait p50 ms', 'wait p99 ms', 'queued at accept', '÷ broadcast orders/s'],
    [['--one (queue, fair, durable hand-out)', one.orders, one.seconds, one.perSec, one.p50Ms, one.p99Ms, one.queuedAtAccept, one.perSec / broadcast.perSec],
      ['broadcast (to every builder)', broadcast.orders, broadcast.seconds, broadcast.perSec, broadcast.p50Ms, broadcast.p99Ms, '-', 1]]);
  const r = await restart(n);
  table(`Restart with ${n} --one orders queued (kill -9 of the master, then ${BUILDERS} builders connect)`,
    ['start → listening ms', 'listening → first dispatch ms', 'listening → queue drained s'], [[r.startToListenMs, r.listenToDispatchMs, r.drainSeconds]]);
  return { builders: BUILDERS, suggestions: n, one, broadcast, restart: r };
}
