// What a returning builder is owed: the pure rules, and properties that hold for any input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planReplay, type ReplayInput } from '../../lib/master/replay.js';
import type { OpenState, StoredSuggestion } from '../../lib/store/store.js';

const s = (seq: number, branch = `b${seq}`, project = 'p'): StoredSuggestion => ({ seq, id: `s-${seq}`, project, branch, from: 'x', createdAt: seq });
const input = (over: Partial<ReplayInput>): ReplayInput => ({ cursor: undefined, open: [], owed: [], buffered: [], eligible: () => true, max: 1000, ...over });

describe('planReplay', () => {
  it('leaves what the cursor covers to the builder, offers the rest again, and calls a started one beyond it lost', () => {
    const p = planReplay(input({
      cursor: 5,
      open: [{ suggestion: s(3), state: 'received' }, { suggestion: s(6), state: 'offered' }, { suggestion: s(7), state: 'started' }],
    }));
    expect(p.send.map((x) => x.seq)).toEqual([6]);
    expect(p.lost.map((x) => x.seq)).toEqual([7]);
    expect(p.superseded).toEqual([]);
  });

  it('sends the newest per project and branch of what it missed, oldest first, and supersedes the rest by it', () => {
    const p = planReplay(input({ cursor: 0, owed: [s(1, 'main'), s(2, 'dev'), s(3, 'main'), s(4, 'main', 'q')] }));
    expect(p.send.map((x) => x.seq)).toEqual([2, 3, 4]);
    expect(p.superseded.map((x) => [x.suggestion.seq, x.by.seq])).toEqual([[1, 3]]);
  });

  it('offers only what the builder would get now, but always what was offered live while it caught up', () => {
    const p = planReplay(input({ cursor: 0, owed: [s(1, 'a', 'other'), s(2)], buffered: [s(3, 'c', 'other')], eligible: (x) => x.project === 'p' }));
    expect(p.send.map((x) => x.seq)).toEqual([2, 3]);
  });

  it('sends a builder owed more than the bound only the newest of it, and refuses the older rest', () => {
    const owed = [1, 2, 3, 4, 5].map((q) => s(q));
    const p = planReplay(input({ cursor: 0, owed, max: 3 }));
    expect(p.send.map((x) => x.seq)).toEqual([3, 4, 5]);
    expect(p.refused.map((x) => x.seq)).toEqual([1, 2]);
    expect(planReplay(input({ cursor: 0, owed, max: 5 })).refused).toEqual([]);
  });

  it('counts against the bound what is left once coalesced, and never what was offered live meanwhile', () => {
    const p = planReplay(input({
      cursor: 0, owed: [s(1, 'main'), s(2, 'main'), s(3, 'dev'), s(4, 'x'), s(5, 'y')], buffered: [s(6, 'z'), s(7, 'w')], max: 2,
    }));
    expect(p.superseded.map((x) => [x.suggestion.seq, x.by.seq])).toEqual([[1, 2]]);
    expect(p.refused.map((x) => x.seq)).toEqual([2, 3]);
    expect(p.send.map((x) => x.seq)).toEqual([4, 5, 6, 7]);
  });

  const arb = fc.record({
    cursor: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    open: fc.uniqueArray(fc.record({ seq: fc.integer({ min: 1, max: 40 }), branch: fc.constantFrom('m', 'd', 'f'), state: fc.constantFrom<OpenState>('offered', 'received', 'started') }), { selector: (o) => o.seq, maxLength: 12 }),
    owed: fc.uniqueArray(fc.record({ seq: fc.integer({ min: 1, max: 40 }), branch: fc.constantFrom('m', 'd', 'f', 'g', 'h') }), { selector: (o) => o.seq, maxLength: 12 }),
    max: fc.integer({ min: 0, max: 6 }),
  }).map((r) => input({
    cursor: r.cursor, max: r.max,
    open: r.open.map((o) => ({ suggestion: s(o.seq, o.branch), state: o.state })),
    owed: r.owed.filter((o) => r.cursor === undefined || o.seq > r.cursor).map((o) => s(o.seq, o.branch)),
  }));

  it('for any input: nothing is both sent and given a verdict, nothing the cursor covers is touched, one order per branch, newest, at most the bound', () => {
    fc.assert(fc.property(arb, (i) => {
      const p = planReplay(i);
      const sent = p.send.map((x) => x.seq);
      const decided = [...p.superseded.map((x) => x.suggestion.seq), ...p.lost.map((x) => x.seq), ...p.refused.map((x) => x.seq)];
      expect(p.send.length).toBeLessThanOrEqual(i.max);
      for (const r of p.refused) for (const q of sent) expect(r.seq).toBeLessThan(q);
      expect(new Set([...sent, ...decided]).size).toBe(sent.length + decided.length);
      if (i.cursor !== undefined) for (const seq of [...sent, ...decided]) expect(seq).toBeGreaterThan(i.cursor);
      expect(new Set(p.send.map((x) => x.branch)).size).toBe(p.send.length);
      expect(sent).toEqual([...sent].sort((a, b) => a - b));
      for (const x of p.superseded) expect(x.by.seq).toBeGreaterThan(x.suggestion.seq);
      // Everything open beyond the cursor, and everything owed, ends up somewhere.
      const beyond = new Set([...i.open.map((o) => o.suggestion.seq), ...i.owed.map((o) => o.seq)].filter((q) => i.cursor === undefined || q > i.cursor));
      expect(new Set([...sent, ...decided])).toEqual(beyond);
    }), { numRuns: 2000, seed: 20261201 });
  });
});
