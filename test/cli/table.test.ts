// The simplebb command's tables and wording: alignment by terminal columns, colour that takes none, escapes for what
// came from the master, and the formats of times, durations and exits.
import { describe, expect, it } from 'vitest';
import { ago, clock, duration, exitStatus, isFailing, str, verdictColour } from '../../lib/cli/format.js';
import { jsonLine, tagged } from '../../lib/cli/output.js';
import { paint, table, width } from '../../lib/cli/table.js';

describe('table', () => {
  it('aligns each column to its widest cell, two spaces apart, with no trailing blanks', () => {
    expect(table(['NAME', 'STATE', 'NOTE'], [['b1', 'online', 'foo main'], ['builder-two', 'offline', '']], false)).toBe(
      'NAME         STATE    NOTE\n' +
      'b1           online   foo main\n' +
      'builder-two  offline\n');
  });

  it('prints name and value lines without a header, and nothing for no rows', () => {
    expect(table(null, [['project', 'foo'], ['revision', '0123abcd']], false)).toBe('project   foo\nrevision  0123abcd\n');
    expect(table(null, [], false)).toBe('');
    expect(table(['A', 'B'], [], false)).toBe('A  B\n');
  });

  it('paints a cell only when colour is on, and the colour takes no width', () => {
    const rows = [[{ text: 'failure', colour: 'red' as const }, 'x'], ['success', 'y']];
    expect(table(['VERDICT', 'N'], rows, false)).toBe('VERDICT  N\nfailure  x\nsuccess  y\n');
    expect(table(['VERDICT', 'N'], rows, true)).toBe('VERDICT  N\n\x1b[31mfailure\x1b[0m  x\nsuccess  y\n');
    expect(paint('', 'red', true)).toBe('');
  });

  it('shows control sequences, C1, bidi, newlines and tabs in cells as escapes, and aligns what it shows', () => {
    const out = table(['BRANCH', 'N'], [['a\x1b[2Jb', '1'], ['x\u009by\u202ez', '2'], ['one\ntwo\tthree', '3']], true);
    expect(out).toBe(
      'BRANCH           N\n' +
      'a\\x1b[2Jb        1\n' +
      'x\\x9by\\u202ez    2\n' +
      'one\\ntwo\\tthree  3\n');
    expect(out.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e]/);
  });

  it('counts East Asian wide characters as two columns and combining marks as none', () => {
    expect(width('日本')).toBe(4);
    expect(width('e\u0301')).toBe(1);
    expect(table(['B', 'N'], [['日本', '1'], ['main', '2']], false)).toBe('B     N\n日本  1\nmain  2\n');
  });
});

describe('the wording of values', () => {
  const now = Date.UTC(2026, 11, 2, 10, 0, 0);

  it('says how long ago in the largest whole unit', () => {
    expect(ago(now - 500, now)).toBe('just now');
    expect(ago(now + 5000, now)).toBe('just now');
    expect(ago(now - 12_000, now)).toBe('12 s ago');
    expect(ago(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(ago(now - 3 * 3600_000, now)).toBe('3 h ago');
    expect(ago(now - 3 * 86400_000, now)).toBe('3 d ago');
    expect(ago(undefined, now)).toBe('-');
  });

  it('gives durations as simplebb-suggest does under a minute, in minutes and hours above', () => {
    expect(duration(412)).toBe('0.41 s');
    expect(duration(12_345)).toBe('12.3 s');
    expect(duration(185_000)).toBe('3 min 05 s');
    expect(duration(3_725_000)).toBe('1 h 02 min');
    expect(duration('x')).toBe('-');
    expect(duration(-1)).toBe('-');
  });

  it('gives a local clock time, an exit code or a signal, and text for any value', () => {
    process.env.TZ = 'UTC';
    expect(clock(Date.UTC(2026, 11, 2, 9, 5, 7))).toBe('2026-12-02 09:05:07');
    expect(clock(null)).toBe('-');
    expect(exitStatus({ exitCode: 1 })).toBe('1');
    expect(exitStatus({ exitCode: -1, signal: 'SIGKILL' })).toBe('SIGKILL');
    expect(exitStatus({})).toBe('-');
    expect([str('a'), str(7), str({}), str(undefined), str(NaN)]).toEqual(['a', '7', '-', '-', '-']);
  });

  it('counts failure and timeout as failing, as the API does, and colours like simplebb-suggest', () => {
    expect(['success', 'failure', 'timeout', 'lost', 'no-script', 7].map(isFailing)).toEqual([false, true, true, false, false, false]);
    expect(['success', 'failure', 'timeout', 'lost', 'no-script', 'superseded'].map(verdictColour)).toEqual(['green', 'red', 'red', 'red', 'yellow', 'yellow']);
  });
});

describe('jsonLine', () => {
  it('is one line of the same value, with C1, bidi and invisible characters as \\u escapes', () => {
    const value = { branch: 'x\u009b\u202e\u200by', msg: 'a\x1b[2J\nb', n: 1 };
    const line = jsonLine(value);
    expect(line).toBe('{"branch":"x\\u009b\\u202e\\u200by","msg":"a\\u001b[2J\\nb","n":1}\n');
    expect(JSON.parse(line)).toEqual(value);
  });

  it('tags a line with its kind first, whatever the value holds', () => {
    expect(Object.entries(tagged('builder', { name: 'b1', type: 'x' }))).toEqual([['type', 'builder'], ['name', 'b1']]);
  });
});
