// LogFiles on its own: a log kept whole, cut to a head and a tail beyond its limit (whatever the pieces' sizes),
// filled in from the report when the master missed output, and continued after a restart.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogFiles } from '../../lib/store/logFiles.js';
import { tempDir } from '../helpers.js';

const report = (outputBytes: number, output = '', outputCut = 0) => ({ outputBytes, output, outputCut });

describe('LogFiles', () => {
  it('keeps a build whole, compressed, and removes it', async () => {
    const dir = tempDir();
    const logs = new LogFiles(dir, 1024 * 1024);
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i + 1}\n`).join('');
    for (let at = 0; at < lines.length; at += 777) logs.append('s1', 'b1', Buffer.from(lines.slice(at, at + 777)));
    expect(logs.whole('s1', 'b1')).toEqual({ path: join(dir, '.running', 's1', 'b1.part'), bytes: lines.length });
    const entry = await logs.finish('s1', 'b1', report(lines.length), 42);
    expect(entry).toMatchObject({ id: 's1', builder: 'b1', bytes: lines.length, cut: 0, missing: 0, finishedAt: 42 });
    expect(entry!.storedBytes).toBeLessThan(lines.length / 3);
    expect(existsSync(join(dir, '.running', 's1', 'b1.part'))).toBe(false);
    expect(await text(logs.read('s1', 'b1')!)).toBe(lines);
    await logs.remove('s1', 'b1');
    expect(logs.read('s1', 'b1')).toBeUndefined();
    expect(existsSync(join(dir, 's1'))).toBe(false);
  });

  it('beyond its limit keeps the first half and between a quarter and a half of the newest, with a mark saying how much was cut', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 40_000 }), fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }),
      async (total, sizes) => {
        const max = 8192;
        const logs = new LogFiles(tempDir(), max);
        const all = Buffer.from(Array.from({ length: total }, (_, i) => String.fromCharCode(97 + (i * 7) % 26)).join(''));
        for (let at = 0, k = 0; at < all.length; k++) {
          const n = sizes[k % sizes.length]!;
          logs.append('s', 'b', all.subarray(at, at + n));
          at += n;
        }
        const entry = await logs.finish('s', 'b', report(total, 'x', 1), 1);
        if (total === 0) return void expect(entry?.bytes ?? 0).toBe(0);
        const got = Buffer.from(await text(logs.read('s', 'b')!));
        if (total <= max / 2) {
          expect(got.equals(all)).toBe(true);
          return void expect(entry!.cut).toBe(0);
        }
        const mark = /\n\[simplebb: (\d+) bytes cut here; [^\]]*\]\n/.exec(got.toString('latin1'))!;
        expect(mark).not.toBeNull();
        const head = got.subarray(0, mark.index);
        const tail = got.subarray(mark.index + mark[0].length);
        expect(head.equals(all.subarray(0, max / 2))).toBe(true);
        expect(tail.equals(all.subarray(all.length - tail.length))).toBe(true);
        expect(tail.length).toBeLessThanOrEqual(max / 2);
        if (total - max / 2 >= max / 4) expect(tail.length).toBeGreaterThanOrEqual(max / 4);
        expect(Number(mark[1])).toBe(total - head.length - tail.length);
        expect(entry!.cut).toBe(total - head.length - tail.length);
      }), { numRuns: 60, examples: [[4097, [1]], [4096 + 2048 + 1, [2048]]] });
  });

  it('takes the report when the master missed output and the report is whole; else says how much it missed', async () => {
    const logs = new LogFiles(tempDir(), 1024 * 1024);
    logs.append('s', 'whole', Buffer.from('one\n'));
    logs.append('s', 'whole', Buffer.from('three\n'));
    await logs.finish('s', 'whole', report(14, 'one\ntwo\nthree\n'), 1);
    expect(await text(logs.read('s', 'whole')!)).toBe('one\ntwo\nthree\n');

    logs.append('s', 'cut', Buffer.from('one\n'));
    logs.append('s', 'cut', Buffer.from('three\n'));
    const entry = await logs.finish('s', 'cut', report(5_000_000, 'head…tail', 4_000_000), 1);
    const got = await text(logs.read('s', 'cut')!);
    expect(got).toBe(`one\nthree\n\n[simplebb: the master heard 10 of the 5000000 bytes this build wrote: ${5_000_000 - 10} are missing (the builder was away longer than it could hold its output); the report's kept output has the first and last part]\n`);
    expect(entry!.missing).toBe(5_000_000 - 10);

    // A master-given verdict (lost) says nothing of the output: what was heard is the log.
    logs.append('s', 'lost', Buffer.from('it began\n'));
    await logs.finish('s', 'lost', report(0), 1);
    expect(await text(logs.read('s', 'lost')!)).toBe('it began\n');
  });

  it('a master started again goes on with a log the last one left, and finds it unfinished', async () => {
    const dir = tempDir();
    const first = new LogFiles(dir, 1024 * 1024);
    first.append('s', 'b', Buffer.from('before\n'));
    first.closeAll();
    const second = new LogFiles(dir, 1024 * 1024);
    expect(second.unfinished()).toEqual([{ id: 's', builder: 'b' }]);
    second.append('s', 'b', Buffer.from('after\n'));
    await second.finish('s', 'b', report(13, 'x', 50), 1);
    expect(await text(second.read('s', 'b')!)).toBe('before\nafter\n');
    expect(second.unfinished()).toEqual([]);
  });
});
