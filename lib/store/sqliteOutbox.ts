// The notification outbox in SQLite: planned inside the commit that stores the causing report, then drained by the sender.
import type Database from 'better-sqlite3';
import type { Verdict } from '../protocol/messages.js';
import { rowToReport, rowToSuggestion, type ReportRow, type SuggestionRow } from './sqliteRows.js';
import type { AcceptInput, AcceptPlanner, DueNotification, JudgedReport, NotificationEntry, NotificationPlanner, Outbox, PlannedNotification, StoredReport } from './store.js';

interface NotificationRow {
  id: string; seq: number; sink: string; rule: string; payload: string; state: string; attempts: number;
  last_error: string | null; created_at: number; next_at: number; done_at: number | null;
}

/** The longest last error kept per notification: enough for a server's answer, not a page of HTML. */
const MAX_ERROR_CHARS = 500;

function rowToEntry(r: NotificationRow): NotificationEntry {
  return {
    id: r.id, seq: r.seq, sink: r.sink, rule: r.rule, state: r.state as NotificationEntry['state'], attempts: r.attempts,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}), createdAt: r.created_at, nextAt: r.next_at,
    ...(r.done_at !== null ? { doneAt: r.done_at } : {}),
  };
}

export class SqliteOutbox implements Outbox {
  private planner: NotificationPlanner | undefined;
  private accepted: AcceptPlanner | undefined;
  private readonly stmts;

  /** `sync(false)`: a mark need not be fsynced (lost to a power loss, the notification is sent again, never lost). */
  constructor(private readonly db: Database.Database, private readonly sync: (durable: boolean) => void) {
    this.stmts = {
      suggestion: db.prepare<[number], SuggestionRow>('SELECT * FROM suggestions WHERE seq = ?'),
      open: db.prepare<[number], { n: number }>("SELECT count(*) AS n FROM deliveries WHERE seq = ? AND state IN ('offered', 'received', 'started')"),
      reportsOf: db.prepare<[number], ReportRow>('SELECT * FROM reports WHERE seq = ? ORDER BY builder'),
      // Row values keep both to a backwards walk of the cell's index (reports_cell) from the report, not a scan of the cell.
      lastVerdict: db.prepare<[string, string, string, number, string], { verdict: string }>(`SELECT verdict FROM reports
        WHERE project = ? AND branch = ? AND builder = ? AND (received_at, id) < (?, ?) AND verdict IN ('success', 'failure', 'timeout')
        ORDER BY received_at DESC, id DESC LIMIT 1`),
      lastGreen: db.prepare<[string, string, string, number], { seq: number | null }>(`SELECT seq FROM reports
        WHERE project = ? AND branch = ? AND builder = ? AND verdict = 'success' AND seq < ? ORDER BY received_at DESC, id DESC LIMIT 1`),
      revisions: db.prepare<[number, number, string, string, number], { revision: string }>(`SELECT revision FROM suggestions
        WHERE seq > ? AND seq <= ? AND project = ? AND branch = ? AND revision IS NOT NULL GROUP BY revision ORDER BY max(seq) DESC LIMIT ?`),
      add: db.prepare<[string, number, string, string, string, number, number], never>(`INSERT OR IGNORE INTO notifications
        (id, seq, sink, rule, payload, state, attempts, created_at, next_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`),
      // Not due while an entry of its suggestion and sink planned before it (a smaller rowid: rows are never deleted) is pending.
      due: db.prepare<[number, number], NotificationRow>(`SELECT * FROM notifications n WHERE n.state = 'pending' AND n.next_at <= ?
        AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.state = 'pending' AND e.seq = n.seq AND e.sink = n.sink AND e.rowid < n.rowid)
        ORDER BY n.next_at, n.created_at LIMIT ?`),
      nextDue: db.prepare<[], { at: number | null }>("SELECT min(next_at) AS at FROM notifications WHERE state = 'pending'"),
      sent: db.prepare<[number, string], never>("UPDATE notifications SET state = 'sent', attempts = attempts + 1, done_at = ? WHERE id = ? AND state = 'pending'"),
      retry: db.prepare<[string, number, string], never>("UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_at = ? WHERE id = ? AND state = 'pending'"),
      giveUp: db.prepare<[string, number, string], never>("UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = ?, done_at = ? WHERE id = ? AND state = 'pending'"),
      recent: db.prepare<[number], NotificationRow>('SELECT * FROM notifications ORDER BY created_at DESC, id DESC LIMIT ?'),
    };
  }

