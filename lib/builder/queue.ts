// The builder's job queue: up to N builds at once, never the same project and branch twice at once, queued duplicates coalesced.
import type { BuildOrder } from '../protocol/messages.js';

const keyOf = (o: BuildOrder): string => `${o.project}\0${o.branch}`;

export class BuildQueue {
  private readonly queued: BuildOrder[] = [];
  private readonly runningKeys = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly jobs: number,
    /** Starts a build; the promise settles when it has ended. */
    private readonly run: (order: BuildOrder) => Promise<void>,
    /** Called for a queued order replaced by a newer one for the same project and branch. */
    private readonly superseded: (old: BuildOrder, by: BuildOrder) => void,
  ) {}

  /** Queues an order (false when the queue is closed and took nothing). */
  push(order: BuildOrder): boolean {
    if (this.closed) return false;
    const key = keyOf(order);
    const i = this.queued.findIndex((q) => keyOf(q) === key);
    if (i >= 0) {
      const [old] = this.queued.splice(i, 1, order);
      this.superseded(old!, order);
    } else {
      this.queued.push(order);
    }
    this.pump();
    return true;
  }

  get running(): number {
    return this.runningKeys.size;
  }

  /** Which of these orders, pushed now in this order, would start at once (a free slot, nothing waiting, their key not running). */
  startable(orders: BuildOrder[]): Set<string> {
    const out = new Set<string>();
    if (this.closed || this.queued.length) return out;
    const keys = new Set(this.runningKeys.keys());
    for (const o of orders) {
      if (keys.size >= this.jobs || keys.has(keyOf(o))) break;
      keys.add(keyOf(o));
      out.add(o.id);
    }
    return out;
  }

  /** Ids of builds queued or running. */
  ids(): string[] {
    return [...this.queued.map((o) => o.id), ...this.runningKeys.values()];
  }

  /** Takes no more orders and hands back those still queued. */
  close(): BuildOrder[] {
    this.closed = true;
    return this.queued.splice(0);
  }

  private pump(): void {
    while (!this.closed && this.runningKeys.size < this.jobs) {
      const i = this.queued.findIndex((q) => !this.runningKeys.has(keyOf(q)));
      if (i < 0) return;
      const [order] = this.queued.splice(i, 1);
      const key = keyOf(order!);
      this.runningKeys.set(key, order!.id);
      // run() reports its own failures; a rejection here must still free the slot and not crash the daemon.
      void this.run(order!).catch(() => undefined).finally(() => {
        this.runningKeys.delete(key);
        this.pump();
      });
    }
  }
}
