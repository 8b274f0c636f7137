// Scenario 1: fan-out latency to N builders, against a minimal TCP server writing the same bytes to the same number of sockets.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { DIST, nodeScript, percentile, startMaster, stop, table, until } from './common.js';
import { ask, startSwarm } from './ipc.js';

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Stats { p50: number; p99: number; max: number; samples: number }

function stats(latUs: number[]): Stats {
  const s = [...latUs].sort((a, b) => a - b);
  return { p50: percentile(s, 50) / 1000, p99: percentile(s, 99) / 1000, max: s[s.length - 1]! / 1000, samples: s.length };
}

function lines(sock: Socket): () => Array<Record<string, unknown>> {
  let buf = '';
  sock.on('data', (d: Buffer) => { buf += d.toString(); });
  return () => buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Rounds: send one suggestion, wait until every builder has it, record each builder's latency. */
async function measureOurs(n: number, rounds: number, warmup: number): Promise<{ stats: Stats; payload: string }> {
  const m = await startMaster();
  const swarm = startSwarm();
  try {
    await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port: m.port, n, raw: false, prefix: 'sim-' });
    const sock = connect({ host: '127.0.0.1', port: m.port });
    sock.setNoDelay(true);
    const got = lines(sock);
    await until('greeting', () => got()[0]);
    sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester' }) + '\n');
    await until('welcome', () => got().some((l) => l.type === 'welcome'));
    const all: number[] = [];
    let payload = '';
    for (let r = 0; r < warmup + rounds; r++) {
      await ask(swarm, { cmd: 'reset' });
      const t0 = nowUs();
      sock.write(JSON.stringify({ type: 'suggest', project: 'foo', branch: 'main' }) + '\n');
      const { times } = await ask<{ times: Array<number | null> }>(swarm, { cmd: 'collect', expect: n, timeoutMs: 60_000 });
      if (times.some((t) => t === null)) throw new Error(`fan-out: ${times.filter((t) => t === null).length} of ${n} builders did not get the suggestion`);
      if (r >= warmup) all.push(...(times as number[]).map((t) => t - t0));
      const acc = got().filter((l) => l.type === 'accepted').at(-1);
      payload = JSON.stringify({ type: 'suggest', id: acc?.id, project: 'foo', branch: 'main' });
    }
    sock.destroy();
    return { stats: stats(all), payload };
  } finally {
    await ask(swarm, { cmd: 'close' }).catch(() => undefined);
    await stop(swarm);
    await stop(m.proc);
  }
}

async function measureFloor(n: number, rounds: number, warmup: number, payload: string): Promise<Stats> {
  const floor = nodeScript(join(DIST, 'bench', 'floors', 'fanout.js'), [payload], { ipc: true });
  const { port } = await new Promise<{ port: number }>((r) => floor.once('message', (m) => r(m as { port: number })));
  const swarm = startSwarm();
  try {
    await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port, n, raw: true, prefix: 'raw-' });
    const trig = connect({ host: '127.0.0.1', port });
    trig.setNoDelay(true);
    await new Promise((r) => trig.once('connect', r));
    trig.write('trigger\n');
    await new Promise((r) => setTimeout(r, 100));
    const all: number[] = [];
    for (let r = 0; r < warmup + rounds; r++) {
      await ask(swarm, { cmd: 'reset' });
      const t0 = nowUs();
      trig.write('go\n');
      const { times } = await ask<{ times: Array<number | null> }>(swarm, { cmd: 'collect', expect: n, timeoutMs: 60_000 });
      if (times.some((t) => t === null)) throw new Error('floor: not every socket got the line');
      if (r >= warmup) all.push(...(times as number[]).map((t) => t - t0));
    }
    trig.destroy();
    return stats(all);
  } finally {
    await ask(swarm, { cmd: 'close' }).catch(() => undefined);
    await stop(swarm);
    await stop(floor);
  }
}

export async function fanout(quick: boolean): Promise<unknown> {
  const sizes = quick ? [1, 100, 1000] : [1, 100, 1000, 10_000];
  const rows: Array<Record<string, number>> = [];
  for (const n of sizes) {
    const rounds = n >= 10_000 ? (quick ? 3 : 10) : quick ? 10 : 30;
    const warmup = 3;
    const ours = await measureOurs(n, rounds, warmup);
    const floor = await measureFloor(n, rounds, warmup, ours.payload);
    rows.push({
      builders: n, rounds,
      p50: ours.stats.p50, p99: ours.stats.p99, max: ours.stats.max,
      floorP50: floor.p50, floorP99: floor.p99, floorMax: floor.max,
      ratioP50: ours.stats.p50 / floor.p50, ratioP99: ours.stats.p99 / floor.p99,
    });
  }
  table('1. Fan-out: suggestion sent → every builder has it (ms); floor = minimal TCP server writing the same bytes',
    ['builders', 'rounds', 'p50', 'p99', 'max', 'floor p50', 'floor p99', 'floor max', 'p50 ×floor', 'p99 ×floor'],
    rows.map((r) => [r.builders!, r.rounds!, r.p50!, r.p99!, r.max!, r.floorP50!, r.floorP99!, r.floorMax!, r.ratioP50!, r.ratioP99!]));
  return { unit: 'ms', rows };
}
