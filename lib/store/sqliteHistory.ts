// The read side of the SQLite record: history for pages, the API and the `simplebb` command, newest first, a page
// at a time, on indexes made for it (migration 3), never a scan of every report's output.
import type { Labels } from '../protocol/labels.js';
import type Database from 'better-sqlite3';
import type { Cell, DeliveryView, History, HookCursor, ReportQuery, ReportSummary, SuggestionQuery, SuggestionView } from './history.js';
import { deliveriesBySeq, rowToHook, rowToLog, rowToReport, rowToSuggestion, rowToSummary, SUMMARY_COLUMNS, type DeliveryRow, type HookRow, type LogRow, type ReportRow, type SuggestionRow } from './sqliteRows.js';
import type { HookDelivery, LogEntry, StoredReport, StoredSuggestion } from './store.js';

type Arg = string | number;

/** A suggestion as the history shows it: without the suggester's mail address (`--notify`), which API and pages need not give away. */
function shown(r: SuggestionRow): StoredSuggestion {
  const { notify: _notify, ...s } = rowToSuggestion(r);
  return s;
}

export class SqliteHistory implements History {
  /** Prepared statements by their SQL: a query's shape depends on its filters, and there are few shapes. */
  private readonly statements = new Map<string, Database.Statement<Arg[]>>();

  constructor(private readonly db: Database.Database) {}

