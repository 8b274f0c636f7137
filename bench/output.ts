// Scenario 6: a build writing 50 MB (quick) or 200 MB to stdout: how fast it drains through clientd to the master,
// with no one following and with a --follow suggester, against the same script to /dev/null and against the output
// floor (bench/floors/output.ts: bare Node carrying the same bytes the same way), interleaved in the same run;
// and the peak memory of clientd and master.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ask } from './ipc.js';
import { DIST, readLog, median, nodeScript, rss, sleep, startMaster, stop, table, tempDir, until, within, ROOT_OK } from './common.js';
import { timeProcess } from './roundtrip.js';

const MB = 1_000_000;
const FLOOR = join(DIST, 'bench', 'floors', 'output.js');

/** One run of the floor's builder against a relay: how long the script ran, in ms. */
function floorRun(port: number, script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [FLOOR, 'builder', String(port), script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`output floor exited ${code}`))));
  });
}

export async function output(quick: boolean): Promise<unknown> {
  const size = quick ? 50 * MB : 200 * MB;
  const runs = quick ? 3 : 5;
  const dir = tempDir();
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  const script = join(scripts, 'loud');
  writeFileSync(script, `#!/bin/sh\nyes 'simplebb output line, 40 bytes long......' | head -c ${size}\n`);
  chmodSync(script, 0o755);
  // Baseline: the same script with its output thrown away, no simplebb involved.
  const bare = (): number => {
    const t0 = performance.now();
    spawnSync('sh', ['-c', `${script} > /dev/null`]);
    return performance.now() - t0;
  };

  const rows: Array<Record<string, number | string>> = [];
  for (const follow of [false, true]) {
    const m = await startMaster();
    const b = nodeScript(join(DIST, 'clientd.js'), ['--master', `127.0.0.1:${m.port}`, '--name', 'loud', '--scripts', scripts, '--work', join(dir, 'work'),
      '--state', join(dir, `state-${follow}`), '--log', join(dir, `b-${follow}.log`), ...ROOT_OK]);
    await until('builder', () => readLog(m.log).some((l) => l.event === 'connected'));
    const relay = nodeScript(FLOOR, ['relay'], { ipc: true });
    const { port } = await within('the output floor to listen', new Promise<{ port: number }>((r) => relay.once('message', r)), 10_000);
    const follower = follow ? nodeScript(FLOOR, ['follower', String(port)]) : undefined;
    for (const end = Date.now() + 10_000; follower && (await ask<{ followers: number }>(relay, {})).followers < 1; await sleep(20)) {
      if (Date.now() > end) throw new Error('bench: the floor follower did not connect in 10 s');
    }
    // --follow prints every byte: timeProcess sends the suggester's stdout to /dev/null.
    const args = [join(DIST, 'suggest.js'), '-p', String(m.port), 'loud', 'main', follow ? '--follow' : '--wait', '--timeout', '300'];
    const ours: number[] = [];
    const floor: number[] = [];
    const bases: number[] = [];
    for (let i = 0; i <= runs; i++) {
      await timeProcess(args);
      const report = await until('report', () => readLog(m.log).filter((l) => l.event === 'report')[i]);
      const f = await floorRun(port, script);
      const base = bare();
      if (i === 0) continue; // warm-up
      ours.push(report.durationMs as number);
      floor.push(f);
      bases.push(base);
    }
    const last = readLog(m.log).filter((l) => l.event === 'report').at(-1)!;
    rows.push({
      mode: follow ? 'with a --follow suggester' : 'no one following',
      buildMs: median(ours), floorMs: median(floor), bareMs: median(bases),
      clientdPeakMiB: rss(b.pid!, true) / 1024 / 1024, masterPeakMiB: rss(m.proc.pid!, true) / 1024 / 1024,
      cutBytes: last.outputCut as number,
    });
    await Promise.all([b, relay, ...(follower ? [follower] : [])].map((p) => stop(p)));
    await stop(m.proc);
  }
  table(`6. Output: a build writing ${size / MB} MB to stdout, medians of ${runs} interleaved runs after a warm-up (ms); baseline = the script to /dev/null,\n`
    + '   floor = bare Node carrying the same bytes from the pipe to a relay (and on to a follower)',
    ['mode', 'build ms', 'MB/s', 'baseline', '× baseline', 'floor', '× floor', 'clientd peak MiB', 'master peak MiB', 'bytes cut from report'],
    rows.map((r) => {
      const ms = r.buildMs as number;
      return [r.mode!, ms, (size / MB) / (ms / 1000), r.bareMs!, ms / (r.bareMs as number), r.floorMs!, ms / (r.floorMs as number), r.clientdPeakMiB!, r.masterPeakMiB!, r.cutBytes!];
    }));
  return { bytes: size, runs, rows };
}
