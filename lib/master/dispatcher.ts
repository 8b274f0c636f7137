// The master's dispatch of `one` suggestions: keeps the queue (in the record and in memory), gives each order to a free builder, and offers a lost one again.
import type { BuildOrder } from '../protocol/messages.js';
import type { QueuedOrder, StoredSuggestion } from '../store/store.js';
import type { GroupCommit } from './commits.js';
import { choose, FairQueue, type Free, type Order } from './dispatch.js';
import type { EventBus } from './events.js';
import type { Ledger } from './ledger.js';
import { encode } from './peer.js';
import type { BuilderSession, Roster } from './roster.js';

/** The order line a builder is sent for a dispatched suggestion. */
export function oneOrder(s: StoredSuggestion, replayed = false): BuildOrder {
  return {
    type: 'suggest', id: s.id, seq: s.seq, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
    ...(replayed ? { replayed: true } : {}), one: true,
  };
}

/** Busy builders named in why an order waits; the rest are counted. */
const MAX_NAMED_BUSY = 5;

export interface DispatchPorts {
  roster: Roster;
  ledger: Ledger;
  commits: GroupCommit;
  events: EventBus;
  /** Whether this builder may build this suggestion: it has the script and matches its selector. */
  able(b: BuilderSession, s: StoredSuggestion): boolean;
  /** Told when an order goes to a builder, so a waiting suggester follows it there. */
  given(id: string, builder: string): void;
  now(): number;
}

export class Dispatcher {
  private readonly queue = new FairQueue();
  private readonly lastGiven = new Map<string, number>();
  private readonly lastProject = new Map<string, string>();
  private scheduled = false;
  /** Builds whose report is being committed, per builder: their builder has that much more room once it lands. */
  private readonly freeing = new Map<string, number>();

  constructor(private readonly ports: DispatchPorts) {}

  get size(): number {
    return this.queue.size;
  }

  /** What waits, project by project in turn. */
  waiting(): Order[] {
    return this.queue.all();
  }

  get(id: string): Order | undefined {
    return this.queue.get(id);
  }

  /** How many of its project wait before this order (undefined: not queued). */
  ahead(id: string): number | undefined {
    return this.queue.has(id) ? this.queue.ahead(id) : undefined;
  }

  /** Why an order still waits, in words after "waiting: " (for `simplebb queue` and `where`). */
  why(o: Order): string {
    const { roster, ledger } = this.ports;
    const busy: string[] = [];
    let old = 0;
    for (const b of roster.all()) {
      if (o.tried.has(b.name) || !this.ports.able(b, o.suggestion)) continue;
      if (!b.ids) old++;
      else busy.push(`${b.name} ${ledger.count(b.name)} of ${b.jobs}`);
    }
    const tried = o.tried.size ? `; not again to ${[...o.tried].join(', ')} (an earlier attempt was lost there)` : '';
    const older = old ? `; ${old} more can build it but run a simplebb-clientd too old for --one` : '';
    if (!busy.length) return `no connected builder that can build it${tried}${older}`;
    const shown = busy.slice(0, MAX_NAMED_BUSY).join(', ') + (busy.length > MAX_NAMED_BUSY ? `, and ${busy.length - MAX_NAMED_BUSY} more` : '');
    return `every builder that can build it is busy (${shown})${tried}${older}`;
  }

  /** The queue as the record has it (at start). */
  load(orders: QueuedOrder[]): void {
    for (const o of orders) this.queue.add({ suggestion: o.suggestion, attempt: o.attempt, queuedAt: o.queuedAt, tried: new Set(o.tried) });
  }

  /**
   * A new `one` suggestion, in the record's queue already (written with it): given to a free builder now if one is,
   * else left waiting. Returns the builder it went to.
   */
  add(s: StoredSuggestion): string | undefined {
    this.queue.add({ suggestion: s, attempt: 1, queuedAt: this.ports.now(), tried: new Set() });
    let to: string | undefined;
    this.serve((id, builder) => { if (id === s.id) to = builder; });
    if (to === undefined) this.ports.events.emit({ type: 'queued', id: s.id, project: s.project, attempt: 1, ahead: this.queue.ahead(s.id) });
    return to;
  }

  /** How the lost attempt's report should end: whether it is offered again, and how many attempts it may have. */
  retryOf(s: StoredSuggestion, attempt: number): { again: boolean; of: number } {
    const of = 1 + (s.one?.retries ?? 0);
    return { again: s.one !== undefined && attempt < of, of };
  }

