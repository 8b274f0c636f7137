// Log lines about what one connection or address did wrong, rate-limited per key: a peer that sends junk or refused
// messages as fast as it can grows the log by a few lines a second, each saying how many were left out before it.
import { TokenBucket } from '../common/ratelimit.js';
import type { EventBus } from './events.js';

/** Lines one key may cause at once, and per second after that. */
const BURST = 10;
const PER_SECOND = 1;
/** Keys remembered at most (addresses are many): beyond it the oldest is forgotten. */
const MAX_KEYS = 10_000;

export class NoticeLimit {
  private readonly limits = new Map<string, { bucket: TokenBucket; suppressed: number }>();

  constructor(private readonly events: EventBus, private readonly now: () => number = Date.now) {}

  /** Logs a warning for `key` (an IP address: its connections share it, so reconnecting does not refill it) unless it has had its share; the next one logged says how many were not. */
  warn(key: string, event: string, message: string, fields: Record<string, unknown>): void {
    let limit = this.limits.get(key);
    if (!limit) {
      if (this.limits.size >= MAX_KEYS) this.limits.delete(this.limits.keys().next().value!);
      limit = { bucket: new TokenBucket(PER_SECOND, BURST, this.now), suppressed: 0 };
      this.limits.set(key, limit);
    }
    if (!limit.bucket.take()) {
      limit.suppressed++;
      return;
    }
    const suppressed = limit.suppressed;
    limit.suppressed = 0;
    this.events.notice('warn', event, message, { ...fields, ...(suppressed ? { suppressed } : {}) });
  }

  /** Logs, for each key with lines left out since its last logged one, how many (at most `maxLines` lines, the rest summed up in one more). */
  flush(maxLines = 100): void {
    let lines = 0;
    let rest = 0;
    for (const [key, limit] of this.limits) {
      if (!limit.suppressed) continue;
      if (lines++ < maxLines) this.events.notice('warn', 'suppressed', 'log lines were left out (rate limit)', { address: key, suppressed: limit.suppressed });
      else rest += limit.suppressed;
      limit.suppressed = 0;
    }
    if (rest) this.events.notice('warn', 'suppressed', 'log lines were left out (rate limit)', { address: 'others', suppressed: rest });
  }
}
