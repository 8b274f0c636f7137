// Cancels owed to builders that were offline (or still catching up) when their build was cancelled: sent when they are live again.

/**
 * Cancels remembered for builders away at the time; beyond it the oldest is forgotten (its verdict is recorded
 * already: only a build the builder had on its disk before it went away could still run, and be reported in vain).
 */
const MAX_OWED = 10_000;

export class CancelsOwed {
  /** builder → id → reason, oldest first across all builders by insertion into `order`. */
  private readonly byBuilder = new Map<string, Map<string, string>>();
  private readonly order: Array<[string, string]> = [];

  /** Remembers that `builder` is to be told to cancel `id` when it is live again. */
  owe(builder: string, id: string, reason: string): void {
    let m = this.byBuilder.get(builder);
    if (!m) {
      m = new Map();
      this.byBuilder.set(builder, m);
    }
    if (!m.has(id)) this.order.push([builder, id]);
    m.set(id, reason);
    while (this.order.length > MAX_OWED) {
      const [b, old] = this.order.shift()!;
      this.byBuilder.get(b)?.delete(old);
      if (this.byBuilder.get(b)?.size === 0) this.byBuilder.delete(b);
    }
  }

  /** What `builder` is owed, handed over once (it is forgotten here). */
  take(builder: string): Array<{ id: string; reason: string }> {
    const m = this.byBuilder.get(builder);
    if (!m) return [];
    this.byBuilder.delete(builder);
    const out = [...m].map(([id, reason]) => ({ id, reason }));
    const gone = new Set(m.keys());
    for (let i = this.order.length - 1; i >= 0; i--) if (this.order[i]![0] === builder && gone.has(this.order[i]![1])) this.order.splice(i, 1);
    return out;
  }
}
