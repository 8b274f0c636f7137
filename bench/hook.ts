// Scenario 3: what the git hook costs: a simplebb-suggest process without --wait, against `node -e 0` in the same run.
import { join } from 'node:path';
import { DIST, median, startMaster, stop, table } from './common.js';
import { timeProcess } from './roundtrip.js';

export async function hook(quick: boolean): Promise<unknown> {
  const runs = quick ? 10 : 30;
  const m = await startMaster();
  const suggestArgs = [join(DIST, 'suggest.js'), '-p', String(m.port), 'foo', 'main'];
  const nodeArgs = ['-e', '0'];
  await timeProcess(suggestArgs);
  await timeProcess(nodeArgs);
  const ours: number[] = [];
  const floor: number[] = [];
  // Interleaved, so both see the same machine.
  for (let i = 0; i < runs; i++) {
    ours.push(await timeProcess(suggestArgs));
    floor.push(await timeProcess(nodeArgs));
  }
  await stop(m.proc);
  const row = { suggestMs: median(ours), nodeMs: median(floor), ratio: median(ours) / median(floor), suggestMax: Math.max(...ours), nodeMax: Math.max(...floor) };
  table(`3. Hook cost: simplebb-suggest (no --wait) vs node -e 0, medians of ${runs} interleaved runs (ms)`,
    ['simplebb-suggest', 'node -e 0', 'ratio', 'suggest max', 'node max'], [[row.suggestMs, row.nodeMs, row.ratio, row.suggestMax, row.nodeMax]]);
  return { runs, ...row };
}
