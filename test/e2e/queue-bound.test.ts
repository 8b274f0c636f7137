// A builder's queue under load, with real programs: its bound (--max-queued) and live orders before replayed ones.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, keptReports, node, startBuilder, startMaster, stop, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

/** A script that waits for a gate file before it ends. */
const gated = (gate: string): string => `while [ ! -e ${gate} ]; do sleep 0.05; done\necho "built $1"`;

describe('the builder queue', () => {
  it('--max-queued: a new branch beyond it is reported refused and acknowledged, a waiting one still coalesces', async () => {
    const gate = join(tempDir(), 'gate');
    const m = await startMaster();
    const b = await startBuilder(m.port, { scripts: { slow: gated(gate) }, args: ['--max-queued', '2'] });
    const queued = (n: number) => waitFor(`${n} orders queued`, () => b.log().filter((l) => l.event === 'queued').length >= n);
    expect((await suggest(m.port, ['slow', 'main'])).code).toBe(0);
    await waitFor('main running', () => b.log().some((l) => l.event === 'started'));
    expect((await suggest(m.port, ['slow', 'a', 'b'])).code).toBe(0);
    await queued(3);

    const over = await suggest(m.port, ['slow', 'c', '--wait', '--timeout', '20']);
    expect(over.code).toBe(3); // it never ran
    expect(over.stdout).toMatch(/b1 {2}slow c {2}refused {2}exit -1 .*not built: builder b1's queue already held 2 orders for other projects and branches \(--max-queued 2\)/);
    const refused = m.reports().find((r) => r.branch === 'c');
    expect(refused).toMatchObject({ builder: 'b1', verdict: 'refused', exitCode: -1 });
    expect(b.log().find((l) => l.event === 'refused')).toMatchObject({ project: 'slow', branch: 'c', replayed: false });
    // Acknowledged, so the inbox journal lets go of it: nothing stays pending.
    await waitFor('refused report acknowledged', () => !keptReports(join(b.dir, 'state')).some((r) => r.branch === 'c'));

    expect((await suggest(m.port, ['slow', 'a'])).code).toBe(0); // full, but a is waiting: it replaces it
    await waitFor('first a superseded', () => m.reports().some((r) => r.branch === 'a' && r.verdict === 'superseded'));
    writeFileSync(gate, '');
    await waitFor('all built', () => m.reports().filter((r) => r.verdict === 'success').length === 3);
    expect(b.log().filter((l) => l.event === 'started').map((l) => l.branch)).toEqual(['main', 'a', 'b']);
    expect(m.reports().filter((r) => r.verdict === 'refused')).toHaveLength(1);
  });

  it('a live order starts before what was replayed to the builder when it came back', async () => {
    const gate = join(tempDir(), 'gate');
    const m = await startMaster();
    const scripts = { slow: gated(gate) };
    const b = await startBuilder(m.port, { scripts });
    await stop(b);
    await waitFor('builder away', () => m.log().some((l) => l.event === 'disconnected'));
    expect((await suggest(m.port, ['slow', 'r1', 'r2', 'r3'])).code).toBe(0);
    const back = await startBuilder(m.port, { dir: b.dir, scripts });
    await waitFor('replay', () => m.log().some((l) => l.event === 'replay'));
    await waitFor('r1 running', () => back.log().some((l) => l.event === 'started'));
    const live = node('suggest', ['-p', String(m.port), 'slow', 'live', '--wait', '--timeout', '20']);
    await waitFor('live queued', () => back.log().some((l) => l.event === 'queued' && l.branch === 'live'));
    writeFileSync(gate, '');
    expect((await live.exited).code).toBe(0);
    await waitFor('all built', () => m.reports().filter((r) => r.verdict === 'success').length === 4);
    const started = back.log().filter((l) => l.event === 'started').map((l) => l.branch);
    expect(started).toEqual(['r1', 'live', 'r2', 'r3']);
    expect(back.log().filter((l) => l.event === 'queued').map((l) => [l.branch, l.replayed])).toEqual([['r1', true], ['r2', true], ['r3', true], ['live', false]]);
  });
});
