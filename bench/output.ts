// Scenario 6: a build writing 200 MB to stdout: how fast the builder drains it, and the peak memory of clientd and master.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, readLog, nodeScript, rss, startMaster, stop, table, tempDir, until, ROOT_OK } from './common.js';
import { timeProcess } from './roundtrip.js';

const MB = 1_000_000;

export async function output(quick: boolean): Promise<unknown> {
  const size = quick ? 50 * MB : 200 * MB;
  const dir = tempDir();
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  const script = join(scripts, 'loud');
  writeFileSync(script, `#!/bin/sh\nyes 'simplebb output line, 40 bytes long......' | head -c ${size}\n`);
  chmodSync(script, 0o755);
  // Baseline: the same script with its output thrown away, no simplebb involved.
  const t0 = performance.now();
  spawnSync('sh', ['-c', `${script} > /dev/null`]);
  const bareMs = performance.now() - t0;

  const rows: Array<Record<string, number | string>> = [];
  for (const follow of [false, true]) {
    const m = await startMaster();
    const b = nodeScript(join(DIST, 'clientd.js'), ['--master', `127.0.0.1:${m.port}`, '--name', 'loud', '--scripts', scripts, '--work', join(dir, 'work'),
      '--state', join(dir, `state-${follow}`), '--log', join(dir, `b-${follow}.log`), ...ROOT_OK]);
    await until('builder', () => readLog(m.log).some((l) => l.event === 'connected'));
    const args = [join(DIST, 'suggest.js'), '-p', String(m.port), 'loud', 'main', follow ? '--follow' : '--wait', '--timeout', '300'];
    // --follow prints 200 MB: send it to /dev/null through our own pipe handling (timeProcess ignores stdout).
    await timeProcess(args);
    const report = await until('report', () => readLog(m.log).find((l) => l.event === 'report'));
    rows.push({
      mode: follow ? 'with a --follow suggester' : 'no one following',
      buildMs: report.durationMs as number, mbPerSec: (size / MB) / ((report.durationMs as number) / 1000),
      clientdPeakMiB: rss(b.pid!, true) / 1024 / 1024, masterPeakMiB: rss(m.proc.pid!, true) / 1024 / 1024,
      cutBytes: report.outputCut as number,
    });
    await stop(b);
    await stop(m.proc);
  }
  table(`6. Output: a build writing ${size / MB} MB to stdout; baseline = the same script to /dev/null: ${bareMs.toFixed(0)} ms (${((size / MB) / (bareMs / 1000)).toFixed(0)} MB/s)`,
    ['mode', 'build ms', 'MB/s', '× baseline time', 'clientd peak MiB', 'master peak MiB', 'bytes cut from report'],
    rows.map((r) => [r.mode!, r.buildMs!, r.mbPerSec!, (r.buildMs as number) / bareMs, r.clientdPeakMiB!, r.masterPeakMiB!, r.cutBytes!]));
  return { bytes: size, bareMs, rows };
}
