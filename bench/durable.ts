// Scenario 4: reports per second stored and acknowledged by the master from 100 builders, at each durability level and against a server that stores nothing.
import { join } from 'node:path';
import { SqliteStore } from '../lib/store/sqlite.js';
import { noWrites } from '../lib/store/store.js';
import { DIST, nodeScript, startMaster, stop, table, tempDir } from './common.js';
import { ask, startSwarm } from './ipc.js';

const BUILDERS = 100;
const WINDOW = 8;

/** Seeds suggestions so every report is for a real suggestion, as the master requires. */
async function seed(dir: string, idsPerBuilder: number): Promise<void> {
  const store = new SqliteStore(join(dir, 'data'));
  const now = Date.now();
  const list = [];
  for (let b = 0; b < BUILDERS; b++) {
    // Offered to the builder that reports it (the swarm names them dur-0, dur-1, …): the master takes a report only from a builder its suggestion was offered to.
    for (let k = 0; k < idsPerBuilder; k++) list.push({ id: `r${b}-${k}`, project: 'foo', branch: 'main', from: 'bench', createdAt: now, offeredTo: [`dur-${b}`] });
  }
  await store.commit({ ...noWrites(), suggestions: list });
  await store.close();
}

async function run(port: number, durationMs: number, idsPerBuilder: number): Promise<{ perSec: number; acks: number; elapsedMs: number }> {
  const swarm = startSwarm();
  try {
    await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port, n: BUILDERS, raw: false, prefix: 'dur-' });
    const r = await ask<{ acks: number; elapsedMs: number }>(swarm, { cmd: 'reports', durationMs, window: WINDOW, idsPerBuilder, idPrefix: 'r' }, durationMs + 60_000);
    return { ...r, perSec: r.acks / (r.elapsedMs / 1000) };
  } finally {
    await ask(swarm, { cmd: 'close' }).catch(() => undefined);
    await stop(swarm);
  }
}

export async function durable(quick: boolean): Promise<unknown> {
  const durationMs = quick ? 3000 : 10_000;
  const idsPerBuilder = quick ? 4000 : 8000;
  const rows: Array<{ mode: string; perSec: number; acks: number }> = [];
  for (const sync of ['FULL', 'NORMAL', 'OFF'] as const) {
    const dir = tempDir();
    await seed(dir, idsPerBuilder);
    const m = await startMaster([], { SIMPLEBB_BENCH_SYNC: sync }, dir);
    const r = await run(m.port, durationMs, idsPerBuilder);
    await stop(m.proc);
    rows.push({ mode: sync === 'FULL' ? 'simplebb-masterd (synchronous=FULL: the promise)' : `simplebb-masterd, synchronous=${sync}`, perSec: r.perSec, acks: r.acks });
  }
  const floor = nodeScript(join(DIST, 'bench', 'floors', 'acks.js'), [], { ipc: true });
  const { port } = await new Promise<{ port: number }>((res) => floor.once('message', (msg) => res(msg as { port: number })));
  const f = await run(port, durationMs, idsPerBuilder);
  await stop(floor);
  rows.push({ mode: 'floor: minimal server, acks without storing or logging', perSec: f.perSec, acks: f.acks });
  const durablePerSec = rows[0]!.perSec;
  table(`4. Durable throughput: ${BUILDERS} builders, ${WINDOW} reports in flight each, ${durationMs / 1000} s`,
    ['mode', 'reports/s', 'acked', '÷ durable'], rows.map((r) => [r.mode, r.perSec, r.acks, r.perSec / durablePerSec]));
  return { builders: BUILDERS, window: WINDOW, durationMs, rows };
}
