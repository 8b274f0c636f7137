// The builder's job queue: up to N builds at once, never the same project and branch twice at once, queued duplicates
// coalesced, live orders before replayed ones, and at most a bound of orders waiting.
import type { BuildOrder } from '../protocol/messages.js';

const keyOf = (o: BuildOrder): string => `${o.project}\0${o.branch}`;

/** What push() did with an order: queued (or coalesced into a queued one), refused (the queue is full), or nothing (closed). */
export type Taken = 'queued' | 'refused' | 'closed';

export class BuildQueue {
  /**
   * Orders waiting, one per project and branch, each map in the order its key was first queued: live orders start
   * before replayed ones (a returning builder's catch-up must not hold up a build someone is waiting for now).
   */
  private readonly live = new Map<string, BuildOrder>();
  private readonly replayed = new Map<string, BuildOrder>();
  private readonly runningKeys = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly jobs: number,
    /** The most orders waiting at once; an order for another project and branch beyond it is refused. */
    private readonly maxQueued: number,
    /** Starts a build; the promise settles when it has ended. */
    private readonly run: (order: BuildOrder) => Promise<void>,
    /** Called for a queued order replaced by a newer one for the same project and branch. */
    private readonly superseded: (old: BuildOrder, by: BuildOrder) => void,
    /**
     * Called for an order the full queue will not hold: the one pushed, or (with `by`) the oldest replayed order,
     * which makes room for the live order `by`.
     */
    private readonly refused: (order: BuildOrder, by?: BuildOrder) => void,
  ) {}

  /**
   * Queues an order. One for a project and branch already waiting replaces it (even when the queue is full), and
   * waits as live if either was live. A new one beyond the bound is refused, unless it is live and a replayed
   * order is waiting: the oldest of those is refused instead.
   */
  push(order: BuildOrder): Taken {
    if (this.closed) return 'closed';
    const key = keyOf(order);
    const old = this.live.get(key) ?? this.replayed.get(key);
    if (old) {
      if (!this.live.has(key) && !order.replayed) {
        this.replayed.delete(key);
        this.live.set(key, order);
      } else {
        (this.live.has(key) ? this.live : this.replayed).set(key, order); // in place: a Map keeps a key's position
      }
      this.superseded(old, order);
    } else if (this.size < this.maxQueued) {
      (order.replayed ? this.replayed : this.live).set(key, order);
    } else if (!order.replayed && this.replayed.size) {
      const [oldestKey, oldest] = this.replayed.entries().next().value!;
      this.replayed.delete(oldestKey);
      this.live.set(key, order);
      this.refused(oldest, order);
    } else {
      this.refused(order);
      return 'refused';
    }
    this.pump();
    return 'queued';
  }

  get running(): number {
    return this.runningKeys.size;
  }

  /** Orders waiting (not running). */
  get size(): number {
    return this.live.size + this.replayed.size;
  }

  /** Which of these orders, pushed now in this order, would start at once (a free slot, nothing waiting, their key not running). */
  startable(orders: BuildOrder[]): Set<string> {
    const out = new Set<string>();
    if (this.closed || this.size) return out;
    const keys = new Set(this.runningKeys.keys());
    for (const o of orders) {
      if (keys.size >= this.jobs || keys.has(keyOf(o))) break;
      keys.add(keyOf(o));
      out.add(o.id);
    }
    return out;
  }

  /** Ids of builds queued (live ones first) or running. */
  ids(): string[] {
    return [...[...this.live.values(), ...this.replayed.values()].map((o) => o.id), ...this.runningKeys.values()];
  }

  /** Takes order `id` out of the queue if it waits there (not running): it will not start. */
  remove(id: string): BuildOrder | undefined {
    for (const from of [this.live, this.replayed]) {
      for (const [key, o] of from) {
        if (o.id !== id) continue;
        from.delete(key);
        return o;
      }
    }
    return undefined;
  }

  /** Takes no more orders and hands back those still queued. */
  close(): BuildOrder[] {
    this.closed = true;
    const left = [...this.live.values(), ...this.replayed.values()];
    this.live.clear();
    this.replayed.clear();
    return left;
  }

  private pump(): void {
    while (!this.closed && this.runningKeys.size < this.jobs) {
      const next = this.first(this.live) ?? this.first(this.replayed);
      if (!next) return;
      const [key, order] = next;
      this.live.delete(key); // a key waits in one of the two
      this.replayed.delete(key);
      this.runningKeys.set(key, order.id);
      // run() reports its own failures; a rejection here must still free the slot and not crash the daemon.
      void this.run(order).catch(() => undefined).finally(() => {
        this.runningKeys.delete(key);
        this.pump();
      });
    }
  }

  /** The first order of `from` whose project and branch is not running: passes over at most `jobs` entries. */
  private first(from: Map<string, BuildOrder>): [string, BuildOrder] | undefined {
    for (const entry of from) if (!this.runningKeys.has(entry[0])) return entry;
    return undefined;
  }
}
