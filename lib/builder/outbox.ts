// What the builder owes the master: reports (kept in the inbox journal first) and skips, sent and sent again until each is acknowledged.
import type { Logger } from 'pino';
import { splitText } from './chunks.js';
import type { Inbox, SpooledReport } from './inbox.js';
import type { Link } from './link.js';

/** How long an unacknowledged report waits before it is sent again on the same connection. */
const RESEND_MS = 30_000;
/** Kept reports are sent again while less than this is waiting in the socket. */
const SPOOL_BACKLOG = 4 * 1024 * 1024;

export class Outbox {
  private readonly sentAt = new Map<string, number>();
  /** The connection a resend pass is running on, if one is. */
  private resending: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Reports still being written to the journal; the daemon does not exit before they are done. */
  private readonly writes = new Set<Promise<void>>();
  private emptied: Array<() => void> = [];

  constructor(private readonly inbox: Inbox, private readonly link: Link, private readonly log: Logger) {
    link.on('up', () => void this.resend());
    link.on('message', (m) => {
      if (m.type === 'ack') void this.acked(m.id);
    });
  }

  /** Checks every RESEND_MS / 2 for reports the master has not acknowledged (it could not store them, say). */
  start(): void {
    this.timer = setInterval(() => {
      const now = Date.now();
      void this.resend((id) => now - (this.sentAt.get(id) ?? 0) >= RESEND_MS);
    }, RESEND_MS / 2);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Keeps the report in the journal (one fsync), then sends it if connected; it stays there until the master acknowledges it. */
  async report(report: SpooledReport): Promise<void> {
    const write = this.inbox.keep(report);
    this.writes.add(write);
    try {
      await write;
    } catch (err) {
      this.log.error({ event: 'spool-failed', id: report.id, error: (err as Error).message }, 'could not keep the report in the inbox journal; sending it anyway');
    } finally {
      this.writes.delete(write);
    }
    this.send(report);
  }

  /** Tells the master the order will not be built (the inbox notes it first, so it is told again after a restart). */
  async skip(id: string): Promise<void> {
    await this.inbox.noteSkipped(id);
    this.sentAt.set(id, Date.now());
    this.link.send({ type: 'skipped', id });
  }

  /** Resolves when every report and skip is acknowledged, or after `ms`. */
  async settled(ms: number): Promise<void> {
    await Promise.allSettled([...this.writes]);
    if (this.owed() === 0 || !this.link.connected) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.emptied.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private owed(): number {
    return this.inbox.reportCount + this.inbox.skipCount;
  }

  private send(r: SpooledReport): void {
    this.sentAt.set(r.id, Date.now());
    const { output, ...fields } = r;
    const parts = output ? splitText(output) : [];
    for (const data of parts) this.link.send({ type: 'report-output', id: r.id, data });
    this.link.send({ type: 'report', ...fields, outputChunks: parts.length });
  }

  private async acked(id: string): Promise<void> {
    this.sentAt.delete(id);
    if (!this.inbox.reported(id) && !this.inbox.has(id)) return;
    try {
      await this.inbox.done(id);
    } catch (err) {
      this.log.error({ event: 'spool-failed', id, error: (err as Error).message }, 'could not note an acknowledged report as done');
    }
    if (this.owed() === 0) for (const r of this.emptied.splice(0)) r();
  }

  /**
   * Sends kept reports oldest first, one at a time as the socket drains: hundreds of MiB of them must not pile up
   * in our own send buffer (the connection would be cut as a slow peer and the journal never shrink).
   */
  private async resend(due: (id: string) => boolean = () => true): Promise<void> {
    const gen = this.link.generation;
    if (this.resending === gen) return;
    this.resending = gen;
    let sent = 0;
    try {
      for (const id of this.inbox.skips()) {
        if (!due(id)) continue;
        this.sentAt.set(id, Date.now());
        this.link.send({ type: 'skipped', id });
      }
      for (const id of this.inbox.reportIds()) {
        // A pass over a connection that has gone stops: the next connection starts its own.
        if (!this.link.connected || this.link.generation !== gen) return;
        if (!due(id) || !this.inbox.reported(id)) continue;
        const r = this.inbox.report(id);
        if (!r) {
          // Logged once per clientd run, not on every pass of the resend timer; tried again every RESEND_MS.
          if (!this.sentAt.has(id)) this.log.error({ event: 'spool-unreadable', id }, 'kept report could not be read back from the inbox journal; left in place');
          this.sentAt.set(id, Date.now());
          continue;
        }
        this.send(r);
        sent++;
        if (this.link.backlog > SPOOL_BACKLOG) await new Promise<void>((res) => this.link.once('drain', () => res()));
      }
    } finally {
      if (this.resending === gen) this.resending = undefined;
      if (sent) this.log.info({ event: 'resent', count: sent }, 'resent unacknowledged reports');
    }
  }
}
