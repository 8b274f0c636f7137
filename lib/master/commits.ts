// Group commit: everything the master writes in one turn of the event loop goes to the record in one commit (one fsync).
import type { EventBus } from './events.js';
import {
  noWrites, type BuilderRecord, type DeliveryChange, type NewSuggestion, type QueueChange, type Store, type StoredReport,
  type StoredSuggestion, type StoreOutcome, type Writes,
} from '../store/store.js';

interface Waiter<T> { resolve(v: T): void; reject(e: Error): void }

/** Master-given writes that no peer will send again are retried after this long when a commit fails. */
const RETRY_MS = 1000;
/** Delivery changes kept for retrying while the record cannot be written; beyond this the oldest are given up (they are views). */
const MAX_RETRIED_DELIVERIES = 500_000;

/**
 * Collects writes and commits them together, at most one commit in flight: while one is being written the next
 * batch gathers. A suggestion or a report resolves once it is durable; delivery and builder changes are views
 * that other records can rebuild, so they are written on the way, retried if a commit fails, and never waited for.
 */
export class GroupCommit {
  private writes: Writes = noWrites();
  private suggestionWaiters: Array<Waiter<StoredSuggestion>> = [];
  private reportWaiters: Array<Waiter<StoreOutcome> & { retry: boolean }> = [];
  private deliveryWaiters: Array<((ok: boolean) => void) | undefined> = [];
  private queueWaiters: Array<(() => void) | undefined> = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  private idle: Array<() => void> = [];

  constructor(private readonly store: Store, private readonly events: EventBus) {}

  /** Records a suggestion; resolves with its place in the log once it is durable. */
  suggestion(s: NewSuggestion): Promise<StoredSuggestion> {
    return new Promise((resolve, reject) => {
      this.writes.suggestions.push(s);
      this.suggestionWaiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /**
   * Records a report; resolves with what storing it did once it is durable. With `retry` (a report the master
   * gives itself, which no builder will send again) a failed commit is retried until it succeeds.
   */
  report(r: StoredReport, retry = false): Promise<StoreOutcome> {
    return new Promise((resolve, reject) => {
      this.writes.reports.push(r);
      this.reportWaiters.push({ resolve, reject, retry });
      this.schedule();
    });
  }

  /** Records a delivery's new state, with the next commit. */
  delivery(d: DeliveryChange): void {
    this.writes.deliveries.push(d);
    this.deliveryWaiters.push(undefined);
    this.schedule();
  }

  /** Records a delivery's new state; resolves true once committed, false if that commit failed (it is retried, unwatched). */
  deliveryRecorded(d: DeliveryChange): Promise<boolean> {
    return new Promise((resolve) => {
      this.writes.deliveries.push(d);
      this.deliveryWaiters.push(resolve);
      this.schedule();
    });
  }

  /**
   * Records a change to the dispatch queue; resolves once it is durable. A failed commit keeps it for the next one:
   * a dispatch is never forgotten half-way (the order sent, the queue still holding it).
   */
  queue(q: QueueChange): Promise<void> {
    return new Promise((resolve) => {
      this.writes.queue.push(q);
      this.queueWaiters.push(resolve);
      this.schedule();
    });
  }

  builder(b: BuilderRecord): void {
    this.writes.builders.push(b);
    this.schedule();
  }

  /** Resolves when everything handed over so far is committed (or has failed). */
  flush(): Promise<void> {
    if (!this.inFlight && !this.hasWrites()) return Promise.resolve();
    this.schedule();
    return new Promise((r) => this.idle.push(r));
  }

  private hasWrites(): boolean {
    const w = this.writes;
    return w.suggestions.length + w.deliveries.length + w.reports.length + w.builders.length + w.queue.length > 0;
  }

  private schedule(delayMs = 0): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      this.run();
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else setImmediate(run);
  }

  private run(): void {
    if (this.inFlight) return; // the commit in flight schedules the next one when it ends
    if (!this.hasWrites()) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    const writes = this.writes;
    const sw = this.suggestionWaiters;
    const rw = this.reportWaiters;
    const dw = this.deliveryWaiters;
    const qw = this.queueWaiters;
    this.writes = noWrites();
    this.queueWaiters = [];
    this.suggestionWaiters = [];
    this.reportWaiters = [];
    this.deliveryWaiters = [];
    this.inFlight = this.store.commit(writes).then((done) => {
      sw.forEach((w, i) => w.resolve(done.suggestions[i]!));
      rw.forEach((w, i) => w.resolve(done.reports[i]!));
      for (const w of dw) w?.(true);
      for (const w of qw) w?.();
    }, (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      this.events.notice('error', 'store-failed', 'could not write to the record', {
        error: error.message, suggestions: writes.suggestions.length, reports: writes.reports.length,
      });
      for (const w of sw) w.reject(error);
      // Views and the master's own verdicts go again in a moment; a builder's report is not acknowledged, so it is sent again.
      for (const w of dw) w?.(false);
      const keep = writes.deliveries.slice(-Math.max(0, MAX_RETRIED_DELIVERIES - this.writes.deliveries.length));
      if (keep.length < writes.deliveries.length) {
        this.events.notice('error', 'store-failed', 'delivery changes given up while the record cannot be written', { dropped: writes.deliveries.length - keep.length });
      }
      this.writes.deliveries.unshift(...keep);
      this.deliveryWaiters.unshift(...keep.map(() => undefined));
      this.writes.builders.unshift(...writes.builders);
      this.writes.queue.unshift(...writes.queue);
      this.queueWaiters.unshift(...qw);
      writes.reports.forEach((r, i) => {
        const w = rw[i]!;
        if (w.retry) {
          this.writes.reports.push(r);
          this.reportWaiters.push(w);
        } else {
          w.reject(error);
        }
      });
      if (this.hasWrites()) this.schedule(RETRY_MS);
    }).finally(() => {
      this.inFlight = undefined;
      if (this.hasWrites()) this.schedule();
      else for (const r of this.idle.splice(0)) r();
    });
  }
}
