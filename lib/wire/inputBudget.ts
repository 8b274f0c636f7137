// A budget for the unfinished input all connections hold together: beyond it the connections holding the most
// ancient unfinished lines are cut, those that have not authenticated first.

/** A connection as the budget sees it. */
export interface BudgetHolder {
  /** Whether it has authenticated (said a valid hello): it is cut only when no unauthenticated holder is left. */
  readonly trusted: boolean;
  /** Drops what it holds and closes, telling the peer why; it then holds nothing (update(holder, 0)). */
  shed(why: string): void;
}

export class InputBudget {
  /** Holders with unfinished input, in the order they began holding it (a Map keeps insertion order). */
  private readonly holders = new Map<BudgetHolder, number>();
  private total = 0;

  constructor(readonly limitBytes: number) {}

  /** A holder now holds `bytes` of unfinished input (0: none); cuts holders if the total is over the limit. */
  update(holder: BudgetHolder, bytes: number): void {
    const before = this.holders.get(holder) ?? 0;
    if (bytes === before) return;
    this.total += bytes - before;
    if (bytes === 0) this.holders.delete(holder);
    else this.holders.set(holder, bytes); // an existing key keeps its place: its age is when it began holding
    if (this.total > this.limitBytes) this.shed();
  }

  private shed(): void {
    const why = `the master holds more than ${Math.round(this.limitBytes / 1048576)} MiB of unfinished lines from all connections; this connection's was the oldest and is dropped`;
    for (const trusted of [false, true]) {
      for (const holder of [...this.holders.keys()]) {
        if (this.total <= this.limitBytes) return;
        if (holder.trusted !== trusted) continue;
        holder.shed(why);
        this.update(holder, 0); // in case it did not
      }
    }
  }
}
