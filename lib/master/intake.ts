// Report intake: a builder's report and the output chunks before it, checked against what was suggested, stored, then acknowledged.
import { MAX_REPORT_CHUNKS, REPORT_KEEP_BYTES } from '../protocol/limits.js';
import type { Report, ReportFields } from '../protocol/messages.js';
import type { Store, StoredReport, StoredSuggestion } from '../store/store.js';
import type { GroupCommit } from './commits.js';
import type { EventBus } from './events.js';
import type { Ledger } from './ledger.js';
import type { Peer } from './peer.js';
import type { NoticeLimit } from './noticeLimit.js';
import type { BuilderSession } from './roster.js';

/** Characters of kept output one report may carry (first and last 512 KiB plus the cut line). */
const MAX_REPORT_OUTPUT_CHARS = 2 * REPORT_KEEP_BYTES + 4096;

export class ReportIntake {
  /** Acks waiting to leave together, per connection: a batch of reports is acknowledged in one packet. */
  private readonly acks = new Map<Peer, string[]>();

  constructor(
    private readonly store: Store,
    private readonly commits: GroupCommit,
    private readonly ledger: Ledger,
    private readonly events: EventBus,
    private readonly notices: NoticeLimit,
    private readonly now: () => number,
  ) {}

  /** One report-output chunk; false (and the connection closed) when the report would be too large. */
  chunk(b: BuilderSession, id: string, data: string): void {
    if (!b.partial || b.partial.id !== id) b.partial = { id, chunks: [], chars: 0 };
    b.partial.chars += data.length;
    if (b.partial.chunks.length >= MAX_REPORT_CHUNKS || b.partial.chars > MAX_REPORT_OUTPUT_CHARS) {
      b.partial = undefined;
      b.peer.close('report too large', `a report may carry at most ${MAX_REPORT_CHUNKS} report-output chunks and ${MAX_REPORT_OUTPUT_CHARS} characters of output`);
      return;
    }
    b.partial.chunks.push(data);
  }

  async report(b: BuilderSession, msg: Report): Promise<void> {
    // A monotonic clock, not `now` (the record's wall clock): this measures how long the master took, for /metrics.
    const arrived = performance.now();
    const chunks = b.partial && b.partial.id === msg.id ? b.partial.chunks : [];
    b.partial = undefined;
    if (chunks.length !== msg.outputChunks) {
      b.peer.send({ type: 'error', message: `report ${msg.id} announced ${msg.outputChunks} output chunks but ${chunks.length} came before it` });
      return;
    }
    const made = this.ledger.get(b.name, msg.id)?.suggestion ?? await this.lookup(msg.id);
    if (made === null) return; // the record could not be read: not acknowledged, so the builder sends it again
    const mismatch = made && (made.project !== msg.project || made.branch !== msg.branch || (made.revision ?? undefined) !== (msg.revision ?? undefined));
    if (!made || mismatch) {
      // Made up, or from before the master's data was wiped: acknowledged so it is not sent forever, but not stored.
      const why = made ? 'does not match that suggestion\'s project, branch and revision' : 'no such suggestion';
      this.notices.warn(b.peer.address, 'unknown-report', 'report refused', { builder: b.name, id: msg.id, why });
      b.peer.send({ type: 'error', message: `report ${msg.id}: ${why}; not stored` });
      b.peer.send({ type: 'ack', id: msg.id });
      return;
    }
    if (!this.ledger.get(b.name, msg.id)) {
      // Not open for this builder: taken only if the record offered it this one (a repeat after the ack was lost);
      // a builder cannot report on what was never its to build, nor in another builder's place.
      let offered;
      try {
        offered = await this.store.delivered(made.seq, b.name);
      } catch (err) {
        this.events.notice('error', 'store-failed', 'could not read the record', { error: (err as Error).message });
        return;
      }
      if (!offered) {
        this.notices.warn(b.peer.address, 'unknown-report', 'report refused', { builder: b.name, id: msg.id, why: 'not offered to this builder' });
        b.peer.send({ type: 'error', message: `report ${msg.id}: that suggestion was not offered to builder ${b.name}; not stored` });
        b.peer.send({ type: 'ack', id: msg.id });
        return;
      }
    }
    const { type: _t, outputChunks: _c, ...fields } = msg;
    const report: StoredReport = {
      ...(fields as ReportFields), builder: b.name, seq: made.seq, output: chunks.join(''), receivedAt: this.now(),
      ...(Object.keys(b.labels).length ? { labels: b.labels } : {}),
    };
    // A `one` build its builder says was lost (its clientd died while it ran) may go to another builder: decided in
    // this turn, so its queueing shares the report's commit; only while open here, so a repeat does not queue it twice.
    const open = this.ledger.get(b.name, msg.id);
    if (report.verdict === 'lost' && made.one && open) this.onLost?.(report, made, open.attempt);
    let outcome;
    const stored = this.commits.report(report);
    // Its builder is free once this commit lands: a queued order can be handed to it in the same commit.
    if (open) this.onFreeing?.(b.name, true);
    try {
      outcome = await stored;
    } catch {
      return; // logged by the group commit; not acknowledged, so the builder sends it again
    } finally {
      if (open) this.onFreeing?.(b.name, false);
    }
    const commitMs = performance.now() - arrived;
    this.ackSoon(b.peer, msg.id);
    this.ledger.reported(b.name, msg.id);
    if (outcome !== 'duplicate') this.events.emit({ type: 'report', report, replaced: outcome === 'replaced', commitMs });
  }

  /** Told when a builder's report for an open build goes to the record (true), and when that commit is done (false). */
  onFreeing?: (builder: string, freeing: boolean) => void;

  /** Told of a builder's own `lost` report for a `one` suggestion, before its commit (it may append to the message). */
  onLost?: (report: StoredReport, s: StoredSuggestion, attempt: number) => void;

  /** Stores a verdict the master gives for a builder (`lost`, `superseded`), retried until it is in the record. */
  async verdict(report: StoredReport): Promise<void> {
    const outcome = await this.commits.report(report, true);
    this.ledger.reported(report.builder, report.id);
    if (outcome !== 'duplicate') this.events.emit({ type: 'report', report, replaced: outcome === 'replaced' });
  }

  private async lookup(id: string) {
    try {
      return await this.store.suggestion(id);
    } catch (err) {
      this.events.notice('error', 'store-failed', 'could not read the record', { error: (err as Error).message });
      return null;
    }
  }

  private ackSoon(peer: Peer, id: string): void {
    const ids = this.acks.get(peer);
    if (ids) return void ids.push(id);
    this.acks.set(peer, [id]);
    if (this.acks.size === 1) setImmediate(() => this.sendAcks());
  }

  private sendAcks(): void {
    for (const [peer, ids] of this.acks) {
      peer.cork?.();
      for (const id of ids) peer.send({ type: 'ack', id });
      peer.uncork?.();
    }
    this.acks.clear();
  }
}
