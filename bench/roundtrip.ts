// Scenario 2: a fresh `simplebb-suggest --wait` against 1, 10 and 50 real clientd processes running a trivial script,
// against the bare-Node floor doing the same job in the same run (bench/floors/relay.ts, builder.ts, trigger.ts);
// and what the builders cost in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ask } from './ipc.js';
import { DIST, readLog, median, nodeScript, rss, sleep, startMaster, stop, table, tempDir, until, within, ROOT_OK } from './common.js';

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
    const floor = await startFloor(n, join(scripts, 'foo'));
    const args = [join(DIST, 'suggest.js'), '-p', String(m.port), 'foo', 'main', '--wait', '--timeout', '60'];
    const floorArgs = [join(DIST, 'bench', 'floors', 'trigger.js'), String(floor.port), String(n)];
    await timeProcess(args); // warm-up
    await timeProcess(floorArgs);
    const times: number[] = [];
    const floorTimes: number[] = [];
    const nodeTimes: number[] = [];
    // Interleaved, so all three see the same machine.
    for (let i = 0; i < runs; i++) {
      times.push(await timeProcess(args));
      floorTimes.push(await timeProcess(floorArgs));
      nodeTimes.push(await timeProcess(['-e', '0']));
    }
    rows.push({
      builders: n, median: median(times), max: Math.max(...times), floorMedian: median(floorTimes), nodeMedian: median(nodeTimes),
      masterPerBuilderKiB: (masterRss - idle) / n / 1024, clientdMiB: clientRss / 1024 / 1024,
    });
    await Promise.all([...builders, ...floor.procs].map((b) => stop(b)));
    await stop(m.proc);
  }
  table(`2. Round trip: fresh simplebb-suggest --wait until every builder's verdict, trivial script (ms, medians of ${runs} runs after a warm-up,\n`
    + '   each followed by the floor (bare relay, N bare builders, a fresh trigger waiting for N answers) and by node -e 0)',
    ['clientd', 'median', 'max', 'floor', '× floor', 'node -e 0', 'master KiB/builder', 'clientd RSS MiB'],
    rows.map((r) => [r.builders!, r.median!, r.max!, r.floorMedian!, r.median! / r.floorMedian!, r.nodeMedian!, r.masterPerBuilderKiB!, r.clientdMiB!]));
  return { runs, rows };
}

/** The bare relay and N bare builders, connected. */
async function startFloor(n: number, script: string): Promise<{ port: number; procs: ChildProcess[] }> {
  const relay = nodeScript(join(DIST, 'bench', 'floors', 'relay.js'), [], { ipc: true });
  const listening = new Promise<{ port: number }>((resolve) => relay.once('message', resolve));
  const { port } = await within('the bare relay to listen', listening, 10_000);
  const procs = Array.from({ length: n }, () => nodeScript(join(DIST, 'bench', 'floors', 'builder.js'), [String(port), script]));
  for (const end = Date.now() + 60_000; (await ask<{ builders: number }>(relay, {})).builders < n; await sleep(50)) {
    if (Date.now() > end) throw new Error(`bench: ${n} bare builders did not connect in 60 s`);
  }
  return { port, procs: [relay, ...procs] };
}