  setPlanner(planner: NotificationPlanner, accepted?: AcceptPlanner): void {
    this.planner = planner;
    this.accepted = accepted;
  }

  /** Inside the commit's transaction, after its suggestions are written: keeps what accepting each of them notifies. */
  accept(accepted: AcceptInput[], now: number): void {
    if (!this.accepted) return;
    for (const a of accepted) this.add(a.suggestion.seq, this.accepted(a), now);
  }

  private add(seq: number, planned: PlannedNotification[], now: number): void {
    for (const n of planned) this.stmts.add.run(n.id, seq, n.sink, n.rule, n.payload, now, now);
  }

  async enqueue(seq: number, planned: PlannedNotification[], at: number): Promise<void> {
    if (planned.length === 0) return;
    this.sync(true);
    this.db.transaction(() => this.add(seq, planned, at))();
  }

  /** Inside the commit's transaction, after its reports and deliveries are written: keeps what the planner plans for each stored report. */
  plan(stored: StoredReport[], now: number): void {
    if (!this.planner || stored.length === 0) return;
    // A suggestion completed by several reports of this commit is judged complete once, with its last one.
    const last = new Map(stored.map((r, i) => [r.seq, i]));
    for (const [i, report] of stored.entries()) {
      const s = this.stmts.suggestion.get(report.seq);
      if (!s) continue;
      const suggestion = rowToSuggestion(s);
      const complete = last.get(report.seq) === i && this.stmts.open.get(report.seq)!.n === 0
        ? this.stmts.reportsOf.all(report.seq).map((r) => this.judge(rowToReport(r))) : undefined;
      const planned = this.planner({
        suggestion, judged: this.judge(report), ...(complete ? { complete } : {}),
        sinceGreen: (builder, limit) => {
          const green = this.stmts.lastGreen.get(suggestion.project, suggestion.branch, builder, suggestion.seq)?.seq;
          return green == null ? [] : this.stmts.revisions.all(green, suggestion.seq, suggestion.project, suggestion.branch, limit).map((r) => r.revision);
        },
      });
      this.add(report.seq, planned, now);
    }
  }

  private judge(report: StoredReport): JudgedReport {
    const last = this.stmts.lastVerdict.get(report.project, report.branch, report.builder, report.receivedAt, report.id);
    return { report, ...(last ? { lastVerdict: last.verdict as Verdict } : {}) };
  }

  async due(now: number, limit: number): Promise<DueNotification[]> {
    return this.stmts.due.all(now, limit).map((r) => ({ ...rowToEntry(r), payload: r.payload }));
  }

  async nextDue(): Promise<number | undefined> {
    return this.stmts.nextDue.get()?.at ?? undefined;
  }

  async sent(id: string, at: number): Promise<void> {
    this.sync(false);
    this.stmts.sent.run(at, id);
  }

  async failed(id: string, error: string, at: number, next: { nextAt: number } | { giveUp: true }): Promise<void> {
    this.sync(false);
    const e = error.slice(0, MAX_ERROR_CHARS);
    if ('giveUp' in next) this.stmts.giveUp.run(e, at, id);
    else this.stmts.retry.run(e, next.nextAt, id);
  }

  async recent(limit: number): Promise<NotificationEntry[]> {
    return this.stmts.recent.all(limit).map(rowToEntry);
  }
}
