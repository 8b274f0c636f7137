// /metrics' registry from the master's events (no socket): counters by label, the cap on label sets that keeps a
// flood of names from growing the page, and the report commit latency carried on the report event.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SERIES, createMetrics } from '../../lib/http/metrics.js';
import { Board } from '../../lib/master/board.js';
import { EventBus } from '../../lib/master/events.js';
import type { Verdict } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import type { StoredReport } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6.1.0', version: '#1 SMP', machine: 'x86_64', hostname: 'h1' };

function report(project: string, verdict: Verdict = 'success', durationMs = 1500): StoredReport {
  return {
    builder: 'b1', id: 'mx57dl00-ed4a46c20460', seq: 1, project, branch: 'main', exitCode: 0, verdict, durationMs, startedAt: 0,
    uname, node: 'v22.11.0', output: '', outputBytes: 0, outputCut: 0, receivedAt: 0,
  };
}

function setup(overdue?: { count: () => number }) {
  const events = new EventBus();
  const store = new SqliteStore(tempDir());
  const registry = createMetrics(events, new Board(events), store.history, overdue);
  /** The sample lines of one metric on the page now. */
  const samples = async (name: string): Promise<string[]> => (await registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return { events, samples };
}

describe('the metrics', () => {
  it('cap each metric\'s label sets: beyond the cap, new projects are counted under "other", known ones keep their own', async () => {
    const { events, samples } = setup();
    const extra = 7;
    for (let i = 0; i < MAX_SERIES + extra; i++) events.emit({ type: 'report', report: report(`p${i}`), replaced: false });
    // A project seen before the cap still counts under its own name.
    events.emit({ type: 'report', report: report('p0'), replaced: false });
    const builds = await samples('simplebb_builds_total');
    expect(builds).toHaveLength(MAX_SERIES + 1);
    expect(builds).toContain('simplebb_builds_total{project="p0",builder="b1",verdict="success"} 2');
    expect(builds).toContain(`simplebb_builds_total{project="other",builder="other",verdict="other"} ${extra}`);
    expect(builds.some((l) => l.includes(`"p${MAX_SERIES}"`))).toBe(false);
    const durations = (await samples('simplebb_build_duration_seconds_count'));
    expect(durations).toHaveLength(MAX_SERIES + 1);
    expect(durations).toContain(`simplebb_build_duration_seconds_count{project="other"} ${extra}`);
  });

  it('observe a builder\'s report commit latency, and nothing for a verdict the master gave itself', async () => {
    const { events, samples } = setup();
    events.emit({ type: 'report', report: report('foo'), replaced: false, commitMs: 3 });
    events.emit({ type: 'report', report: report('foo', 'failure'), replaced: false, commitMs: 40 });
    events.emit({ type: 'report', report: report('foo', 'lost', 0), replaced: false });
    expect(await samples('simplebb_report_commit_seconds_count')).toEqual(['simplebb_report_commit_seconds_count 2']);
    const [sum] = await samples('simplebb_report_commit_seconds_sum');
    expect(Number(sum!.split(' ')[1])).toBeCloseTo(0.043, 9);
    const buckets = await samples('simplebb_report_commit_seconds_bucket');
    expect(buckets).toContain('simplebb_report_commit_seconds_bucket{le="0.005"} 1');
    expect(buckets).toContain('simplebb_report_commit_seconds_bucket{le="0.05"} 2');
    expect(await samples('simplebb_builds_total')).toHaveLength(3);
  });

  it('gauge the builds overdue now, as the watch counts them (0 without one)', async () => {
    let n = 2;
    const { samples } = setup({ count: () => n });
    expect(await samples('simplebb_overdue_builds')).toEqual(['simplebb_overdue_builds 2']);
    n = 0;
    expect(await samples('simplebb_overdue_builds')).toEqual(['simplebb_overdue_builds 0']);
    expect(await setup().samples('simplebb_overdue_builds')).toEqual(['simplebb_overdue_builds 0']);
  });
});
