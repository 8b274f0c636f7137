import { describe, expect, it } from 'vitest';
import { OutputCapture } from '../../lib/exec/capture.js';

describe('OutputCapture', () => {
  it('keeps everything when output is small', () => {
    const c = new OutputCapture(10);
    c.add(Buffer.from('hello '));
    c.add(Buffer.from('world'));
    expect(c.text()).toBe('hello world');
    expect(c.cut).toBe(0);
    expect(c.bytes).toBe(11);
  });

  it('keeps the first and last N bytes and says how much was cut', () => {
    const c = new OutputCapture(4);
    for (const ch of 'abcdefghijklmnop') c.add(Buffer.from(ch));
    expect(c.bytes).toBe(16);
    expect(c.cut).toBe(8);
    const t = c.text();
    expect(t.startsWith('abcd\n[simplebb: 8 bytes of output cut here')).toBe(true);
    expect(t.endsWith(']\nmnop')).toBe(true);
  });

  it('handles one huge chunk', () => {
    const c = new OutputCapture(1024);
    c.add(Buffer.alloc(10 * 1024 * 1024, 'x'));
    c.add(Buffer.from('END'));
    expect(c.cut).toBe(10 * 1024 * 1024 + 3 - 2048);
    expect(c.text().endsWith('x'.repeat(1021) + 'END')).toBe(true);
  });

  it('holds a bounded amount of memory however much is written', () => {
    const c = new OutputCapture(1000);
    for (let i = 0; i < 20000; i++) c.add(Buffer.from(`line ${i}\n`));
    expect(Buffer.byteLength(c.text())).toBeLessThan(2000 + 200);
    expect(c.text()).toContain('line 19999');
    expect(c.text()).toContain('line 0\n');
  });
});
