// Waiting suggesters: each hears its suggestions' starts, output (if it follows), verdicts, and builders going away, from the events.
import { TAIL_MAX_CHARS } from '../protocol/limits.js';
import type { Uname } from '../protocol/messages.js';
import type { StoredReport, StoredSuggestion } from '../store/store.js';
import type { EventBus, MasterEvent } from './events.js';
import type { Peer } from './peer.js';

/** A follower this far behind gets no more live output until it catches up (the gap is marked); it is not cut off. */
const MAX_FOLLOW_BACKLOG = 4 * 1024 * 1024;
/** Live output (bytes) forwarded to a waiting suggester per build and builder; beyond it the report still has the output. */
const MAX_FORWARDED_OUTPUT = 64 * 1024 * 1024;

/** The last lines of a build's output (at most TAIL_LINES, TAIL_MAX_CHARS), for a waiting suggester to show with a failure. */
export function tailOf(output: string): string {
  let text = output.endsWith('\n') ? output.slice(0, -1) : output;
  if (text.length > TAIL_MAX_CHARS) text = text.slice(text.length - TAIL_MAX_CHARS);
  const lines = text.split('\n');
  return lines.slice(-TAIL_LINES).join('\n');
}

/** Who a `one` suggestion cancelled while queued was "reported" by, for its waiter. */
const QUEUE = 'queue';

/** How many of a failed build's last output lines a waiting suggester gets. */
const TAIL_LINES = 10;

interface Watch {
  suggestion: StoredSuggestion;
  waiter: Peer;
  follow: boolean;
  /** Builders whose verdict the waiter has not heard yet. */
  waitingFor: Set<string>;
  /** Live output characters forwarded per builder. */
  forwarded: Map<string, number>;
  /** Live output characters skipped per builder because the follower was reading too slowly. */
  skipped: Map<string, number>;
  /** A `one` suggestion: it has no builders until it is given to one, and one verdict (not a retried loss) ends it. */
  one?: boolean;
}

export class Watchers {
  private readonly byId = new Map<string, Watch>();
  private readonly byWaiter = new Map<Peer, Set<string>>();
  /** What each builder said of itself, for the verdict of a suggestion it skips (nothing is stored for those). */
  private readonly builders = new Map<string, { uname: Uname; node: string }>();

  constructor(events: EventBus) {
    events.on((e) => this.on(e));
  }

  /** `waiter` hears about `suggestion` until every one of `builders` has a verdict, or it goes. */
  watch(waiter: Peer, suggestion: StoredSuggestion, builders: string[], follow: boolean): void {
    if (!builders.length) return;
    this.byId.set(suggestion.id, { suggestion, waiter, follow, waitingFor: new Set(builders), forwarded: new Map(), skipped: new Map() });
    let ids = this.byWaiter.get(waiter);
    if (!ids) this.byWaiter.set(waiter, (ids = new Set()));
    ids.add(suggestion.id);
  }

  /** `waiter` hears about a `one` suggestion: from the builder it is given to (see given()), until its verdict. */
  watchOne(waiter: Peer, suggestion: StoredSuggestion, follow: boolean): void {
    this.byId.set(suggestion.id, { suggestion, waiter, follow, waitingFor: new Set(), forwarded: new Map(), skipped: new Map(), one: true });
    let ids = this.byWaiter.get(waiter);
    if (!ids) this.byWaiter.set(waiter, (ids = new Set()));
    ids.add(suggestion.id);
  }

  /** A `one` suggestion went to this builder: its waiter follows it there. */
  given(id: string, builder: string): void {
    const w = this.byId.get(id);
    if (w?.one) w.waitingFor.add(builder);
  }

  /** A `one` build was lost with this builder and goes to another: its `lost` is not the verdict the waiter waits for. */
  retrying(id: string, builder: string): void {
    const w = this.byId.get(id);
    if (!w?.one || !w.waitingFor.delete(builder)) return;
    w.waiter.send({ type: 'away', id, builder, reason: 'lost with it; offered to another builder', windowMs: 0 });
  }

