import { describe, expect, it } from 'vitest';
import { Backoff } from '../../lib/common/backoff.js';

describe('Backoff', () => {
  it('doubles the ceiling up to the cap, with full jitter', () => {
    const b = new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0.999 });
    const delays = Array.from({ length: 9 }, () => b.next());
    expect(delays).toEqual([999, 1998, 3996, 7992, 15984, 31968, 59940, 59940, 59940]);
  });
  it('draws from zero up (full jitter)', () => {
    const b = new Backoff({ baseMs: 1000, capMs: 60_000, random: () => 0 });
    expect(b.next()).toBe(0);
  });
  it('starts again after reset', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000 });
    for (let i = 0; i < 10; i++) b.next();
    expect(b.ceiling).toBe(1000);
    b.reset();
    expect(b.ceiling).toBe(100);
  });
});