  async reports(q: ReportQuery): Promise<ReportSummary[]> {
    const where: string[] = [];
    const args: Arg[] = [];
    // The newest outcome per cell is a table of its own (kept in the commit of each report): filtered and ordered
    // on its own columns and indexes, then joined, so a page costs its rows, not a sort of every cell.
    const cells = q.latest || q.failing;
    const t = cells ? 'l' : 'r';
    const eq = (column: string, value: string | undefined, table = t): void => {
      if (value === undefined) return;
      where.push(`${table}.${column} = ?`);
      args.push(value);
    };
    eq('project', q.project);
    eq('branch', q.branch);
    eq('builder', q.builder);
    eq('verdict', q.verdict, 'r');
    if (q.failing) where.push(`r.verdict IN ('failure', 'timeout')`);
    // Not indexed: read in received order until a page is full (label names hold no '"', so the JSON path needs no escaping).
    if (q.label) { where.push('json_extract(r.labels, ?) = ?'); args.push(`$."${q.label[0]}"`, q.label[1]); }
    if (q.since !== undefined) { where.push(`${t}.received_at >= ?`); args.push(q.since); }
    if (q.until !== undefined) { where.push(`${t}.received_at <= ?`); args.push(q.until); }
    if (q.after) {
      where.push(`(${t}.received_at, ${t}.id, ${t}.builder) < (?, ?, ?)`);
      args.push(q.after.receivedAt, q.after.id, q.after.builder);
    }
    const from = cells ? 'latest l JOIN reports r ON r.builder = l.builder AND r.id = l.id' : 'reports r';
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${t}.received_at DESC, ${t}.id DESC, ${t}.builder DESC LIMIT ?`;
    args.push(q.limit);
    return (this.prepared(sql).all(...args) as Array<Omit<ReportRow, 'output'>>).map(rowToSummary);
  }

  async cells(limit: number): Promise<Cell[]> {
    return (this.prepared('SELECT project, branch, builder, id, verdict, received_at FROM latest ORDER BY received_at DESC, id DESC, builder DESC LIMIT ?')
      .all(limit) as Array<Omit<Cell, 'receivedAt'> & { received_at: number }>).map(({ received_at, ...c }) => ({ ...c, receivedAt: received_at }));
  }

  async report(id: string, builder: string): Promise<StoredReport | undefined> {
    const row = this.prepared('SELECT * FROM reports WHERE id = ? AND builder = ?').get(id, builder) as ReportRow | undefined;
    return row ? rowToReport(row) : undefined;
  }

  async log(id: string, builder: string): Promise<LogEntry | undefined> {
    const row = this.prepared('SELECT * FROM logs WHERE builder = ? AND id = ?').get(builder, id) as LogRow | undefined;
    return row ? rowToLog(row) : undefined;
  }

  async suggestions(q: SuggestionQuery): Promise<SuggestionView[]> {
    const where: string[] = [];
    const args: Arg[] = [];
    if (q.project !== undefined) { where.push('s.project = ?'); args.push(q.project); }
    if (q.branch !== undefined) { where.push('s.branch = ?'); args.push(q.branch); }
    if (q.builder !== undefined) { where.push('EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = s.seq AND d.builder = ?)'); args.push(q.builder); }
    if (q.verdict !== undefined) { where.push('EXISTS (SELECT 1 FROM reports r WHERE r.seq = s.seq AND r.verdict = ?)'); args.push(q.verdict); }
    if (q.since !== undefined) { where.push('s.created_at >= ?'); args.push(q.since); }
    if (q.until !== undefined) { where.push('s.created_at <= ?'); args.push(q.until); }
    if (q.beforeSeq !== undefined) { where.push('s.seq < ?'); args.push(q.beforeSeq); }
    const sql = `SELECT s.* FROM suggestions s${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY s.seq DESC LIMIT ?`;
    args.push(q.limit);
    const rows = this.prepared(sql).all(...args) as SuggestionRow[];
    if (!rows.length) return [];
    const parts = this.deliveriesOf(rows.map((r) => r.seq));
    return rows.map((r) => ({ ...shown(r), deliveries: parts.get(r.seq) ?? [] }));
  }

  async suggestionView(id: string): Promise<SuggestionView | undefined> {
    const row = this.prepared('SELECT * FROM suggestions WHERE id = ?').get(id) as SuggestionRow | undefined;
    if (!row) return undefined;
    return { ...shown(row), deliveries: this.deliveriesOf([row.seq]).get(row.seq) ?? [] };
  }

  async builderNames(): Promise<Array<{ name: string; lastSeen: number; labels?: Labels }>> {
    return (this.prepared('SELECT name, last_seen, labels FROM builders ORDER BY name').all() as Array<{ name: string; last_seen: number; labels: string | null }>)
      .map((b) => ({ name: b.name, lastSeen: b.last_seen, ...(b.labels ? { labels: JSON.parse(b.labels) as Labels } : {}) }));
  }

  async hookDeliveries(limit: number, after?: HookCursor): Promise<HookDelivery[]> {
    const order = 'ORDER BY received_at DESC, forge DESC, delivery DESC LIMIT ?';
    const rows = (after === undefined
      ? this.prepared(`SELECT * FROM hooks ${order}`).all(limit)
      : this.prepared(`SELECT * FROM hooks WHERE (received_at, forge, delivery) < (?, ?, ?) ${order}`).all(after.receivedAt, after.forge, after.delivery, limit)) as HookRow[];
    return rows.map(rowToHook);
  }

  async bytes(): Promise<number> {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    return pages * (this.db.pragma('page_size', { simple: true }) as number);
  }

  /** Every builder's part in these suggestions, with the verdict of each reported one, by place in the log. */
  private deliveriesOf(seqs: number[]): Map<number, DeliveryView[]> {
    // One statement for any number of places: the list goes in as one JSON parameter.
    const rows = this.prepared(`SELECT d.seq, d.builder, d.state, d.at, r.verdict, r.exit_code, r.duration_ms
      FROM deliveries d LEFT JOIN reports r ON r.seq = d.seq AND r.builder = d.builder
      WHERE d.seq IN (SELECT value FROM json_each(?)) ORDER BY d.seq, d.builder`).all(JSON.stringify(seqs)) as DeliveryRow[];
    return deliveriesBySeq(rows);
  }

  private prepared(sql: string): Database.Statement<Arg[]> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<Arg[]>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