  /** A `one` suggestion was cancelled while queued: its waiter gets a `cancelled` report from the queue (not stored) and is done. */
  cancelledQueued(s: StoredSuggestion, message: string): void {
    const w = this.byId.get(s.id);
    if (!w?.one) return;
    w.waiter.send({
      type: 'report', id: s.id, builder: QUEUE, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
      exitCode: -1, verdict: 'cancelled', message, durationMs: 0, uname: { type: '', release: '', version: '', machine: '', hostname: '' }, node: '', outputBytes: 0, outputCut: 0,
    });
    w.waitingFor.clear();
    this.doneIfAll(w);
  }

  /** The waiter's connection closed. */
  drop(waiter: Peer): void {
    for (const id of this.byWaiter.get(waiter) ?? []) this.byId.delete(id);
    this.byWaiter.delete(waiter);
  }

  private on(e: MasterEvent): void {
    switch (e.type) {
      case 'builder-up':
        this.builders.set(e.name, { uname: e.uname, node: e.node });
        return;
      case 'started': {
        const w = this.byId.get(e.id);
        if (w?.waitingFor.has(e.builder)) w.waiter.send({ type: 'started', id: e.id, builder: e.builder, startedAt: e.startedAt });
        return;
      }
      case 'output':
        return this.output(e.id, e.builder, e.stream, e.data);
      case 'report':
        return this.verdict(e.report);
      case 'delivery':
        if (e.state === 'skipped') this.skipped(e.id, e.builder);
        return;
      case 'builder-down':
        for (const o of e.open) {
          const w = this.byId.get(o.id);
          if (w?.waitingFor.has(e.name)) w.waiter.send({ type: 'away', id: o.id, builder: e.name, reason: e.reason, windowMs: e.windowMs });
        }
        return;
      default:
        return;
    }
  }

  private output(id: string, builder: string, stream: 'stdout' | 'stderr', data: Buffer): void {
    const w = this.byId.get(id);
    if (!w?.follow || !w.waitingFor.has(builder)) return;
    const sent = w.forwarded.get(builder) ?? 0;
    if (sent > MAX_FORWARDED_OUTPUT) return;
    if (w.waiter.backlog > MAX_FOLLOW_BACKLOG) {
      w.skipped.set(builder, (w.skipped.get(builder) ?? 0) + data.length);
      return;
    }
    const skipped = w.skipped.get(builder);
    if (skipped) {
      w.skipped.delete(builder);
      const note = `\n[simplebb: ${skipped} bytes of live output skipped: the follower was reading too slowly; the report keeps the first and last part]\n`;
      w.waiter.send({ type: 'output', id, builder, stream, data: Buffer.from(note) });
    }
    w.forwarded.set(builder, sent + data.length);
    if (sent + data.length > MAX_FORWARDED_OUTPUT) {
      data = Buffer.from(`\n[simplebb: live output past ${MAX_FORWARDED_OUTPUT} bytes is not forwarded; the report keeps its first and last part]\n`);
    }
    // The bytes as the builder sent them, not copied: the connection writes them after the message's line.
    w.waiter.send({ type: 'output', id, builder, stream, data });
  }

  private verdict(report: StoredReport): void {
    const w = this.byId.get(report.id);
    if (!w || !w.waitingFor.delete(report.builder)) return;
    const { output, receivedAt: _r, seq: _s, ...fields } = report;
    const tail = report.verdict !== 'success' && output ? tailOf(output) : '';
    w.waiter.send({ type: 'report', ...fields, ...(tail ? { tail } : {}) });
    this.doneIfAll(w);
  }

  private skipped(id: string, builder: string): void {
    const w = this.byId.get(id);
    if (!w || !w.waitingFor.delete(builder)) return;
    const s = w.suggestion;
    const self = this.builders.get(builder) ?? { uname: { type: '', release: '', version: '', machine: '', hostname: '' }, node: '' };
    w.waiter.send({
      type: 'report', id, builder, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
      exitCode: -1, verdict: 'no-script', message: `${builder} has no build script named ${s.project} and ignores unknown projects`,
      durationMs: 0, uname: self.uname, node: self.node, outputBytes: 0, outputCut: 0,
    });
    this.doneIfAll(w);
  }

  private doneIfAll(w: Watch): void {
    if (w.waitingFor.size > 0) return; // (a `one` watch reaches here only from its verdict)
    this.byId.delete(w.suggestion.id);
    this.byWaiter.get(w.waiter)?.delete(w.suggestion.id);
  }
}