  /**
   * A `one` build was lost with `builder` (it did not come back, or came back without it) as `attempt`: when it
   * has retries left it goes back in the queue for another builder, in the same commit as its `lost` report (the
   * caller writes that report in this turn).
   */
  lost(s: StoredSuggestion, builder: string, attempt: number, tried: Iterable<string> = []): void {
    if (!this.retryOf(s, attempt).again) return;
    const at = this.ports.now();
    void this.ports.commits.queue({ id: s.id, queued: true, attempt: attempt + 1, at, after: builder });
    this.queue.add({ suggestion: s, attempt: attempt + 1, queuedAt: at, tried: new Set([...tried, builder]) });
    this.ports.events.emit({ type: 'queued', id: s.id, project: s.project, attempt: attempt + 1, ahead: this.queue.ahead(s.id) });
    this.schedule();
  }

  /** Takes an order off the queue (cancelled): durable when the promise resolves; false when it was not queued. */
  take(id: string): Promise<boolean> {
    if (!this.queue.remove(id)) return Promise.resolve(false);
    return this.ports.commits.queue({ id, taken: true }).then(() => true);
  }

  /**
   * A builder's report for an open build is going to the record (`on`), or has gone (`!on`). While it goes, the
   * builder counts as free of it, and orders handed to it now share that commit (and are sent after it): a
   * builder's cycle then costs one fsync, not two.
   */
  freeingOf(builder: string, on: boolean): void {
    const n = (this.freeing.get(builder) ?? 0) + (on ? 1 : -1);
    if (n > 0) this.freeing.set(builder, n);
    else this.freeing.delete(builder);
    if (on && this.queue.size) this.serve();
  }

  /** A builder reported on a project: its work dir is warm for it. */
  built(builder: string, project: string): void {
    this.lastProject.set(builder, project);
  }

  /** Something changed that may let an order go (a builder free, back, with new labels): served in the next turn. */
  schedule(): void {
    if (this.scheduled || this.queue.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.serve();
    });
  }

  /** Gives waiting orders to free builders, fairly across projects, until no order can go. */
  private serve(gave?: (id: string, builder: string) => void): void {
    const { roster, ledger } = this.ports;
    const room: BuilderSession[] = [];
    const freeOf = (b: BuilderSession): number => b.jobs - ledger.count(b.name) + (this.freeing.get(b.name) ?? 0);
    for (const b of roster.all()) if (b.live && b.ids && freeOf(b) > 0) room.push(b);
    if (!room.length || !this.queue.size) return;
    this.queue.serve((o) => {
      const able: Free[] = [];
      for (const b of room) {
        if (o.tried.has(b.name) || !this.ports.able(b, o.suggestion)) continue;
        able.push({ name: b.name, free: freeOf(b), lastGiven: this.lastGiven.get(b.name) ?? 0, ...(this.lastProject.has(b.name) ? { lastProject: this.lastProject.get(b.name)! } : {}) });
      }
      const name = choose(o.suggestion.project, able);
      if (name === undefined) return false;
      const b = room.find((x) => x.name === name)!;
      this.give(o, b);
      gave?.(o.suggestion.id, name);
      if (freeOf(b) <= 0) room.splice(room.indexOf(b), 1);
      return true;
    }, () => room.length > 0);
  }

  /**
   * The order is the builder's: its delivery (as this attempt) and its leaving the queue are made durable together
   * before the order is sent, so a report for it is known to come from the builder it went to, whatever crashes.
   */
  private give(o: Order, b: BuilderSession): void {
    const { ledger, commits, events } = this.ports;
    const s = o.suggestion;
    const now = this.ports.now();
    this.lastGiven.set(b.name, now);
    ledger.offered(b.name, s, o.attempt);
    this.ports.given(s.id, b.name);
    events.emit({ type: 'dispatched', id: s.id, project: s.project, builder: b.name, attempt: o.attempt, waitedMs: Math.max(0, now - o.queuedAt) });
    void commits.queue({ id: s.id, taken: true }).then(() => {
      // Gone meanwhile: its delivery stays offered, so it is sent again when the builder is back (or lost after the window).
      if (this.ports.roster.get(b.name) === b && b.live) b.peer.sendLine(encode(oneOrder(s)));
    });
  }
}
