import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineFramer, type FrameEvent } from '../../lib/wire/framing.js';

const lines = (evs: FrameEvent[]): string[] => evs.flatMap((e) => (e.kind === 'line' ? [e.line.toString()] : ['<overflow>']));

describe('LineFramer', () => {
  it('splits lines, tolerates CRLF and skips empty lines', () => {
    const f = new LineFramer(100);
    expect(lines(f.push(Buffer.from('a\r\n\nbb\ncc')))).toEqual(['a', 'bb']);
    expect(lines(f.push(Buffer.from('c\n')))).toEqual(['ccc']);
  });

  it('accepts a line of exactly the limit', () => {
    const f = new LineFramer(10);
    expect(lines(f.push(Buffer.from('x'.repeat(10) + '\n')))).toEqual(['x'.repeat(10)]);
  });

  it('refuses an oversized line that arrives whole in one chunk', () => {
    const f = new LineFramer(10);
    expect(lines(f.push(Buffer.from('ok\n' + 'x'.repeat(11) + '\nafter\n')))).toEqual(['ok', '<overflow>']);
    expect(lines(f.push(Buffer.from('more\n')))).toEqual([]);
  });

  it('refuses an oversized line split across many chunks before its newline arrives', () => {
    const f = new LineFramer(1000);
    const out: string[] = [];
    for (let i = 0; i < 20; i++) out.push(...lines(f.push(Buffer.from('y'.repeat(100)))));
    expect(out).toEqual(['<overflow>']);
    expect(f.buffered).toBe(0);
  });

  it('refuses an unterminated last line that grows past the limit', () => {
    const f = new LineFramer(10);
    expect(lines(f.push(Buffer.from('z'.repeat(12))))).toEqual(['<overflow>']);
  });

  it('yields the same lines however the bytes are chunked', () => {
    fc.assert(fc.property(
      fc.array(fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 50 }),
      (ls, cuts) => {
        const bytes = Buffer.from(ls.map((l) => l + '\n').join(''));
        const f = new LineFramer(64);
        const got: string[] = [];
        let pos = 0;
        let i = 0;
        while (pos < bytes.length) {
          const n = cuts[i++ % cuts.length]!;
          got.push(...lines(f.push(bytes.subarray(pos, pos + n))));
          pos += n;
        }
        const expected = ls.filter((l) => l.length > 0);
        const limitHit = ls.findIndex((l) => Buffer.byteLength(l) > 64);
        if (limitHit >= 0) expect(got.at(-1)).toBe('<overflow>');
        else expect(got).toEqual(expected);
      },
    ));
  });

  it('hands over the raw bytes a line announces, newlines and invalid UTF-8 included, however they are chunked', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, '') || 'h'), fc.uint8Array({ minLength: 0, maxLength: 40 })), { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 23 }), { minLength: 1, maxLength: 50 }),
      (frames, cuts) => {
        // Each frame: a line naming how many raw bytes follow it (0: none), then those bytes.
        const bytes = Buffer.concat(frames.map(([l, raw]) => Buffer.concat([Buffer.from(`${l}:${raw.length}\n`), raw])));
        const f = new LineFramer(64);
        const got: Array<[string, number[]]> = [];
        const sink = (e: FrameEvent): number | void => {
          if (e.kind === 'line') {
            got.push([e.line.toString(), []]);
            return Number(e.line.toString().split(':').at(-1));
          }
          if (e.kind === 'payload') got.at(-1)![1].push(...e.data);
        };
        for (let pos = 0, i = 0; pos < bytes.length; pos += cuts[i++ % cuts.length]!) f.feed(bytes.subarray(pos, pos + cuts[i % cuts.length]!), sink);
        expect(got).toEqual(frames.map(([l, raw]) => [`${l}:${raw.length}`, [...raw]]));
        expect(f.buffered).toBe(0);
      },
    ));
  });

  it('refuses a payload announced longer than the limit, and stops when told to', () => {
    const f = new LineFramer(10);
    const seen: string[] = [];
    f.feed(Buffer.from('a\nbig\nafter\n'), (e) => {
      seen.push(e.kind === 'line' ? e.line.toString() : e.kind);
      return e.kind === 'line' && e.line.toString() === 'big' ? 11 : 0;
    });
    expect(seen).toEqual(['a', 'big', 'overflow']);
    const g = new LineFramer(100);
    const taken: string[] = [];
    g.feed(Buffer.from('one\ntwo\nthree\n'), (e) => {
      if (e.kind === 'line') taken.push(e.line.toString());
      return taken.length === 2 ? false : 0;
    });
    expect(taken).toEqual(['one', 'two']);
  });
});
