import { describe, expect, it } from 'vitest';
import { formatLabels, labelsProblem, parseLabel, parseLabels, withScripts } from '../../lib/protocol/labels.js';

describe('labels', () => {
  it('parses KEY=VALUE from the environment and flags, flags winning', () => {
    expect(parseLabels('pool=fast, zone=eu', ['pool=slow', 'gpu=true'])).toEqual({ pool: 'slow', zone: 'eu', gpu: 'true' });
    expect(parseLabels(undefined, [])).toEqual({});
    expect(parseLabels(',,', [])).toEqual({});
  });

  it('refuses bad names and values with one line naming them', () => {
    expect(() => parseLabel('pool')).toThrow('label "pool" is not KEY=VALUE');
    expect(() => parseLabel('-x=1')).toThrow(/label "-x=1": a label name must be/);
    expect(() => parseLabel('pool=a b')).toThrow(/label "pool=a b": a label value must be/);
    expect(() => parseLabel('pool=')).toThrow(/a label value must be/);
    expect(() => parseLabel('script:foo=true')).toThrow(/script: labels come from the buildscripts dir/);
    expect(() => parseLabels(Array.from({ length: 65 }, (_, i) => `k${i}=v`).join(','))).toThrow('at most 64 labels, got 65');
    for (const e of [() => parseLabel('pool'), () => parseLabel('a=\n')]) {
      try { e(); } catch (err) { expect((err as Error).message).not.toContain('\n'); }
    }
  });

  it('checks a whole set as the master does', () => {
    expect(labelsProblem({ os: 'linux', 'example.com/pool': 'a:b' })).toBeNull();
    expect(labelsProblem({ os: '' })).toMatch(/label os: a label value/);
    expect(labelsProblem({ 'script:x': 'true' })).toMatch(/script: labels come from/);
  });

  it('adds script:NAME=true per project and prints sorted', () => {
    const all = withScripts({ os: 'linux' }, ['foo', 'bar']);
    expect(all).toEqual({ os: 'linux', 'script:foo': 'true', 'script:bar': 'true' });
    expect(formatLabels(all)).toBe('os=linux script:bar=true script:foo=true');
  });
});
