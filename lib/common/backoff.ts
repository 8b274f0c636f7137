// Reconnect delays: exponential backoff with full jitter, so many builders spread out after a master restart.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

/** Delays for successive attempts: uniformly random in [0, min(cap, base × 2^attempt)]. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions = { baseMs: 1000, capMs: 60_000 }) {}

  /** The delay before the next attempt; each call doubles the ceiling until the cap. */
  next(): number {
    const ceiling = Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor((this.options.random ?? Math.random)() * ceiling);
  }

  /** The ceiling the next delay will be drawn under. */
  get ceiling(): number {
    return Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(this.attempt, 30));
  }

  /** After a connection that stayed up, start again from the base. */
  reset(): void {
    this.attempt = 0;
  }
}
