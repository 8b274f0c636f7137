import { describe, expect, it } from 'vitest';
import type { BuildOrder } from '../../lib/protocol/messages.js';
import { BuildQueue } from '../../lib/builder/queue.js';

let seq = 0;
const order = (id: string, project = 'p', branch = 'main'): BuildOrder => ({ type: 'suggest', id, seq: ++seq, project, branch });

function harness(jobs: number) {
  const running = new Map<string, () => void>();
  const started: string[] = [];
  const superseded: Array<[string, string]> = [];
  const q = new BuildQueue(jobs, (o) => new Promise<void>((res) => {
    started.push(o.id);
    running.set(o.id, () => { running.delete(o.id); res(); });
  }), (old, by) => superseded.push([old.id, by.id]));
  const end = async (id: string): Promise<void> => { running.get(id)!(); await new Promise((r) => setTimeout(r, 0)); };
  return { q, started, superseded, end, running };
}

describe('BuildQueue', () => {
  it('runs up to N builds at once', async () => {
    const h = harness(2);
    h.q.push(order('1', 'a'));
    h.q.push(order('2', 'b'));
    h.q.push(order('3', 'c'));
    expect(h.started).toEqual(['1', '2']);
    await h.end('1');
    expect(h.started).toEqual(['1', '2', '3']);
  });

  it('never builds the same project and branch twice at once, and coalesces queued duplicates to the newest', async () => {
    const h = harness(4);
    h.q.push(order('1'));
    h.q.push(order('2'));
    h.q.push(order('3'));
    h.q.push(order('4', 'p', 'other'));
    expect(h.started).toEqual(['1', '4']);
    expect(h.superseded).toEqual([['2', '3']]);
    await h.end('1');
    expect(h.started).toEqual(['1', '4', '3']);
  });

  it('hands back queued orders when closed and starts nothing more', async () => {
    const h = harness(1);
    h.q.push(order('1', 'a'));
    h.q.push(order('2', 'b'));
    expect(h.q.close().map((o) => o.id)).toEqual(['2']);
    await h.end('1');
    h.q.push(order('3', 'c'));
    expect(h.started).toEqual(['1']);
  });
});
