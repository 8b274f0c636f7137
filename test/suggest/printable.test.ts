import { describe, expect, it } from 'vitest';
import { tailOf } from '../../lib/master/watchers.js';
import { printable } from '../../lib/suggest/printable.js';

describe('printable', () => {
  it('shows control sequences, C1 controls, bidi overrides and invisible characters as escapes', () => {
    expect(printable('a\x1b[2Jb\x07')).toBe('a\\x1b[2Jb\\x07');
    expect(printable('\u009b31m')).toBe('\\x9b31m');
    expect(printable('main\u202egnp.exe')).toBe('main\\u202egnp.exe');
    expect(printable('zero\u200bwidth\ufeff')).toBe('zero\\u200bwidth\\ufeff');
    expect(printable('\x1b]52;c;SGVsbG8=\x07')).toBe('\\x1b]52;c;SGVsbG8=\\x07');
  });

  it('keeps tabs, plain text and non-Latin letters, and newlines only when asked', () => {
    expect(printable('é ü 日本 \t x')).toBe('é ü 日本 \t x');
    expect(printable('one\ntwo')).toBe('one\\ntwo');
    expect(printable('one\ntwo', true)).toBe('one\ntwo');
  });
});

describe('tailOf', () => {
  it('gives the last ten lines of at most 2048 characters, without the final newline', () => {
    const out = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n';
    expect(tailOf(out).split('\n')).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 20}`));
    expect(tailOf('x'.repeat(5000)).length).toBe(2048);
    expect(tailOf('only\n')).toBe('only');
  });
});
