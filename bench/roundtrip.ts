// Scenario 2: a fresh `simplebb-suggest --wait` against 1, 10 and 50 real clientd processes running a trivial script; and what they cost in memory.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, readLog, median, nodeScript, rss, sleep, startMaster, stop, table, tempDir, until, ROOT_OK } from './common.js';

/** Wall time of one process from spawn to exit, in ms; rejects on a non-zero exit. */
export function timeProcess(args: string[], expectCode = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === expectCode) resolve(ms);
      else reject(new Error(`${args.join(' ')} exited ${code}: ${err.trim()}`));
    });
  });
}

export async function roundtrip(quick: boolean): Promise<unknown> {
  const sizes = quick ? [1, 10] : [1, 10, 50];
  const runs = quick ? 5 : 10;
  const rows: Array<Record<string, number>> = [];
  for (const n of sizes) {
    const m = await startMaster();
    await sleep(300);
    const idle = rss(m.proc.pid!);
    const dir = tempDir();
    const scripts = join(dir, 'scripts');
    mkdirSync(scripts);
    writeFileSync(join(scripts, 'foo'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(scripts, 'foo'), 0o755);
    const builders = Array.from({ length: n }, (_, i) => nodeScript(join(DIST, 'clientd.js'), [
      '--master', `127.0.0.1:${m.port}`, '--name', `rt-${i}`, '--scripts', scripts, '--work', join(dir, `work-${i}`),
      '--state', join(dir, `state-${i}`), '--log', join(dir, `b${i}.log`), ...ROOT_OK,
    ]));
    await until(`${n} builders connected`, () => readLog(m.log).filter((l) => l.event === 'connected').length >= n, 120_000, 100);
    await sleep(500);
    const masterRss = rss(m.proc.pid!);
    const clientRss = median(builders.map((b) => rss(b.pid!)));
    const args = [join(DIST, 'suggest.js'), '-p', String(m.port), 'foo', 'main', '--wait', '--timeout', '60'];
    await timeProcess(args); // warm-up
    const times: number[] = [];
    const nodeTimes: number[] = [];
    // Interleaved with the floor, so both see the same machine.
    for (let i = 0; i < runs; i++) {
      times.push(await timeProcess(args));
      nodeTimes.push(await timeProcess(['-e', '0']));
    }
    rows.push({
      builders: n, median: median(times), max: Math.max(...times), nodeMedian: median(nodeTimes),
      masterPerBuilderKiB: (masterRss - idle) / n / 1024, clientdMiB: clientRss / 1024 / 1024,
    });
    await Promise.all(builders.map((b) => stop(b)));
    await stop(m.proc);
  }
  table(`2. Round trip: fresh simplebb-suggest --wait, trivial script (ms, ${runs} runs after a warm-up, each followed by node -e 0, the floor)`,
    ['clientd', 'median', 'max', 'node -e 0', '× node -e 0', 'master KiB/builder', 'clientd RSS MiB'],
    rows.map((r) => [r.builders!, r.median!, r.max!, r.nodeMedian!, r.median! / r.nodeMedian!, r.masterPerBuilderKiB!, r.clientdMiB!]));
  return { runs, rows };
}
