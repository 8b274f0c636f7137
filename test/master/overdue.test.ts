import { describe, expect, it } from 'vitest';
import { Board } from '../../lib/master/board.js';
import { EventBus, type MasterEvent } from '../../lib/master/events.js';
import { OverdueWatch } from '../../lib/master/overdue.js';

const uname = { type: 'Linux', release: '6.1', version: '', machine: 'x86_64', hostname: 'b1' };
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function farm(usual: Record<string, number | undefined>) {
  const events = new EventBus();
  let t = 1_000_000;
  const board = new Board(events, () => t);
  const lookups: string[] = [];
  const watch = new OverdueWatch(events, board, async (project, branch, builder) => {
    lookups.push(`${project}/${branch}/${builder}`);
    return usual[builder];
  }, () => t);
  const overdue: MasterEvent[] = [];
  events.on((e) => { if (e.type === 'overdue') overdue.push(e); });
  for (const name of ['b1', 'b2']) events.emit({ type: 'builder-up', name, address: '127.0.0.1:1', instance: name, projects: ['foo'], uname, node: 'v22', jobs: 1, labels: {} });
  const suggestion = { id: 'S1', seq: 1, project: 'foo', branch: 'main', from: 'x', createdAt: t };
  events.emit({ type: 'suggestion', suggestion, builders: ['b1', 'b2'] });
  for (const b of ['b1', 'b2']) events.emit({ type: 'started', id: 'S1', builder: b, startedAt: t });
  /** The first look, and the usual duration's lookup settled. */
  const start = async (): Promise<void> => {
    watch.tick();
    await settle();
  };
  return { events, watch, overdue, lookups, start, advance: (ms: number) => { t += ms; } };
}

describe('overdue builds', () => {
  it('announces a build once when it has run more than twice its usual duration, and never one without history', async () => {
    const f = farm({ b1: 300 });
    await f.start();
    f.advance(600);
    f.watch.tick();
    expect(f.overdue).toEqual([]); // exactly twice is not more than twice
    f.advance(1);
    f.watch.tick();
    f.watch.tick();
    expect(f.overdue).toEqual([{ type: 'overdue', id: 'S1', builder: 'b1', project: 'foo', branch: 'main', startedAt: 1_000_000, usualMs: 300 }]);
    expect(f.watch.count()).toBe(1);
    expect(f.watch.overdueOf('S1', 'b1')).toBe(300);
    expect(f.watch.overdueOf('S1', 'b2')).toBeUndefined();
    f.advance(1_000_000);
    f.watch.tick();
    expect(f.overdue).toHaveLength(1);
    expect(f.lookups.sort()).toEqual(['foo/main/b1', 'foo/main/b2']); // once per build
  });

  it('stops counting a build when its report is in', async () => {
    const f = farm({ b1: 100 });
    await f.start();
    f.advance(500);
    f.watch.tick();
    expect(f.watch.count()).toBe(1);
    f.events.emit({ type: 'report', replaced: false, report: { id: 'S1', builder: 'b1', seq: 1, project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 500, uname, node: 'v22', output: '', outputBytes: 0, outputCut: 0, receivedAt: 0 } });
    expect(f.watch.count()).toBe(0);
    f.watch.tick();
    expect(f.overdue).toHaveLength(1);
  });
});
