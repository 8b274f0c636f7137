// Scenario 5: master RSS idle with 0, 1,000 and 10,000 connected builders.
import { rss, sleep, startMaster, stop, table } from './common.js';
import { ask, startSwarm } from './ipc.js';

export async function memory(quick: boolean): Promise<unknown> {
  const sizes = quick ? [0, 1000] : [0, 1000, 10_000];
  const rows: Array<Record<string, number>> = [];
  let base = NaN;
  for (const n of sizes) {
    const m = await startMaster();
    const swarm = startSwarm();
    try {
      if (n > 0) await ask(swarm, { cmd: 'connect', host: '127.0.0.1', port: m.port, n, raw: false, prefix: 'mem-' });
      await sleep(2000);
      const bytes = rss(m.proc.pid!);
      if (n === 0) base = bytes;
      rows.push({ builders: n, rssMiB: bytes / 1024 / 1024, perBuilderKiB: n ? (bytes - base) / n / 1024 : NaN });
    } finally {
      await ask(swarm, { cmd: 'close' }).catch(() => undefined);
      await stop(swarm);
      await stop(m.proc);
    }
  }
  table('5. Memory: master RSS with idle builders connected', ['builders', 'RSS MiB', 'KiB per builder'], rows.map((r) => [r.builders!, r.rssMiB!, r.perBuilderKiB!]));
  return { rows };
}
