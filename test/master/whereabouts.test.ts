import { describe, expect, it } from 'vitest';
import { isOverdue, spoken, usualMs, whereabouts, type WhereInput } from '../../lib/master/whereabouts.js';

const T0 = Date.UTC(2026, 0, 1, 14, 0, 0);
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
const suggestion = { id: 'S1', seq: 7, project: 'foo', branch: 'main', from: '127.0.0.1', createdAt: T0 };

function input(over: Partial<WhereInput>): WhereInput {
  return { suggestion, deliveries: [], online: [], known: [], usual: new Map(), now: T0 + 120_000, clock, ...over };
}
const linux = { os: 'linux', 'script:foo': 'true' };

describe('whereabouts', () => {
  it('names every state of a delivered builder with its reason', () => {
    const w = whereabouts(input({
      deliveries: [
        { builder: 'a-ok', state: 'reported', at: T0, verdict: 'success', durationMs: 3000 },
        { builder: 'b-run', state: 'started', at: T0 },
        { builder: 'c-slow', state: 'started', at: T0 },
        { builder: 'd-wait', state: 'received', at: T0 },
        { builder: 'e-off', state: 'offered', at: T0 },
        { builder: 'f-lost', state: 'reported', at: T0, verdict: 'lost' },
        { builder: 'g-skip', state: 'skipped', at: T0 },
        { builder: 'h-old', state: 'reported', at: T0, verdict: 'superseded' },
        { builder: 'i-none', state: 'reported', at: T0, verdict: 'no-script' },
        { builder: 'j-ref', state: 'reported', at: T0, verdict: 'refused' },
      ],
      online: [
        { name: 'b-run', labels: linux, running: new Map([['S1', T0]]), jobs: 1 },
        { name: 'c-slow', labels: linux, running: new Map([['S1', T0]]), jobs: 1 },
        { name: 'd-wait', labels: linux, running: new Map([['S0', T0], ['S00', T0]]), jobs: 2 },
      ],
      known: [{ name: 'e-off', lastSeen: T0 - 5 * 60_000 }],
      usual: new Map([['b-run', 180_000], ['c-slow', 50_000], ['d-wait', 60_000]]),
      replayWindowMs: 3_600_000,
    }));
    expect(w.map((x) => `${x.builder} ${x.state}: ${x.reason}`)).toEqual([
      'a-ok reported: reported success in 3 s',
      'b-run running: running for 2 min (usually 3 min)',
      'c-slow overdue: overdue: running for 2 min (usually 50 s)',
      'd-wait waiting: received and waiting, queued behind 2 other builds on it (usually 60 s)',
      'e-off offline: offline since 13:55 (it gets the build if back by 14:55)',
      'f-lost lost: lost: it did not come back within the replay window',
      'g-skip no-script: no script: it has no buildscript foo and ignores projects it has none for',
      'h-old superseded: superseded: a newer suggestion of the same project and branch was sent to it instead',
      'i-none no-script: no script: it has no buildscript foo',
      'j-ref refused: refused: it was owed too many builds to replay this one',
    ]);
    expect(w.find((x) => x.builder === 'd-wait')!.queuedBehind).toBe(2);
    expect(w.find((x) => x.builder === 'e-off')!.since).toBe(T0 - 5 * 60_000);
  });

  it('waits without a queue when the builder has a free job, and says nothing of usual without history', () => {
    const [w] = whereabouts(input({
      deliveries: [{ builder: 'm', state: 'offered', at: T0 }],
      online: [{ name: 'm', labels: linux, running: new Map([['S0', T0]]), jobs: 2 }],
    }));
    expect(w!.reason).toBe('offered and waiting');
    const [r] = whereabouts(input({ deliveries: [{ builder: 'm', state: 'started', at: T0 }], online: [{ name: 'm', labels: linux, running: new Map(), jobs: 1 }] }));
    expect(r).toMatchObject({ state: 'running', reason: 'running for 2 min' });
  });

  it('names builders the selector left out, and why, but not those it delivered to', () => {
    const w = whereabouts(input({
      suggestion: { ...suggestion, on: 'arch=arm64' },
      deliveries: [{ builder: 'arm', state: 'offered', at: T0 }],
      online: [
        { name: 'arm', labels: { arch: 'arm64', 'script:foo': 'true' }, running: new Map(), jobs: 1 },
        { name: 'x86', labels: { arch: 'x64', 'script:foo': 'true' }, running: new Map(), jobs: 1 },
      ],
      known: [{ name: 'gone', lastSeen: T0 - 1000, labels: { arch: 'arm64' } }, { name: 'later', lastSeen: T0 - 1000, labels: { arch: 'arm64', 'script:foo': 'true' } }],
      replayWindowMs: 600_000,
    }));
    expect(w.map((x) => `${x.builder} ${x.state}: ${x.reason}`)).toEqual([
      'arm waiting: offered and waiting',
      'gone excluded: excluded by the selector arch=arm64: has no script foo',
      'later offline: offline since 13:59 (it gets the build if back by 14:10)',
      'x86 excluded: excluded by the selector arch=arm64: lacks arch=arm64 (has arch=x64)',
    ]);
  });

  it('without a window, an offline builder gets it when back within the replay window', () => {
    const [w] = whereabouts(input({ deliveries: [{ builder: 'm', state: 'received', at: T0 - 60_000 }] }));
    expect(w).toMatchObject({ state: 'offline', since: T0 - 60_000, reason: 'offline since 13:59 (it gets the build when back within the replay window)' });
  });
});

describe('builders away when it was made', () => {
  it('are offline until the replay window from the suggestion ends, then lost; others are not expected', () => {
    const known = [
      { name: 'away', lastSeen: T0 - 60_000 },
      { name: 'long-gone', lastSeen: T0 - 700_000 },
      { name: 'came-back-and-left', lastSeen: T0 + 1000 },
    ];
    const w = whereabouts(input({ known, replayWindowMs: 600_000 }));
    expect(w.map((x) => `${x.builder} ${x.state}: ${x.reason}`)).toEqual(['away offline: offline since 13:59 (it gets the build if back by 14:10)']);
    const late = whereabouts(input({ known, replayWindowMs: 600_000, now: T0 + 600_000 }));
    expect(late.map((x) => `${x.builder} ${x.state}: ${x.reason}`)).toEqual(['away lost: lost: it did not come back within the replay window (away since 13:59)']);
  });
});

describe('usual duration and overdue', () => {
  it('is the median of successful durations, none without history', () => {
    expect(usualMs([])).toBeUndefined();
    expect(usualMs([300, 100, 200])).toBe(200);
    expect(usualMs([100, 200, 0, 400, 300])).toBe(250);
    expect(isOverdue(601, 300)).toBe(true);
    expect(isOverdue(600, 300)).toBe(false);
    expect(isOverdue(1e9, undefined)).toBe(false);
    expect([spoken(300), spoken(45_000), spoken(180_000), spoken(125 * 60_000)]).toEqual(['0.3 s', '45 s', '3 min', '2 h 5 min']);
  });
});
