// Cancelling's decision per builder (planCancel) and the cancels owed to builders that were away (CancelsOwed).
import { describe, expect, it } from 'vitest';
import { planCancel, type CancelPart } from '../../lib/master/cancel.js';
import { CancelsOwed } from '../../lib/master/cancelsOwed.js';

const ID = 'mx57dlhd-ed4a46c20464';
const part = (builder: string, state: CancelPart['state'], extra: Partial<CancelPart> = {}): CancelPart => ({ builder, state, ...extra });

describe('planCancel', () => {
  it('sends cancel to a connected builder that takes it, records it for one away or owed, and names an older clientd that cannot be told', () => {
    const plan = planCancel({
      id: ID, parts: [
        part('run', 'started', { link: { cancels: true } }),
        part('queue', 'received', { link: { cancels: true } }),
        part('old', 'started', { link: { cancels: false } }),
        part('gone', 'received'),
        part('later', 'owed'),
        part('done', 'reported', { verdict: 'success' }),
        part('skip', 'skipped'),
      ],
    });
    expect(plan).toEqual({
      ok: true, dequeue: false,
      steps: [
        { builder: 'run', action: 'send', state: 'started' },
        { builder: 'queue', action: 'send', state: 'received' },
        { builder: 'old', action: 'unable', state: 'started', why: 'builder old runs an older simplebb-clientd that does not know cancel; upgrade it, or stop it (simplebb-clientd kills its builds when it stops)' },
        { builder: 'gone', action: 'record', state: 'received' },
        { builder: 'later', action: 'record', state: 'owed' },
      ],
      finished: [{ builder: 'done', state: 'reported', verdict: 'success' }, { builder: 'skip', state: 'skipped' }],
    });
  });

  it('with --builder, acts on that builder only, and says when its build has finished or was never its', () => {
    const parts = [part('a', 'started', { link: { cancels: true } }), part('b', 'reported', { verdict: 'failure' })];
    expect(planCancel({ id: ID, builder: 'a', parts })).toMatchObject({ ok: true, steps: [{ builder: 'a', action: 'send' }], finished: [] });
    expect(planCancel({ id: ID, builder: 'b', parts })).toEqual({ ok: false, code: 'finished', problem: `builder b's build of ${ID} has already finished (b failure): nothing to cancel` });
    expect(planCancel({ id: ID, builder: 'c', parts })).toEqual({ ok: false, code: 'no-such-builder', problem: `suggestion ${ID} was never offered to builder c` });
  });

  it('says a suggestion has finished when no part is open, and that one which went to nobody has nothing to cancel', () => {
    expect(planCancel({ id: ID, parts: [part('a', 'reported', { verdict: 'cancelled' }), part('b', 'skipped')] }))
      .toEqual({ ok: false, code: 'finished', problem: `suggestion ${ID} has already finished (a cancelled, b skipped): nothing to cancel` });
    expect(planCancel({ id: ID, parts: [] })).toEqual({ ok: false, code: 'finished', problem: `suggestion ${ID} went to no builder: nothing to cancel` });
  });

  it('dequeues an order still waiting in the master\'s own queue (the hook for --one dispatch), with or without builders yet', () => {
    expect(planCancel({ id: ID, parts: [], queued: true })).toEqual({ ok: true, steps: [], dequeue: true, finished: [] });
    expect(planCancel({ id: ID, builder: 'x', parts: [], queued: true })).toEqual({ ok: true, steps: [], dequeue: true, finished: [] });
  });
});

describe('CancelsOwed', () => {
  it('hands a builder what it is owed once, and forgets the oldest beyond its bound', () => {
    const owed = new CancelsOwed();
    owed.owe('a', 'i1', 'r1');
    owed.owe('b', 'i2', 'r2');
    owed.owe('a', 'i3', 'r3');
    owed.owe('a', 'i1', 'r1 again');
    expect(owed.take('a')).toEqual([{ id: 'i1', reason: 'r1 again' }, { id: 'i3', reason: 'r3' }]);
    expect(owed.take('a')).toEqual([]);
    for (let i = 0; i < 10_000; i++) owed.owe('c', `c${i}`, 'r');
    expect(owed.take('b')).toEqual([]); // the oldest, forgotten
    expect(owed.take('c')).toHaveLength(10_000);
  });
});
