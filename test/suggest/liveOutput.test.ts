import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveOutput } from '../../lib/suggest/liveOutput.js';

describe('LiveOutput', () => {
  it('prefixes each complete line with its builder, holding an unfinished one for the next chunk', () => {
    const l = new LiveOutput();
    expect(l.lines('b1', 'a-1', 'stdout', Buffer.from('one\ntw'))?.toString()).toBe('b1| one\n');
    expect(l.lines('b2', 'a-1', 'stdout', Buffer.from('x'))).toBeUndefined();
    expect(l.lines('b1', 'a-1', 'stdout', Buffer.from('o\n\nthree'))?.toString()).toBe('b1| two\nb1| \n');
    expect(l.rest().map(String)).toEqual(['b1| three\n', 'b2| x\n']);
    expect(l.rest()).toEqual([]);
  });

  it('gives back the build\'s bytes unchanged, whatever they are and however they are chunked', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (bytes, cuts) => {
      const l = new LiveOutput();
      const out: Buffer[] = [];
      for (let pos = 0, i = 0; pos < bytes.length; pos += cuts[i++ % cuts.length]!) {
        const got = l.lines('b', 'a-1', 'stdout', Buffer.from(bytes.subarray(pos, pos + cuts[i % cuts.length]!)));
        if (got) out.push(got);
      }
      out.push(...l.rest());
      const printed = Buffer.concat(out);
      // Every line starts with the prefix; without it, the lines are the input (plus a newline ending the last).
      const lines = printed.toString('latin1').split('\n').slice(0, -1);
      expect(lines.every((x) => x.startsWith('b| '))).toBe(true);
      const body = Buffer.from(lines.map((x) => x.slice(3)).join('\n') + (lines.length ? '\n' : ''), 'latin1');
      const input = Buffer.from(bytes);
      expect(body.equals(input.length && input.at(-1) !== 10 ? Buffer.concat([input, Buffer.from('\n')]) : input)).toBe(true);
    }));
  });

  it('keeps a character split between chunks whole, in text and in --json\'s decoded text', () => {
    const euro = Buffer.from('€\n');
    const l = new LiveOutput();
    expect(l.lines('b', 'a-1', 'stdout', euro.subarray(0, 1))).toBeUndefined();
    expect(l.lines('b', 'a-1', 'stdout', euro.subarray(1))?.toString('utf8')).toBe('b| €\n');
    const j = new LiveOutput();
    expect(j.text('b', 'a-1', 'stdout', euro.subarray(0, 2)) + j.text('b', 'a-1', 'stdout', euro.subarray(2))).toBe('€\n');
  });

  it('prints a line longer than 1 MiB in pieces instead of holding it', () => {
    const l = new LiveOutput();
    expect(l.lines('b', 'a-1', 'stderr', Buffer.alloc(600 * 1024, 0x61))).toBeUndefined();
    expect(l.lines('b', 'a-1', 'stderr', Buffer.alloc(600 * 1024, 0x61))?.length).toBe(3 + 1200 * 1024 + 1);
  });
});
