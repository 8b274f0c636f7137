import { describe, expect, it } from 'vitest';
import { noMatchMessage, target } from '../../lib/master/targeting.js';
import { parseSelector } from '../../lib/protocol/selector.js';

const m1 = { name: 'm1', connected: true, labels: { os: 'linux', arch: 'x64', 'script:foo': 'true' } };
const m2 = { name: 'm2', connected: true, labels: { os: 'linux', arch: 'arm64' } };
const m3 = { name: 'm3', connected: false, labels: { os: 'linux', arch: 'arm64', 'script:foo': 'true' } };

describe('targeting', () => {
  it('offers to connected builders that match and have the script, keeps matching away ones for later', () => {
    const t = target('foo', parseSelector('arch=arm64'), [m1, m2, m3]);
    expect(t.now).toEqual([]);
    expect(t.later).toEqual(['m3']);
    expect(t.misses.map((m) => `${m.builder} ${m.why}`)).toEqual(['m1 lacks arch=arm64 (has arch=x64)', 'm2 has no script foo']);
  });

  it('names the closest misses when nobody matches', () => {
    const t = target('foo', parseSelector('arch=arm64'), [m1, m2]);
    expect(noMatchMessage('arch=arm64', t)).toBe('no builder matches arch=arm64: m1 lacks arch=arm64 (has arch=x64); m2 has no script foo');
    const far = target('foo', parseSelector('arch=riscv64 && os=freebsd'), [m1, m2]);
    expect(far.misses[0]!.builder).toBe('m1'); // two changes away; m2 is three (its script too)
    expect(noMatchMessage('x=1', target('foo', parseSelector('x=1'), []))).toMatch(/no builder is known/);
  });

  it('lists at most five misses and counts the rest', () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ name: `b${i}`, connected: true, labels: {} }));
    expect(noMatchMessage('os=linux', target('foo', parseSelector('os=linux'), many))).toMatch(/b4 lacks os=linux, has no script foo; and 3 more$/);
  });
});
