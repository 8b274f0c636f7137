// The transition from a cell's stored previous verdict to the new one, and which rules' `when` it meets.
import { describe, expect, it } from 'vitest';
import { wants, WHENS } from '../../lib/notify/rules.js';
import { transition } from '../../lib/notify/transition.js';
import { anyGlob, glob } from '../../lib/notify/glob.js';

describe('transition', () => {
  it('judges broken, fixed, still-failing and passing from the previous outcome; timeout counts as a failure', () => {
    expect(transition('success', 'failure')).toBe('broken');
    expect(transition(undefined, 'failure')).toBe('broken');
    expect(transition('success', 'timeout')).toBe('broken');
    expect(transition('failure', 'success')).toBe('fixed');
    expect(transition('timeout', 'success')).toBe('fixed');
    expect(transition('failure', 'failure')).toBe('still-failing');
    expect(transition('timeout', 'failure')).toBe('still-failing');
    expect(transition('success', 'success')).toBe('passing');
    expect(transition(undefined, 'success')).toBe('passing');
    expect(transition('success', 'lost')).toBe('lost');
    expect(transition('failure', 'no-script')).toBe('none');
    expect(transition('failure', 'superseded')).toBe('none');
  });

  it('matches each `when` to its builds only', () => {
    const cases: Array<[Parameters<typeof transition>[0], Parameters<typeof transition>[1]]> = [
      ['success', 'failure'], ['failure', 'success'], ['failure', 'failure'], ['success', 'success'], [undefined, 'lost'], [undefined, 'refused'],
    ];
    const table = Object.fromEntries(WHENS.map((w) => [w, cases.filter(([l, v]) => wants(w, v, transition(l, v))).map(([l, v]) => `${l}>${v}`)]));
    expect(table).toEqual({
      broken: ['success>failure'],
      fixed: ['failure>success'],
      'still-failing': ['failure>failure'],
      failure: ['success>failure', 'failure>failure'],
      success: ['failure>success', 'success>success'],
      lost: ['undefined>lost'],
      overdue: [], // a report never is: an overdue notice is planned when a running build is found overdue
      any: ['success>failure', 'failure>success', 'failure>failure', 'success>success', 'undefined>lost'],
    });
  });
});

describe('glob', () => {
  it('takes * for any run (slashes too) and ? for one character; everything else is literal', () => {
    expect(glob('release/*')('release/1.2')).toBe(true);
    expect(glob('release/*')('release')).toBe(false);
    expect(glob('*')('a/b/c')).toBe(true);
    expect(glob('v?.x')('v1.x')).toBe(true);
    expect(glob('v?.x')('v1zx')).toBe(false);
    expect(glob('a+b')('aab')).toBe(false);
    expect(glob('a+b')('a+b')).toBe(true);
    expect(anyGlob(undefined)('anything')).toBe(true);
    expect(anyGlob(['main', 'dev*'])('develop')).toBe(true);
    expect(anyGlob(['main', 'dev*'])('feature')).toBe(false);
  });
});
