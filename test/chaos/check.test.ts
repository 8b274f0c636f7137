// The chaos checker finds each kind of broken promise: a test of the test, so a quiet chaos run means something.
import { describe, expect, it } from 'vitest';
import { check, type Evidence } from '../../chaos/check.js';

function evidence(): Evidence {
  return {
    builders: ['b0', 'b1'],
    suggestions: [{ id: 's-1', branch: 'main' }, { id: 's-2', branch: 'main' }, { id: 's-3', branch: 'dev' }],
    accepted: ['s-1', 's-2', 's-3'],
    reports: [
      { builder: 'b0', id: 's-1', verdict: 'superseded', exitCode: -1, message: null },
      { builder: 'b0', id: 's-2', verdict: 'success', exitCode: 0, message: null },
      { builder: 'b0', id: 's-3', verdict: 'failure', exitCode: 1, message: null },
      { builder: 'b1', id: 's-1', verdict: 'success', exitCode: 0, message: null },
      { builder: 'b1', id: 's-2', verdict: 'lost', exitCode: -1, message: 'unknown' },
      { builder: 'b1', id: 's-3', verdict: 'failure', exitCode: 1, message: null },
    ],
    runs: new Map([
      ['b0', [{ kind: 'start', id: 's-2' }, { kind: 'done', id: 's-2', code: 0 }, { kind: 'start', id: 's-3' }, { kind: 'done', id: 's-3', code: 1 }]],
      ['b1', [{ kind: 'start', id: 's-1' }, { kind: 'done', id: 's-1', code: 0 }, { kind: 'start', id: 's-2' }, { kind: 'done', id: 's-2', code: 0 }, { kind: 'start', id: 's-3' }, { kind: 'done', id: 's-3', code: 1 }]],
    ]),
    logged: [
      { builder: 'b0', id: 's-1' }, { builder: 'b0', id: 's-2' }, { builder: 'b0', id: 's-3' },
      { builder: 'b1', id: 's-1' }, { builder: 'b1', id: 's-2' }, { builder: 'b1', id: 's-3' },
    ],
  };
}

describe('the chaos checker', () => {
  it('passes a run that kept every promise, and counts a completed build reported lost as honest', () => {
    const f = check(evidence());
    expect(f.violations).toEqual([]);
    expect(f).toMatchObject({ outcomes: 6, runs: 5, completedButLost: 1, verdicts: { success: 2, failure: 2, lost: 1, superseded: 1 } });
  });

  it('finds a build run twice', () => {
    const e = evidence();
    e.runs.get('b0')!.push({ kind: 'start', id: 's-3' });
    expect(check(e).violations).toEqual(['b0 ran s-3 2 times']);
  });

  it('finds a missing report, and an accepted suggestion the record does not have', () => {
    const e = evidence();
    e.reports = e.reports.filter((r) => !(r.builder === 'b1' && r.id === 's-3'));
    e.accepted.push('s-9');
    expect(check(e).violations).toEqual(['accepted suggestion s-9 is not in the record', 'b1 has no report for s-3 (dev)']);
  });

  it('finds a verdict that contradicts the build, and one for a build that never ran', () => {
    const e = evidence();
    e.reports[2] = { ...e.reports[2]!, verdict: 'success', exitCode: 0 };
    e.runs.set('b1', e.runs.get('b1')!.filter((l) => l.id !== 's-1'));
    expect(check(e).violations).toEqual(['b0 reported s-3 success but the build exited 1', 'b1 reported s-1 success but the build never ran']);
  });

  it('finds a superseded report for the newest suggestion of a branch, and one for a build that ran', () => {
    const e = evidence();
    e.reports[1] = { ...e.reports[1]!, verdict: 'superseded' };
    e.reports[3] = { ...e.reports[3]!, verdict: 'superseded' };
    expect(check(e).violations).toEqual([
      'b0 reported s-2 superseded, but it is the newest for main', 'b0 reported s-2 superseded but the build ran', 'b1 reported s-1 superseded but the build ran',
    ]);
  });

  it('finds a report logged twice, and one never logged; a replaced line is not a second one', () => {
    const e = evidence();
    e.logged.push({ builder: 'b0', id: 's-2' }, { builder: 'b1', id: 's-3', note: 'replaced' });
    e.logged = e.logged.filter((l) => !(l.builder === 'b1' && l.id === 's-1'));
    expect(check(e).violations).toEqual(['report b0 s-2 logged 2 times', 'report b1 s-1 is stored but never logged']);
  });
});
