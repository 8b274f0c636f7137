// The delivery record as the master holds it in memory: every builder's open part in every suggestion, written through to the store.
import type { GroupCommit } from './commits.js';
import type { EventBus } from './events.js';
import { DELIVERY_RANK, type DeliveryState, type OpenDelivery, type OpenState, type StoredSuggestion } from '../store/store.js';

export interface Open {
  suggestion: StoredSuggestion;
  state: OpenState;
  /** Which attempt of a `one` suggestion it is (1 for any other). */
  attempt: number;
}

/**
 * Open deliveries per builder, keyed by suggestion id. A delivery leaves the ledger when it becomes final
 * (reported or skipped); the record keeps it. Every change goes to the record through the group commit and out
 * as a `delivery` event.
 */
export class Ledger {
  private readonly byBuilder = new Map<string, Map<string, Open>>();

  constructor(private readonly commits: GroupCommit, private readonly events: EventBus, private readonly now: () => number) {}

  /** The open deliveries the record holds (at start). */
  load(open: OpenDelivery[]): void {
    for (const o of open) this.of(o.builder).set(o.suggestion.id, { suggestion: o.suggestion, state: o.state, attempt: o.attempt });
  }

  get(builder: string, id: string): Open | undefined {
    return this.byBuilder.get(builder)?.get(id);
  }

  /** This builder's open deliveries, oldest first. */
  open(builder: string): Open[] {
    return [...(this.byBuilder.get(builder)?.values() ?? [])].sort((a, b) => a.suggestion.seq - b.suggestion.seq);
  }

  /** How many builds this builder has open (its load: against its --jobs when dispatching). */
  count(builder: string): number {
    return this.byBuilder.get(builder)?.size ?? 0;
  }

  /** Builders that owe something. */
  builders(): string[] {
    return [...this.byBuilder.keys()];
  }

  /**
   * The suggestion was sent to the builder again (it missed it), or dispatched to it (`one`, as `attempt`): a new
   * delivery, announced by a `delivery` event.
   */
  offered(builder: string, s: StoredSuggestion, attempt = 1): void {
    const deliveries = this.of(builder);
    if (deliveries.has(s.id)) return;
    deliveries.set(s.id, { suggestion: s, state: 'offered', attempt });
    this.write(builder, s, 'offered', false, attempt);
  }

  /**
   * A new suggestion was sent to these builders; its `suggestion` event names them, so no event per builder. Those
   * in `recorded` have their delivery in the record already (written with the suggestion).
   */
  offeredTo(builders: string[], s: StoredSuggestion, recorded: ReadonlySet<string>): void {
    const at = this.now();
    for (const b of builders) {
      this.of(b).set(s.id, { suggestion: s, state: 'offered', attempt: 1 });
      if (!recorded.has(b)) this.commits.delivery({ seq: s.seq, builder: b, state: 'offered', at });
    }
  }

  /**
   * The builder has everything it was sent up to `seq` on its disk, and of the `one` orders those in `ids`: a
   * dispatched order can be older than orders it has, so only its id says it is there.
   */
  received(builder: string, seq: number, ids?: readonly string[]): void {
    const m = this.byBuilder.get(builder);
    if (!m) return;
    for (const o of m.values()) {
      if (o.state === 'offered' && !o.suggestion.one && o.suggestion.seq <= seq) this.move(builder, o, 'received');
    }
    for (const id of ids ?? []) {
      const o = m.get(id);
      if (o?.state === 'offered' && o.suggestion.one) this.move(builder, o, 'received');
    }
  }

  started(builder: string, id: string): boolean {
    const o = this.get(builder, id);
    if (!o) return false;
    this.move(builder, o, 'started');
    return true;
  }

  /** The builder will not build it (no script, and it ignores unknown projects): final, with no report. Resolves once recorded. */
  skipped(builder: string, id: string): Promise<boolean> {
    const o = this.get(builder, id);
    if (!o) return Promise.resolve(false);
    this.drop(builder, id);
    return this.write(builder, o.suggestion, 'skipped', true)!;
  }

  /** A report for it is in the record (the commit that stored it set the delivery to reported). */
  reported(builder: string, id: string): void {
    const o = this.get(builder, id);
    if (!o) return;
    this.drop(builder, id);
    this.events.emit({ type: 'delivery', seq: o.suggestion.seq, id, builder, state: 'reported' });
  }

  private move(builder: string, o: Open, state: OpenState): void {
    if (DELIVERY_RANK[state] <= DELIVERY_RANK[o.state]) return;
    o.state = state;
    this.write(builder, o.suggestion, state);
  }

  private write(builder: string, s: StoredSuggestion, state: DeliveryState, waited = false, attempt?: number): Promise<boolean> | undefined {
    this.events.emit({ type: 'delivery', seq: s.seq, id: s.id, builder, state });
    const d = { seq: s.seq, builder, state, at: this.now(), ...(attempt !== undefined && attempt > 1 ? { attempt } : {}) };
    if (waited) return this.commits.deliveryRecorded(d);
    this.commits.delivery(d);
    return undefined;
  }

  private of(builder: string): Map<string, Open> {
    let m = this.byBuilder.get(builder);
    if (!m) {
      m = new Map();
      this.byBuilder.set(builder, m);
    }
    return m;
  }

  private drop(builder: string, id: string): void {
    const m = this.byBuilder.get(builder);
    if (!m) return;
    m.delete(id);
    if (m.size === 0) this.byBuilder.delete(builder);
  }
}
