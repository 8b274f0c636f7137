// Slowing down guessers: an address whose proofs keep failing waits longer and longer for its next greeting.

export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(private readonly now: () => number = Date.now, private readonly forgetMs = 10 * 60_000, private readonly maxEntries = 10_000) {}

  record(address: string): void {
    const t = this.now();
    const f = this.failures.get(address);
    const count = f && t - f.last < this.forgetMs ? f.count + 1 : 1;
    this.failures.delete(address);
    this.failures.set(address, { count, last: t });
    // Oldest first in insertion order: drop the oldest when full.
    if (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value!);
  }

  /** A good proof from the address: whoever shares it (NAT, a tunnel) is not held back by someone else's failures. */
  succeeded(address: string): void {
    this.failures.delete(address);
  }

  /** 0 for the first three failures, then 250 ms doubling per failure up to 2 s (under the hook's 3 s connect timeout). */
  delayMs(address: string): number {
    const f = this.failures.get(address);
    if (!f || this.now() - f.last >= this.forgetMs || f.count <= 3) return 0;
    return Math.min(2000, 250 * 2 ** Math.min(f.count - 4, 10));
  }
}
