import { describe, expect, it } from 'vitest';
import type { BuildOrder } from '../../lib/protocol/messages.js';
import { BuildQueue } from '../../lib/builder/queue.js';

let seq = 0;
const order = (id: string, project = 'p', branch = 'main'): BuildOrder => ({ type: 'suggest', id, seq: ++seq, project, branch });
/** An order replayed to a returning builder. */
const replayed = (id: string, project = 'p', branch = 'main'): BuildOrder => ({ ...order(id, project, branch), replayed: true });

function harness(jobs: number, maxQueued = 1000) {
  const running = new Map<string, () => void>();
  const started: string[] = [];
  const superseded: Array<[string, string]> = [];
  const refused: Array<[string, string | undefined]> = [];
  const q = new BuildQueue(jobs, maxQueued, (o) => new Promise<void>((res) => {
    started.push(o.id);
    running.set(o.id, () => { running.delete(o.id); res(); });
  }), (old, by) => superseded.push([old.id, by.id]), (o, by) => refused.push([o.id, by?.id]));
  const end = async (id: string): Promise<void> => { running.get(id)!(); await new Promise((r) => setTimeout(r, 0)); };
  return { q, started, superseded, refused, end, running };
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
    expect(h.q.push(order('3', 'c'))).toBe('closed');
    expect(h.started).toEqual(['1']);
    expect(h.refused).toEqual([]);
  });

  it('refuses an order for a new project and branch beyond the bound, and says so; running builds do not count', async () => {
    const h = harness(1, 2);
    expect(h.q.push(order('run', 'a'))).toBe('queued');
    expect(h.q.push(order('w1', 'b'))).toBe('queued');
    expect(h.q.push(order('w2', 'c'))).toBe('queued');
    expect(h.q.size).toBe(2);
    expect(h.q.push(order('over', 'd'))).toBe('refused');
    expect(h.refused).toEqual([['over', undefined]]);
    expect(h.q.size).toBe(2);
    await h.end('run');
    await h.end('w1');
    await h.end('w2');
    expect(h.started).toEqual(['run', 'w1', 'w2']);
  });

  it('still coalesces an order for a project and branch already waiting when the queue is full', async () => {
    const h = harness(1, 2);
    h.q.push(order('run', 'a'));
    h.q.push(order('b1', 'b'));
    h.q.push(order('c1', 'c'));
    expect(h.q.push(order('b2', 'b'))).toBe('queued');
    expect(h.superseded).toEqual([['b1', 'b2']]);
    expect(h.refused).toEqual([]);
    // Its key running does not make it a duplicate: a new order for a running key waits like any other, within the bound.
    expect(h.q.push(order('a2', 'a'))).toBe('refused');
    await h.end('run');
    await h.end('b2');
    expect(h.started).toEqual(['run', 'b2', 'c1']);
  });

  it('starts live orders before replayed ones, each in the order it came', async () => {
    const h = harness(1);
    h.q.push(replayed('r1', 'p', 'r1'));
    h.q.push(replayed('r2', 'p', 'r2'));
    h.q.push(replayed('r3', 'p', 'r3'));
    h.q.push(order('l1', 'p', 'l1'));
    h.q.push(order('l2', 'p', 'l2'));
    expect(h.q.ids()).toEqual(['l1', 'l2', 'r2', 'r3', 'r1']);
    for (const id of ['r1', 'l1', 'l2', 'r2']) await h.end(id);
    expect(h.started).toEqual(['r1', 'l1', 'l2', 'r2', 'r3']);
  });

  it('a live order for a project and branch waiting as replayed replaces it and waits as live', async () => {
    const h = harness(1);
    h.q.push(order('run', 'a'));
    h.q.push(replayed('x1', 'p', 'x'));
    h.q.push(replayed('y1', 'p', 'y'));
    h.q.push(order('x2', 'p', 'x'));
    // and a replayed order newer than a live one keeps its place among the live
    h.q.push(order('z1', 'p', 'z'));
    h.q.push(replayed('z2', 'p', 'z'));
    expect(h.superseded).toEqual([['x1', 'x2'], ['z1', 'z2']]);
    for (const id of ['run', 'x2', 'z2']) await h.end(id);
    expect(h.started).toEqual(['run', 'x2', 'z2', 'y1']);
  });

  it('when full, a live order takes the place of the oldest replayed one, which is refused; a replayed one is refused itself', async () => {
    const h = harness(1, 2);
    h.q.push(order('run', 'a'));
    h.q.push(replayed('r1', 'p', 'r1'));
    h.q.push(replayed('r2', 'p', 'r2'));
    expect(h.q.push(order('l1', 'p', 'l1'))).toBe('queued');
    expect(h.refused).toEqual([['r1', 'l1']]);
    expect(h.q.push(replayed('r3', 'p', 'r3'))).toBe('refused');
    expect(h.q.push(order('l2', 'p', 'l2'))).toBe('queued');
    expect(h.q.push(order('l3', 'p', 'l3'))).toBe('refused');
    expect(h.refused).toEqual([['r1', 'l1'], ['r3', undefined], ['r2', 'l2'], ['l3', undefined]]);
    for (const id of ['run', 'l1']) await h.end(id);
    expect(h.started).toEqual(['run', 'l1', 'l2']);
  });

  it('takes an order in time that does not grow with what is queued', () => {
    // Found when 2,000,000 orders slowed clientd's intake sevenfold: each push looked through the whole queue.
    const n = 50_000;
    const h = harness(1, n);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) h.q.push(order(`d${i}`, 'p', `b${i}`));
    for (let i = 0; i < n; i++) h.q.push(order(`c${i}`, 'p', `b${i}`));
    const ms = performance.now() - t0;
    expect(h.q.size).toBe(n); // d1… waiting, and c0 (its key's d0 is running)
    expect(h.superseded).toHaveLength(n - 1);
    expect(ms).toBeLessThan(3000); // ~50 ms; a pass over the queue per push takes minutes
  });

  it('takes a cancelled order out of the queue (live or replayed) so it never starts, and leaves a running one alone', async () => {
    const h = harness(1);
    h.q.push(order('1', 'a'));
    h.q.push(order('2', 'b'));
    h.q.push(replayed('3', 'c'));
    expect(h.q.remove('1')).toBeUndefined(); // running: not the queue's to drop
    expect(h.q.remove('3')).toMatchObject({ id: '3', replayed: true });
    expect(h.q.remove('2')).toMatchObject({ id: '2' });
    expect(h.q.remove('2')).toBeUndefined();
    expect(h.q.size).toBe(0);
    await h.end('1');
    expect(h.started).toEqual(['1']);
  });
});
