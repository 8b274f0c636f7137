// A short chaos run in every test run: kill -9, SIGSTOP and cut or silenced links against a real master and builders.
import { afterEach, describe, expect, it } from 'vitest';
import { describe as figures, runChaos } from '../../chaos/harness.js';
import { stopAll } from '../../bench/common.js';

afterEach(stopAll);

describe('chaos', () => {
  it('keeps every promise through a seeded schedule of crashes, stops and link faults', async () => {
    // Seed 3's schedule has every kind of fault: 2 master kills, 2 builder kills, 2 stops, 2 cuts, 2 blackholes.
    const r = await runChaos({ seed: 3, outcomes: 300, builders: 3, intervalMs: 100, faultEveryMs: 500, settleMs: 60_000, say: () => undefined });
    console.log(figures(r).join('\n'));
    expect(Object.keys(r.faults).sort()).toEqual(['blackhole', 'kill-builder', 'kill-master', 'sever', 'stop-builder']);
    // Enough outcomes that the run did exercise the farm. Suggesters that find the master down give up after 3 s,
    // so how many of the 100 are accepted depends on the machine: on 2026-12-02 this machine gave 153-225 for the
    // commit before this change and for this one alike (240 had held the day before); the promises are the point.
    expect(r.outcomes).toBeGreaterThanOrEqual(150);
    expect(r.violations).toEqual([]);
  }, 150_000);
});
