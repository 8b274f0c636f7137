import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  distance, matches, MAX_SELECTOR_DEPTH, parseSelector, printSelector, SelectorError, selectorProblem, whyNot, type Selector,
} from '../../lib/protocol/selector.js';

const NAMES = ['os', 'arch', 'mem', 'pool', 'script:foo', 'cpus'];
const VALUES = ['linux', 'x64', 'arm64', '8', '4', '16', 'flaky', 'true', '-1', '2.5'];
const name = fc.constantFrom(...NAMES);
const value = fc.constantFrom(...VALUES);
const atom: fc.Arbitrary<Selector> = fc.oneof(
  name.map((n) => ({ kind: 'has' as const, name: n })),
  fc.record({ kind: fc.constant('eq' as const), name, value }),
  fc.record({ kind: fc.constant('ne' as const), name, value }),
  fc.record({ kind: fc.constant('in' as const), name, values: fc.array(value, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('cmp' as const), name, op: fc.constantFrom('<' as const, '<=' as const, '>' as const, '>=' as const), value: fc.integer({ min: -2, max: 20 }) }),
);
const selector: fc.Arbitrary<Selector> = fc.letrec<{ s: Selector }>((tie) => ({
  s: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    atom,
    fc.record({ kind: fc.constant('and' as const), left: tie('s'), right: tie('s') }),
    fc.record({ kind: fc.constant('or' as const), left: tie('s'), right: tie('s') }),
    fc.record({ kind: fc.constant('not' as const), of: tie('s') })),
})).s;
const labels = fc.dictionary(name, value, { maxKeys: NAMES.length });

describe('selector grammar', () => {
  it('parses the example from the issue and matches it', () => {
    const s = parseSelector('os=linux && arch in (x64,arm64) && mem>=8 && !pool=flaky');
    expect(matches(s, { os: 'linux', arch: 'arm64', mem: '16' })).toBe(true);
    expect(matches(s, { os: 'linux', arch: 'arm64', mem: '16', pool: 'flaky' })).toBe(false);
    expect(matches(s, { os: 'linux', arch: 'riscv64', mem: '16' })).toBe(false);
    expect(matches(s, { os: 'linux', arch: 'x64', mem: '4' })).toBe(false);
    expect(matches(s, { os: 'linux', arch: 'x64' })).toBe(false); // a comparison needs the label
  });

  it('gives && precedence over ||, and parentheses override it', () => {
    const l = { os: 'darwin', arch: 'arm64' };
    expect(matches(parseSelector('os=linux && arch=x64 || arch=arm64'), l)).toBe(true);
    expect(matches(parseSelector('os=linux && (arch=x64 || arch=arm64)'), l)).toBe(false);
    expect(matches(parseSelector('gpu || script:foo'), { 'script:foo': 'true' })).toBe(true);
    expect(matches(parseSelector('os != linux'), {})).toBe(true);
    expect(matches(parseSelector('mem<8'), { mem: 'lots' })).toBe(false);
  });

  it('names the column of a parse error, in one line', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['os=', 4, /expected a value after "="/],
      ['os=linux &&', 12, /expected a label name/],
      ['os=linux & arch=x64', 10, /"&" alone/],
      ['(os=linux', 10, /expected "\)" to close the "\(" at column 1/],
      ['arch in x64', 9, /expected "\(" after "in"/],
      ['arch in (x64 arm64)', 14, /expected "," or "\)"/],
      ['mem>=lots', 6, /compares numbers/],
      ['os linux', 4, /expected "=", "!="/],
      ['os="linux"', 4, /unexpected character/],
      ['', 1, /empty/],
      ['os=linux)', 9, /expected "&&", "\|\|" or the end/],
    ];
    for (const [text, column, why] of cases) {
      const problem = selectorProblem(text);
      expect(problem, text).toMatch(why);
      expect(problem).toContain(`selector: column ${column}: `);
      expect(problem).not.toContain('\n');
    }
    expect(selectorProblem('!'.repeat(MAX_SELECTOR_DEPTH + 5) + 'a')).toMatch(/nests deeper than 64 levels/);
    expect(selectorProblem('('.repeat(1000))).toMatch(/nests deeper/);
    expect(selectorProblem('a'.repeat(5000))).toMatch(/column 4097: longer than 4096 characters/);
  });

  it('explains a miss the way the master names it', () => {
    const s = parseSelector('arch=arm64 && script:foo');
    expect(whyNot(s, { arch: 'x64', 'script:foo': 'true' })).toBe('lacks arch=arm64 (has arch=x64)');
    expect(whyNot(s, { arch: 'arm64' })).toBe('has no script foo');
    expect(whyNot(parseSelector('!pool=flaky'), { pool: 'flaky' })).toBe('has pool=flaky');
    expect(whyNot(parseSelector('mem>=8'), { mem: '4' })).toBe('lacks mem>=8 (has mem=4)');
    expect(distance(s, {})).toBe(2);
  });
});

describe('selector properties', () => {
  it('printing a selector and parsing it back gives the same matches, and the same text again', () => {
    fc.assert(fc.property(selector, fc.array(labels, { minLength: 1, maxLength: 5 }), (s, ls) => {
      const text = printSelector(s);
      const back = parseSelector(text);
      expect(printSelector(back)).toBe(text);
      for (const l of ls) expect(matches(back, l)).toBe(matches(s, l));
    }), { numRuns: 500 });
  });

  it('De Morgan: !(a && b) == !a || !b and !(a || b) == !a && !b', () => {
    fc.assert(fc.property(selector, selector, labels, (a, b, l) => {
      expect(matches({ kind: 'not', of: { kind: 'and', left: a, right: b } }, l))
        .toBe(matches({ kind: 'or', left: { kind: 'not', of: a }, right: { kind: 'not', of: b } }, l));
      expect(matches({ kind: 'not', of: { kind: 'or', left: a, right: b } }, l))
        .toBe(matches({ kind: 'and', left: { kind: 'not', of: a }, right: { kind: 'not', of: b } }, l));
    }), { numRuns: 300 });
  });

  it('!!x == x, and k!=v == !(k=v)', () => {
    fc.assert(fc.property(selector, labels, name, value, (s, l, n, v) => {
      expect(matches(parseSelector(`!!(${printSelector(s)})`), l)).toBe(matches(s, l));
      expect(matches(parseSelector(`${n}!=${v}`), l)).toBe(!matches(parseSelector(`${n}=${v}`), l));
    }), { numRuns: 300 });
  });

  it('a miss always has a reason and a distance above 0; a match has neither', () => {
    fc.assert(fc.property(selector, labels, (s, l) => {
      const m = matches(s, l);
      expect(whyNot(s, l) === '').toBe(m);
      if (!s.kind.match(/not/)) expect(distance(s, l) === 0).toBe(m);
    }), { numRuns: 300 });
  });

  it('any text either parses or fails with a SelectorError whose column is inside it', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'os=linux&|!()<>,in x64 8.'.split('')), maxLength: 40 }), (text) => {
      try {
        parseSelector(text);
      } catch (err) {
        expect(err).toBeInstanceOf(SelectorError);
        expect((err as SelectorError).column).toBeGreaterThanOrEqual(1);
        expect((err as SelectorError).column).toBeLessThanOrEqual(text.length + 1);
      }
    }), { numRuns: 1000 });
  });
});
