// 200 builders reconnect after a master restart spread over time, not in one burst.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectToMaster, type MasterConnection } from '../../lib/wire/dial.js';
import { localUname } from '../../lib/builder/builder.js';
import { Reconnector } from '../../lib/wire/reconnect.js';
import { cleanup, sleep, startMaster, tempDir, waitFor } from '../helpers.js';

const reconnectors: Reconnector[] = [];
const conns = new Set<MasterConnection>();
afterEach(async () => {
  for (const r of reconnectors.splice(0)) r.stop();
  for (const c of conns) c.destroy('test over');
  conns.clear();
  await cleanup();
});

describe('reconnect storm', () => {
  it('200 builders come back spread over seconds after a master restart', async () => {
    const N = 200;
    const dir = tempDir();
    const m = await startMaster({ dir });
    const uname = localUname();
    let up = 0;
    for (let i = 0; i < N; i++) {
      const instance = randomBytes(8).toString('hex');
      const r = new Reconnector(
        () => connectToMaster({ host: '127.0.0.1', port: m.port }, { role: 'builder', name: `swarm-${i}`, instance, uname, node: process.version, projects: [] }, { timeoutMs: 5000, heartbeatMs: 10_000 }),
        (c) => { up++; conns.add(c); c.on('close', () => { up--; conns.delete(c); }); },
        () => undefined,
        { baseMs: 1000, capMs: 60_000 }, // the clientd defaults
      );
      reconnectors.push(r);
      r.start();
    }
    await waitFor('all connected', () => up === N, 20_000);
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    await waitFor('all noticed the drop', () => up === 0, 5000);
    await sleep(1000);
    const m2 = await startMaster({ dir, port: m.port });
    await waitFor('all reconnected', () => up === N, 40_000, 50);
    const log = m2.log();
    const sinceRestart = log.slice(log.map((l) => l.event).lastIndexOf('listening'));
    const times = sinceRestart.filter((l) => l.event === 'connected').map((l) => Date.parse(l.time as string)).sort((a, b) => a - b);
    expect(times).toHaveLength(N);
    const spread = times.at(-1)! - times[0]!;
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! > 100) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    // A burst would put all 200 in one 100 ms window; full jitter spreads them over seconds.
    console.log(`reconnect spread ${spread} ms, busiest 100 ms window ${busiest} of ${N}`);
    expect(spread).toBeGreaterThan(1000);
    expect(busiest).toBeLessThan(N * 0.25);
  }, 90_000);
});
