// The record in SQLite (WAL, full fsync on commit): the default store, one file beside the master, no server to run.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, makeDir, reason } from '../common/files.js';
import { OUTCOME_VERDICTS, type History } from './history.js';
import { migrate } from './migrations.js';
import { SqliteHistory } from './sqliteHistory.js';
import type { Labels } from '../protocol/labels.js';
import { SqliteOutbox } from './sqliteOutbox.js';
import { rowToHook, rowToLog, rowToReport, rowToSuggestion, type HookRow, type LogRow, type ReportRow, type SuggestionRow } from './sqliteRows.js';
import {
  isOpen, type AcceptPlanner, type NotificationPlanner, type Outbox, type BuilderRecord, type LogEntry, type PendingHook, type DeliveryChange, type DeliveryState, type OpenDelivery, type OpenState, type Owed, type QueuedOrder, type ReportKey, type Store,
  type StoredReport, type StoredSuggestion, type StoreOutcome, type Writes, type Written,
} from './store.js';

/** Verdicts the master gives for a builder (`lost`, `superseded`, `refused`); a real report from that builder replaces them. */
const PROVISIONAL = new Set(['lost', 'superseded', 'refused']);
const OUTCOMES: ReadonlySet<string> = new Set(OUTCOME_VERDICTS);

/** SQL for a delivery state's rank (see DELIVERY_RANK): a change never moves a delivery backwards. */
const rank = (col: string): string => `(CASE ${col} WHEN 'offered' THEN 0 WHEN 'received' THEN 1 WHEN 'started' THEN 2 ELSE 3 END)`;

/** A report row written with `verb` (INSERT OR IGNORE to add one, INSERT OR REPLACE to replace a provisional one). */
const reportSql = (verb: string): string => `${verb} INTO reports (builder, id, seq, project, branch, revision, exit_code, signal, verdict,
  message, started_at, duration_ms, uname, node, output, output_bytes, output_cut, received_at, logged, labels)
  VALUES (@builder, @id, @seq, @project, @branch, @revision, @exitCode, @signal, @verdict, @message, @startedAt, @durationMs,
  @uname, @node, @output, @outputBytes, @outputCut, @receivedAt, 0, @labels)`;

/** One project × branch × builder of the `latest` row `c`, for a subquery on reports `r` (the reports_cell index). */
const CELL = 'r.project = c.project AND r.branch = c.branch AND r.builder = c.builder';
const RED = "('failure', 'timeout')";
/**
 * Logs retention may remove: finished before ?, and not one of a cell's kept three (its last success, its last
 * failure, the first failure of its current red streak), each found by an index range of that cell's reports.
 */
const EXPIRED_LOGS = `
  WITH keep(k) AS (
    SELECT c.builder || char(0) || (SELECT r.id FROM reports r WHERE ${CELL} AND r.verdict = 'success' ORDER BY r.received_at DESC, r.id DESC LIMIT 1) FROM latest c
    UNION SELECT c.builder || char(0) || (SELECT r.id FROM reports r WHERE ${CELL} AND r.verdict IN ${RED} ORDER BY r.received_at DESC, r.id DESC LIMIT 1) FROM latest c
    UNION SELECT c.builder || char(0) || (SELECT r.id FROM reports r WHERE ${CELL} AND r.verdict IN ${RED}
      AND r.received_at > coalesce((SELECT max(r.received_at) FROM reports r WHERE ${CELL} AND r.verdict = 'success'), -1)
      ORDER BY r.received_at, r.id LIMIT 1) FROM latest c WHERE c.verdict IN ${RED})
  SELECT * FROM logs l WHERE l.finished_at < ? AND l.builder || char(0) || l.id NOT IN (SELECT k FROM keep WHERE k IS NOT NULL)
  ORDER BY l.finished_at LIMIT ?`;

/** Delivery rows written per statement. */
const DELIVERY_ROWS = 100;

/** An upsert of `n` delivery rows that moves each only forward. */
const deliverySql = (n: number): string => `INSERT INTO deliveries (seq, builder, state, at, attempt) VALUES ${Array(n).fill('(?, ?, ?, ?, ?)').join(', ')}
  ON CONFLICT (seq, builder) DO UPDATE SET state = excluded.state, at = excluded.at WHERE ${rank('excluded.state')} > ${rank('deliveries.state')}`;

