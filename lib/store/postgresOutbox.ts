// The notification outbox on PostgreSQL: planned inside the commit that stores the causing report, then drained by the sender.
import type pg from 'pg';
import type { Verdict } from '../protocol/messages.js';
import { rowToReport, rowToSuggestion, type ReportRow, type SuggestionRow } from './sqliteRows.js';
import type { AcceptInput, AcceptPlanner, DueNotification, JudgedReport, NotificationEntry, NotificationPlanner, Outbox, PlannedNotification, StoredReport } from './store.js';

interface NotificationRow {
  id: string; seq: number; sink: string; rule: string; payload: string; state: string; attempts: number;
  last_error: string | null; created_at: number; next_at: number; done_at: number | null;
}

/** The longest last error kept per notification: enough for a server's answer, not a page of HTML. */
const MAX_ERROR_CHARS = 500;
/**
 * Revisions since a builder's last green read ahead for the planner, whose `sinceGreen` is synchronous while the
 * database is not: a planner asking for more gets this many (the notices show 20).
 */
const SINCE_GREEN_AHEAD = 50;

function rowToEntry(r: NotificationRow): NotificationEntry {
  return {
    id: r.id, seq: r.seq, sink: r.sink, rule: r.rule, state: r.state as NotificationEntry['state'], attempts: r.attempts,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}), createdAt: r.created_at, nextAt: r.next_at,
    ...(r.done_at !== null ? { doneAt: r.done_at } : {}),
  };
}

export class PostgresOutbox implements Outbox {
  private planner: NotificationPlanner | undefined;
  private accepted: AcceptPlanner | undefined;

  constructor(private readonly pool: pg.Pool) {}

  setPlanner(planner: NotificationPlanner, accepted?: AcceptPlanner): void {
    this.planner = planner;
    this.accepted = accepted;
  }

  /** Inside the commit's transaction, after its suggestions are written: keeps what accepting each of them notifies. */
  async accept(c: pg.PoolClient, accepted: AcceptInput[], now: number): Promise<void> {
    if (!this.accepted) return;
    for (const a of accepted) await this.add(c, a.suggestion.seq, this.accepted(a), now);
  }

  async enqueue(seq: number, planned: PlannedNotification[], at: number): Promise<void> {
    if (planned.length === 0) return;
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await this.add(c, seq, planned, at);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** Planned notifications in their order (`ord` rises with each insert); an id already kept is left alone. */
  private async add(c: pg.PoolClient, seq: number, planned: PlannedNotification[], now: number): Promise<void> {
    for (const n of planned) {
      await c.query(`INSERT INTO notifications (id, seq, sink, rule, payload, state, attempts, created_at, next_at)
        VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT DO NOTHING`, [n.id, seq, n.sink, n.rule, n.payload, now]);
    }
  }

  /** Inside the commit's transaction, after its reports and deliveries are written: keeps what the planner plans for each stored report. */
  async plan(c: pg.PoolClient, stored: StoredReport[], now: number): Promise<void> {
    if (!this.planner || stored.length === 0) return;
    const last = new Map(stored.map((r, i) => [r.seq, i]));
    for (const [i, report] of stored.entries()) {
      const s = (await c.query<SuggestionRow>('SELECT * FROM suggestions WHERE seq = $1', [report.seq])).rows[0];
      if (!s) continue;
      const suggestion = rowToSuggestion(s);
      let complete: JudgedReport[] | undefined;
      if (last.get(report.seq) === i) {
        const open = (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE seq = $1 AND state IN ('offered', 'received', 'started')", [report.seq])).rows[0]!.n;
        if (open === 0) {
          complete = [];
          for (const r of (await c.query<ReportRow>('SELECT * FROM reports WHERE seq = $1 ORDER BY builder', [report.seq])).rows) complete.push(await this.judge(c, rowToReport(r)));
        }
      }
      // What sinceGreen may be asked, read ahead: for the report's builder and every builder of a complete suggestion.
      const since = new Map<string, string[]>();
      for (const builder of new Set([report.builder, ...(complete ?? []).map((j) => j.report.builder)])) {
        const green = (await c.query<{ seq: number | null }>(`SELECT seq FROM reports WHERE project = $1 AND branch = $2 AND builder = $3 AND verdict = 'success'
          AND seq < $4 ORDER BY received_at DESC, id DESC LIMIT 1`, [suggestion.project, suggestion.branch, builder, suggestion.seq])).rows[0]?.seq;
        since.set(builder, green == null ? [] : (await c.query<{ revision: string }>(`SELECT revision FROM suggestions WHERE seq > $1 AND seq <= $2 AND project = $3
          AND branch = $4 AND revision IS NOT NULL GROUP BY revision ORDER BY max(seq) DESC LIMIT $5`, [green, suggestion.seq, suggestion.project, suggestion.branch, SINCE_GREEN_AHEAD])).rows.map((r) => r.revision));
      }
      const planned = this.planner({
        suggestion, judged: await this.judge(c, report), ...(complete ? { complete } : {}),
        sinceGreen: (builder, limit) => (since.get(builder) ?? []).slice(0, limit),
      });
      await this.add(c, report.seq, planned, now);
    }
  }

  private async judge(c: pg.PoolClient, report: StoredReport): Promise<JudgedReport> {
    const last = (await c.query<{ verdict: string }>(`SELECT verdict FROM reports WHERE project = $1 AND branch = $2 AND builder = $3
      AND (received_at, id) < ($4, $5) AND verdict IN ('success', 'failure', 'timeout') ORDER BY received_at DESC, id DESC LIMIT 1`,
    [report.project, report.branch, report.builder, report.receivedAt, report.id])).rows[0];
    return { report, ...(last ? { lastVerdict: last.verdict as Verdict } : {}) };
  }

  async due(now: number, limit: number): Promise<DueNotification[]> {
    // Not due while an entry of its suggestion and sink planned before it (a smaller `ord`) is pending.
    const rows = (await this.pool.query<NotificationRow>(`SELECT * FROM notifications n WHERE n.state = 'pending' AND n.next_at <= $1
      AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.state = 'pending' AND e.seq = n.seq AND e.sink = n.sink AND e.ord < n.ord)
      ORDER BY n.next_at, n.created_at, n.ord LIMIT $2`, [now, limit])).rows;
    return rows.map((r) => ({ ...rowToEntry(r), payload: r.payload }));
  }

  async nextDue(): Promise<number | undefined> {
    return (await this.pool.query<{ at: number | null }>("SELECT min(next_at) AS at FROM notifications WHERE state = 'pending'")).rows[0]?.at ?? undefined;
  }

  async sent(id: string, at: number): Promise<void> {
    await this.pool.query("UPDATE notifications SET state = 'sent', attempts = attempts + 1, done_at = $1 WHERE id = $2 AND state = 'pending'", [at, id]);
  }

  async failed(id: string, error: string, at: number, next: { nextAt: number } | { giveUp: true }): Promise<void> {
    const e = error.slice(0, MAX_ERROR_CHARS);
    if ('giveUp' in next) await this.pool.query("UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = $1, done_at = $2 WHERE id = $3 AND state = 'pending'", [e, at, id]);
    else await this.pool.query("UPDATE notifications SET attempts = attempts + 1, last_error = $1, next_at = $2 WHERE id = $3 AND state = 'pending'", [e, next.nextAt, id]);
  }

  async recent(limit: number): Promise<NotificationEntry[]> {
    return (await this.pool.query<NotificationRow>('SELECT * FROM notifications ORDER BY created_at DESC, id DESC LIMIT $1', [limit])).rows.map(rowToEntry);
  }
}
