// The master's events as the pages and the API stream them (Server-Sent Events): numbered, the last ones kept, so a
// client that reconnects with Last-Event-ID gets what it missed, once.
import type { EventBus, MasterEvent } from '../master/events.js';

/** Events kept for clients that reconnect. */
const KEEP = 10_000;

export interface PublicEvent { id: string; type: string; data: string }

/** A kept event: its JSON is made the first time a client is sent it (with no page open, events cost a push). */
interface Kept { id: string; type: string; payload: unknown; text?: string }

function published(k: Kept): PublicEvent {
  k.text ??= JSON.stringify(k.payload);
  return { id: k.id, type: k.type, data: k.text };
}

/** The public form of a master event, or undefined for those not streamed (output, notices, inner bookkeeping). */
function publicData(e: MasterEvent): { type: string; data: unknown } | undefined {
  switch (e.type) {
    case 'suggestion':
      return { type: 'suggestion', data: { ...e.suggestion, builders: e.builders } };
    case 'delivery':
      return { type: 'delivery', data: { id: e.id, seq: e.seq, builder: e.builder, state: e.state } };
    case 'started':
      return { type: 'started', data: { id: e.id, builder: e.builder, startedAt: e.startedAt } };
    case 'report': {
      const { output: _o, ...summary } = e.report;
      return { type: 'report', data: summary };
    }
    case 'overdue':
      return { type: 'overdue', data: { id: e.id, builder: e.builder, project: e.project, branch: e.branch, startedAt: e.startedAt, usualMs: e.usualMs } };
    case 'builder-up':
      return { type: 'builder-up', data: { name: e.name, address: e.address, projects: e.projects, uname: e.uname, node: e.node, jobs: e.jobs } };
    case 'builder-down':
      return { type: 'builder-down', data: { name: e.name, address: e.address, reason: e.reason } };
    default:
      return undefined;
  }
}

export class EventLog {
  /** Ids are RUN-N: N grows while the master runs; RUN (its start, base 36) tells another run's ids apart. */
  readonly run: string;
  private next = 1;
  private readonly kept: Kept[] = [];
  private readonly listeners = new Set<(e: PublicEvent) => void>();

  constructor(events: EventBus, now: () => number = Date.now) {
    this.run = now().toString(36);
    events.on((e) => {
      const p = publicData(e);
      if (!p) return;
      const kept: Kept = { id: `${this.run}-${this.next++}`, type: p.type, payload: p.data };
      this.kept.push(kept);
      if (this.kept.length > KEEP + 1000) this.kept.splice(0, this.kept.length - KEEP);
      if (this.listeners.size === 0) return;
      const event = published(kept);
      for (const l of this.listeners) l(event);
    });
  }

  /**
   * What a client that last saw `lastId` missed: the kept events after it, or `reset` (and nothing else) when it is
   * from another run or older than what is kept: the client should reload what it shows. No id: nothing (it starts live).
   */
  since(lastId: string | undefined): { reset: boolean; events: PublicEvent[] } {
    if (lastId === undefined) return { reset: false, events: [] };
    const m = /^([0-9a-z]+)-(\d+)$/.exec(lastId);
    const kept = this.kept.slice(-KEEP);
    const first = kept[0] ? Number(kept[0].id.split('-')[1]) : this.next;
    if (!m || m[1] !== this.run) return { reset: true, events: [] };
    const n = Number(m[2]);
    if (n < first - 1 || n >= this.next) return { reset: true, events: [] };
    return { reset: false, events: kept.slice(n - first + 1).map(published) };
  }

  /** Calls `listener` with each new event; returns the function that stops it. */
  subscribe(listener: (e: PublicEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