export class SqliteStore implements Store {
  readonly id: string;
  readonly history: History;
  readonly outbox: Outbox;
  private readonly sqliteOutbox: SqliteOutbox;
  private readonly db: Database.Database;
  private readonly stmts;
  /** The `synchronous` setting now in force: a commit of open deliveries alone runs with NORMAL (see commit()). */
  private syncNow: 'FULL' | 'NORMAL' | 'OFF';

  /** `synchronous` is FULL in production; the benchmarks measure NORMAL and OFF beside it to show what durability costs. */
  constructor(dir: string, private readonly synchronous: 'FULL' | 'NORMAL' | 'OFF' = 'FULL') {
    makeDir(dir, 'the data dir');
    const file = join(dir, 'simplebb.db');
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
    } catch (err) {
      throw new ConfigError(`cannot open the record ${file}: ${reason(err)}`);
    }
    // The record holds build output: readable by the master's user only, whatever the umask or an older file says.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      try { chmodSync(f, 0o600); } catch { /* not there yet */ }
    }
    this.db.pragma(`synchronous = ${synchronous}`);
    this.syncNow = synchronous;
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db, () => randomBytes(16).toString('hex'));
    for (const f of [`${file}-wal`, `${file}-shm`]) {
      try { chmodSync(f, 0o600); } catch { /* not there yet */ }
    }
    this.id = (this.db.prepare('SELECT value FROM meta WHERE key = ?').get('store-id') as { value: string }).value;
    this.history = new SqliteHistory(this.db);
    this.outbox = this.sqliteOutbox = new SqliteOutbox(this.db, (durable) => this.syncFor(durable));
    this.stmts = {
      addSuggestion: this.db.prepare<[string, string, string, string | null, string, number, string | null, string | null, number | null, string | null, string | null], never>(
        'INSERT INTO suggestions (id, project, branch, revision, source, created_at, selector, notify, one_retries, rerun_of, builder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      enqueue: this.db.prepare<[number, number, string | null, string], never>(`INSERT INTO queue (id, seq, attempt, queued_at, after)
        SELECT id, seq, ?, ?, ? FROM suggestions WHERE id = ? ON CONFLICT (id) DO UPDATE SET attempt = excluded.attempt, queued_at = excluded.queued_at, after = excluded.after`),
      dequeue: this.db.prepare<[string], never>('DELETE FROM queue WHERE id = ?'),
      queued: this.db.prepare<[], SuggestionRow & { attempt: number; queued_at: number; tried: string | null }>(`
        SELECT s.*, q.attempt, q.queued_at, (SELECT json_group_array(r.builder) FROM reports r WHERE r.id = q.id) AS tried
        FROM queue q JOIN suggestions s ON s.seq = q.seq ORDER BY q.queued_at, q.seq`),
      delivery: this.db.prepare<Array<number | string>, never>(deliverySql(1)),
      deliveries: this.db.prepare<Array<number | string>, never>(deliverySql(DELIVERY_ROWS)),
      verdictOf: this.db.prepare<[string, string], { verdict: string }>('SELECT verdict FROM reports WHERE builder = ? AND id = ?'),
      insertReport: this.db.prepare(reportSql('INSERT OR IGNORE')),
      replaceReport: this.db.prepare(reportSql('INSERT OR REPLACE')),
      builder: this.db.prepare<[string, string | null, number, string | null], never>(`INSERT INTO builders (name, instance, last_seen, labels) VALUES (?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET instance = coalesce(excluded.instance, builders.instance), last_seen = max(builders.last_seen, excluded.last_seen),
        labels = coalesce(excluded.labels, builders.labels)`),
      markLogged: this.db.prepare<[string, string], never>('UPDATE reports SET logged = 1 WHERE builder = ? AND id = ?'),
      unlogged: this.db.prepare<[], ReportRow>('SELECT * FROM reports WHERE logged = 0 ORDER BY received_at'),
      suggestion: this.db.prepare<[string], SuggestionRow>('SELECT * FROM suggestions WHERE id = ?'),
      owed: this.db.prepare<[number, number, string, string], SuggestionRow>(`
        SELECT s.* FROM suggestions s
        WHERE s.seq > ? AND s.created_at >= ? AND s.one_retries IS NULL
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = s.seq AND d.builder = ? AND d.state IN ('reported', 'skipped'))
          AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.builder = ? AND r.id = s.id)
        ORDER BY s.seq`),
      latest: this.db.prepare<[string, string, string, string, number, string], never>(`INSERT INTO latest (project, branch, builder, id, received_at, verdict)
        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project, branch, builder) DO UPDATE SET id = excluded.id, received_at = excluded.received_at, verdict = excluded.verdict
        WHERE excluded.received_at >= latest.received_at`),
      delivered: this.db.prepare<[number, string], { one: number }>('SELECT 1 AS one FROM deliveries WHERE seq = ? AND builder = ?'),
      head: this.db.prepare<[], { head: number | null }>('SELECT max(seq) AS head FROM suggestions'),
      open: this.db.prepare<[], SuggestionRow & { builder: string; state: string; at: number; attempt: number }>(`
        SELECT s.*, d.builder, d.state, d.at, d.attempt FROM deliveries d JOIN suggestions s ON s.seq = d.seq
        WHERE d.state IN ('offered', 'received', 'started') ORDER BY d.seq`),
      builders: this.db.prepare<[], { name: string; instance: string | null; last_seen: number; labels: string | null }>('SELECT * FROM builders'),
      noteLog: this.db.prepare<[string, string, number, number, number, number, number], never>(`INSERT INTO logs (builder, id, bytes, stored_bytes, cut, missing, finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (builder, id) DO UPDATE SET bytes = excluded.bytes, stored_bytes = excluded.stored_bytes,
        cut = excluded.cut, missing = excluded.missing, finished_at = excluded.finished_at`),
      expiredLogs: this.db.prepare<[number, number], LogRow>(EXPIRED_LOGS),
      forgetLog: this.db.prepare<[string, string], never>('DELETE FROM logs WHERE builder = ? AND id = ?'),
      keepHook: this.db.prepare<[string, string, number, string, string, Buffer], never>(`INSERT OR IGNORE INTO hooks (forge, delivery, received_at, address, event, body, state)
        VALUES (?, ?, ?, ?, ?, ?, 'pending')`),
      pendingHooks: this.db.prepare<[], HookRow>("SELECT * FROM hooks WHERE state = 'pending' ORDER BY received_at"),
      hookDone: this.db.prepare<[string, string, number, string | null, string, string], never>(`UPDATE hooks SET state = ?, body = NULL, outcome = ?,
        done_at = ?, suggestion = ? WHERE forge = ? AND delivery = ?`),
      suggestionFrom: this.db.prepare<[string], SuggestionRow>('SELECT * FROM suggestions WHERE source = ? ORDER BY seq LIMIT 1'),
    };
  }

  async commit(w: Writes): Promise<Written> {
    // A delivery that is still open (offered, received, started) is a view: after a power loss the builder's cursor
    // and inbox decide what it is owed and the open delivery ends as it would have. A commit of nothing else skips
    // the fsync (WAL with synchronous=NORMAL: it survives a crash of the master, and the next full commit syncs it
    // with its own). Suggestions, reports, final deliveries and builders are synced before anyone is told.
    this.syncFor(w.suggestions.length > 0 || w.reports.length > 0 || w.builders.length > 0 || w.queue.length > 0 || w.deliveries.some((d) => !isOpen(d.state)));
    return this.db.transaction((): Written => {
      const offers: DeliveryChange[] = [];
      const accepted: Array<{ suggestion: StoredSuggestion; builders: string[] }> = [];
      const suggestions = w.suggestions.map(({ offeredTo, ...s }): StoredSuggestion => {
        const seq = Number(this.stmts.addSuggestion.run(s.id, s.project, s.branch, s.revision ?? null, s.from, s.createdAt, s.on ?? null, s.notify ?? null,
          s.one ? s.one.retries : null, s.rerunOf ?? null, s.builder ?? null).lastInsertRowid);
        for (const builder of offeredTo ?? []) offers.push({ seq, builder, state: 'offered', at: s.createdAt });
        accepted.push({ suggestion: { ...s, seq }, builders: offeredTo ?? [] });
        return { ...s, seq };
      });
      // What accepting them notifies (pending statuses) goes to the outbox before anything a report of theirs plans.
      this.sqliteOutbox.accept(accepted, Date.now());
      const reports = w.reports.map((r) => this.storeReport(r));
      // A stored report's delivery is reported, in the same commit.
      this.storeDeliveries([...offers, ...w.deliveries, ...w.reports.filter((_, i) => reports[i] !== 'duplicate')
        .map((r) => ({ seq: r.seq, builder: r.builder, state: 'reported' as DeliveryState, at: r.receivedAt }))]);
      for (const q of w.queue) {
        if ('taken' in q) this.stmts.dequeue.run(q.id);
        else this.stmts.enqueue.run(q.attempt, q.at, q.after ?? null, q.id);
      }
      for (const b of w.builders) this.stmts.builder.run(b.name, b.instance ?? null, b.lastSeen, b.labels ? JSON.stringify(b.labels) : null);
      // What the stored reports notify goes to the outbox in this transaction: a crash keeps both or neither.
      this.sqliteOutbox.plan(w.reports.filter((_, i) => reports[i] !== 'duplicate'), Date.now());
      return { suggestions, reports };
    })();
  }

  /** A delivery row costs about 1 µs in a statement of DELIVERY_ROWS rows, several times less than one statement each. */
  private storeDeliveries(list: Writes['deliveries']): void {
    let i = 0;
    for (; i + DELIVERY_ROWS <= list.length; i += DELIVERY_ROWS) {
      const args: Array<number | string> = [];
      for (let k = i; k < i + DELIVERY_ROWS; k++) args.push(list[k]!.seq, list[k]!.builder, list[k]!.state, list[k]!.at, list[k]!.attempt ?? 1);
      this.stmts.deliveries.run(...args);
    }
    for (; i < list.length; i++) this.stmts.delivery.run(list[i]!.seq, list[i]!.builder, list[i]!.state, list[i]!.at, list[i]!.attempt ?? 1);
  }

  /** Inserts a report; on a key already stored, replaces only a provisional verdict by a real one (one statement when new). */
  private storeReport(r: StoredReport): StoreOutcome {
    const row = {
      builder: r.builder, id: r.id, seq: r.seq, project: r.project, branch: r.branch, revision: r.revision ?? null,
      exitCode: r.exitCode, signal: r.signal ?? null, verdict: r.verdict, message: r.message ?? null,
      startedAt: r.startedAt ?? null, durationMs: r.durationMs, uname: JSON.stringify(r.uname), node: r.node,
      output: r.output, outputBytes: r.outputBytes, outputCut: r.outputCut, receivedAt: r.receivedAt,
      labels: r.labels ? JSON.stringify(r.labels) : null,
    };
    if (this.stmts.insertReport.run(row).changes === 1) {
      this.noteLatest(r);
      return 'new';
    }
    const prior = this.stmts.verdictOf.get(r.builder, r.id);
    if (!prior || !PROVISIONAL.has(prior.verdict) || PROVISIONAL.has(r.verdict)) return 'duplicate';
    this.stmts.replaceReport.run(row);
    this.noteLatest(r);
    return 'replaced';
  }

  /** A build outcome becomes its project × branch × builder's newest unless a newer one is there already. */
  private noteLatest(r: StoredReport): void {
    if (OUTCOMES.has(r.verdict)) this.stmts.latest.run(r.project, r.branch, r.builder, r.id, r.receivedAt, r.verdict);
  }


  async suggestion(id: string): Promise<StoredSuggestion | undefined> {
    const r = this.stmts.suggestion.get(id);
    return r ? rowToSuggestion(r) : undefined;
  }

  async delivered(seq: number, builder: string): Promise<boolean> {
    return this.stmts.delivered.get(seq, builder) !== undefined;
  }

  async owed(builder: string, afterSeq: number, since: number): Promise<Owed> {
    return this.db.transaction((): Owed => ({
      suggestions: this.stmts.owed.all(afterSeq, since, builder, builder).map(rowToSuggestion),
      head: this.stmts.head.get()?.head ?? 0,
    }))();
  }

  async openDeliveries(): Promise<OpenDelivery[]> {
    return this.stmts.open.all().map((r) => ({ suggestion: rowToSuggestion(r), builder: r.builder, state: r.state as OpenState, at: r.at, attempt: r.attempt }));
  }

  async queued(): Promise<QueuedOrder[]> {
    return this.stmts.queued.all().map((r) => ({
      suggestion: rowToSuggestion(r), attempt: r.attempt, queuedAt: r.queued_at, tried: r.tried ? JSON.parse(r.tried) as string[] : [],
    }));
  }

  async builders(): Promise<BuilderRecord[]> {
    return this.stmts.builders.all().map((b) => ({
      name: b.name, ...(b.instance ? { instance: b.instance } : {}), lastSeen: b.last_seen, ...(b.labels ? { labels: JSON.parse(b.labels) as Labels } : {}),
    }));
  }

  async unlogged(): Promise<StoredReport[]> {
    return this.stmts.unlogged.all().map(rowToReport);
  }

  async markLogged(keys: ReportKey[]): Promise<void> {
    // Not fsynced: the log file it vouches for is not either (a crash of the master keeps both; a power loss may
    // log a report again at the next start, never lose its line).
    this.syncFor(false);
    this.db.transaction(() => { for (const k of keys) this.stmts.markLogged.run(k.builder, k.id); })();
  }

  async noteLog(e: LogEntry): Promise<void> {
    // Not fsynced: a log noted and then lost by a power loss is found again on disk and noted at the next start.
    this.syncFor(false);
    this.stmts.noteLog.run(e.builder, e.id, e.bytes, e.storedBytes, e.cut, e.missing, e.finishedAt);
  }

  async expiredLogs(before: number, limit: number): Promise<LogEntry[]> {
    return this.stmts.expiredLogs.all(before, limit).map(rowToLog);
  }

  async forgetLogs(keys: ReportKey[]): Promise<void> {
    this.syncFor(false);
    this.db.transaction(() => { for (const k of keys) this.stmts.forgetLog.run(k.builder, k.id); })();
  }

  async keepHook(h: PendingHook): Promise<'new' | 'duplicate'> {
    this.syncFor(true);
    return this.stmts.keepHook.run(h.forge, h.delivery, h.receivedAt, h.address, h.event, h.body).changes === 1 ? 'new' : 'duplicate';
  }

  async pendingHooks(): Promise<PendingHook[]> {
    return this.stmts.pendingHooks.all().map((r) => ({ ...rowToHook(r), body: r.body ?? Buffer.alloc(0) }));
  }

  async hookDone(forge: string, delivery: string, o: { state: 'done' | 'failed'; outcome: string; suggestion?: string; at: number }): Promise<void> {
    // Not fsynced: a delivery processed again after a power loss finds its suggestion by source and makes none twice.
    this.syncFor(false);
    this.stmts.hookDone.run(o.state, o.outcome, o.at, o.suggestion ?? null, forge, delivery);
  }

  async suggestionFrom(source: string): Promise<StoredSuggestion | undefined> {
    const r = this.stmts.suggestionFrom.get(source);
    return r ? rowToSuggestion(r) : undefined;
  }

  planNotifications(planner: NotificationPlanner, accepted?: AcceptPlanner): void {
    this.sqliteOutbox.setPlanner(planner, accepted);
  }

  /** Sets `synchronous` for the next commit: the configured setting when it must be durable, else at most NORMAL. */
  private syncFor(durable: boolean): void {
    if (this.synchronous !== 'FULL') return;
    const sync = durable ? 'FULL' : 'NORMAL';
    if (sync === this.syncNow) return;
    this.db.pragma(`synchronous = ${sync}`);
    this.syncNow = sync;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
