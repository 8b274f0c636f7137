// What the master tells whoever listens: typed events for the log, waiting suggesters, and later pages, notifications and metrics.
import type { Labels } from '../protocol/labels.js';
import type { Stream, Uname } from '../protocol/messages.js';
import type { DeliveryState, StoredReport, StoredSuggestion } from '../store/store.js';

export type MasterEvent =
  /** A suggestion is in the record and was offered to these builders (connected ones; others get it when they return). */
  | { type: 'suggestion'; suggestion: StoredSuggestion; builders: string[] }
  /** A builder's part in a suggestion moved on (see DeliveryState); `reported` comes with the `report` event instead. */
  | { type: 'delivery'; seq: number; id: string; builder: string; state: DeliveryState }
  /** A `one` suggestion waits in the dispatch queue (no matching builder is free), as `attempt`, behind `ahead` of its project. */
  | { type: 'queued'; id: string; project: string; attempt: number; ahead: number }
  /** A `one` suggestion was given to this builder, as its `attempt`-th attempt, after `waitedMs` in the queue. */
  | { type: 'dispatched'; id: string; project: string; builder: string; attempt: number; waitedMs: number }
  | { type: 'started'; id: string; builder: string; startedAt: number }
  | { type: 'output'; id: string; builder: string; stream: Stream; data: Buffer }
  /**
   * A report is in the record (new, or replacing a `lost`, `superseded` or `refused` the master gave). `commitMs`: a
   * builder's report only, the time from its arrival at the master to its durable commit (checks and lookups included).
   */
  | { type: 'report'; report: StoredReport; replaced: boolean; commitMs?: number }
  /** A running build has taken more than twice its usual duration (the median of its builder's last successful ones); once per build. */
  | { type: 'overdue'; id: string; builder: string; project: string; branch: string; startedAt: number; usualMs: number }
  | { type: 'builder-up'; name: string; address: string; instance: string; projects: string[]; uname: Uname; node: string; jobs: number; labels: Labels; replaced?: string }
  /** A builder's connection closed; `open` deliveries wait for it until the replay window ends. */
  | { type: 'builder-down'; name: string; address: string; reason: string; open: Array<{ id: string; seq: number }>; windowMs: number }
  | { type: 'projects'; name: string; projects: string[] }
  /** A connected builder's labels changed (the complete new set; `script:*` follow its projects). */
  | { type: 'labels'; name: string; labels: Labels }
  /** What a returning builder was sent, which of the suggestions it missed were superseded by newer ones, and which not replayed (refused) because it was owed too many. */
  | { type: 'replay'; builder: string; sent: string[]; superseded: string[]; lost: string[]; refused: string[] }
  /** An attempt to send a notification from the outbox: sent, failed (to be tried again), or given up. */
  | { type: 'notification'; id: string; sink: string; outcome: 'sent' | 'failed' | 'given-up'; attempts: number; error?: string }
  /** Something refused or gone wrong that an operator may want to see: bad input, failed authentication, a store error. */
  | { type: 'notice'; level: 'debug' | 'info' | 'warn' | 'error'; event: string; message: string; fields: Record<string, unknown> };

export type MasterEventType = MasterEvent['type'];
export type Listener = (event: MasterEvent) => void;

/** Synchronous fan-out of events to listeners; a listener that throws is skipped for that event, never the master's problem. */
export class EventBus {
  private readonly listeners = new Set<Listener>();

  /** Adds a listener; returns the function that removes it. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: MasterEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A subscriber's bug must not stop the master or the other subscribers.
      }
    }
  }

  /** A notice, the master's word for "an operator may want to see this". */
  notice(level: 'debug' | 'info' | 'warn' | 'error', event: string, message: string, fields: Record<string, unknown> = {}): void {
    this.emit({ type: 'notice', level, event, message, fields });
  }
}
