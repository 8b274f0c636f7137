// The choice of builder for a `one` order, and the queue's fairness across projects.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choose, FairQueue, type Free, type Order } from '../../lib/master/dispatch.js';
import type { StoredSuggestion } from '../../lib/store/store.js';

let seq = 0;
const order = (project: string, on?: string): Order => {
  seq++;
  const suggestion: StoredSuggestion = { id: `s-${seq}`, seq, project, branch: 'main', from: 't', createdAt: seq, one: { retries: 2 }, ...(on ? { on } : {}) };
  return { suggestion, attempt: 1, queuedAt: seq, tried: new Set() };
};

describe('choose', () => {
  const b = (name: string, free: number, lastGiven = 0, lastProject?: string): Free => ({ name, free, lastGiven, ...(lastProject ? { lastProject } : {}) });

  it('takes the most free capacity, then the least recently given, then the one that last built the project', () => {
    expect(choose('foo', [b('a', 1), b('b', 3), b('c', 2)])).toBe('b');
    expect(choose('foo', [b('a', 2, 50), b('b', 2, 10), b('c', 2, 30)])).toBe('b');
    expect(choose('foo', [b('a', 2, 10, 'bar'), b('b', 2, 10, 'foo')])).toBe('b');
    expect(choose('foo', [b('b', 2, 10), b('a', 2, 10)])).toBe('a'); // all equal: by name, so the choice is stable
  });

  it('never picks a builder without room, and none when nobody has room', () => {
    expect(choose('foo', [b('a', 0), b('b', -1)])).toBeUndefined();
    expect(choose('foo', [])).toBeUndefined();
    fc.assert(fc.property(fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 4 }), free: fc.integer({ min: -2, max: 4 }), lastGiven: fc.nat(100) })), (list) => {
      const got = choose('foo', list);
      const roomy = list.filter((x) => x.free > 0);
      if (!roomy.length) return got === undefined;
      const max = Math.max(...roomy.map((x) => x.free));
      return roomy.some((x) => x.name === got && x.free === max);
    }));
  });
});

describe('FairQueue', () => {
  it('serves projects in turn: a flood from one project does not starve another', () => {
    const q = new FairQueue();
    for (let i = 0; i < 100; i++) q.add(order('flood'));
    const late = order('small');
    q.add(late);
    const served: string[] = [];
    // One slot at a time, as builders free up: the small project's order goes in the second turn, not the 101st.
    for (let turn = 0; turn < 3; turn++) {
      let slots = 1;
      q.serve((o) => { served.push(o.suggestion.project); slots--; return true; }, () => slots > 0);
    }
    expect(served).toEqual(['flood', 'small', 'flood']);
    expect(q.size).toBe(98);
  });

  it('keeps each project first-in-first-out, and passes over an order no builder can take for the next of its project', () => {
    const q = new FairQueue();
    const a1 = order('p', 'arch=riscv64');
    const a2 = order('p');
    const a3 = order('p');
    for (const o of [a1, a2, a3]) q.add(o);
    expect(q.ahead(a3.suggestion.id)).toBe(2);
    const served: string[] = [];
    q.serve((o) => { if (o.suggestion.on) return false; served.push(o.suggestion.id); return true; }, () => true);
    expect(served).toEqual([a2.suggestion.id, a3.suggestion.id]);
    expect(q.all().map((o) => o.suggestion.id)).toEqual([a1.suggestion.id]);
  });

  it('hands every order out exactly once, whatever the projects and the room', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), (projects, perRound) => {
      const q = new FairQueue();
      const orders = projects.map((p) => order(p));
      for (const o of orders) q.add(o);
      const seen: string[] = [];
      for (let round = 0; round < 100 && q.size; round++) {
        let slots = perRound;
        q.serve((o) => { seen.push(o.suggestion.id); slots--; return true; }, () => slots > 0);
      }
      expect(q.size).toBe(0);
      expect([...seen].sort()).toEqual(orders.map((o) => o.suggestion.id).sort());
      // Within a project, first in, first out.
      for (const p of new Set(projects)) {
        const mine = orders.filter((o) => o.suggestion.project === p).map((o) => o.suggestion.id);
        expect(seen.filter((id) => mine.includes(id))).toEqual(mine);
      }
    }));
  });
});
