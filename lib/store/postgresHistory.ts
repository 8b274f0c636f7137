// The read side of the PostgreSQL record: the same history as SQLite's, newest first, a page at a time, on the same indexes.
import type pg from 'pg';
import type { Labels } from '../protocol/labels.js';
import type { Cell, DeliveryView, History, HookCursor, ReportQuery, ReportSummary, SuggestionQuery, SuggestionView } from './history.js';
import { Params } from './postgresSql.js';
import { deliveriesBySeq, rowToHook, rowToLog, rowToReport, rowToSuggestion, rowToSummary, SUMMARY_COLUMNS, type DeliveryRow, type HookRow, type LogRow, type ReportRow, type SuggestionRow } from './sqliteRows.js';
import type { HookDelivery, LogEntry, StoredReport, StoredSuggestion } from './store.js';

/** A suggestion as the history shows it: without the suggester's mail address. */
function shown(r: SuggestionRow): StoredSuggestion {
  const { notify: _notify, ...s } = rowToSuggestion(r);
  return s;
}

export class PostgresHistory implements History {
  constructor(private readonly pool: pg.Pool) {}

  async reports(q: ReportQuery): Promise<ReportSummary[]> {
    const where: string[] = [];
    const p = new Params();
    const cells = q.latest || q.failing;
    const t = cells ? 'l' : 'r';
    const eq = (column: string, value: string | undefined, table = t): void => {
      if (value !== undefined) where.push(`${table}.${column} = ${p.add(value)}`);
    };
    eq('project', q.project);
    eq('branch', q.branch);
    eq('builder', q.builder);
    eq('verdict', q.verdict, 'r');
    if (q.failing) where.push(`r.verdict IN ('failure', 'timeout')`);
    if (q.label) where.push(`(r.labels::jsonb ->> ${p.add(q.label[0])}) = ${p.add(q.label[1])}`);
    if (q.since !== undefined) where.push(`${t}.received_at >= ${p.add(q.since)}`);
    if (q.until !== undefined) where.push(`${t}.received_at <= ${p.add(q.until)}`);
    if (q.after) where.push(`(${t}.received_at, ${t}.id, ${t}.builder) < (${p.add(q.after.receivedAt)}, ${p.add(q.after.id)}, ${p.add(q.after.builder)})`);
    const from = cells ? 'latest l JOIN reports r ON r.builder = l.builder AND r.id = l.id' : 'reports r';
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${t}.received_at DESC, ${t}.id DESC, ${t}.builder DESC LIMIT ${p.add(q.limit)}`;
    return (await this.pool.query<Omit<ReportRow, 'output'>>(sql, p.values)).rows.map(rowToSummary);
  }

  async cells(limit: number): Promise<Cell[]> {
    const rows = (await this.pool.query<Omit<Cell, 'receivedAt'> & { received_at: number }>(
      'SELECT project, branch, builder, id, verdict, received_at FROM latest ORDER BY received_at DESC, id DESC, builder DESC LIMIT $1', [limit])).rows;
    return rows.map(({ received_at, ...c }) => ({ ...c, receivedAt: received_at }));
  }

  async report(id: string, builder: string): Promise<StoredReport | undefined> {
    const row = (await this.pool.query<ReportRow>('SELECT * FROM reports WHERE id = $1 AND builder = $2', [id, builder])).rows[0];
    return row ? rowToReport(row) : undefined;
  }

  async log(id: string, builder: string): Promise<LogEntry | undefined> {
    const row = (await this.pool.query<LogRow>('SELECT * FROM logs WHERE builder = $1 AND id = $2', [builder, id])).rows[0];
    return row ? rowToLog(row) : undefined;
  }

  async suggestions(q: SuggestionQuery): Promise<SuggestionView[]> {
    const where: string[] = [];
    const p = new Params();
    if (q.project !== undefined) where.push(`s.project = ${p.add(q.project)}`);
    if (q.branch !== undefined) where.push(`s.branch = ${p.add(q.branch)}`);
    if (q.builder !== undefined) where.push(`EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = s.seq AND d.builder = ${p.add(q.builder)})`);
    if (q.verdict !== undefined) where.push(`EXISTS (SELECT 1 FROM reports r WHERE r.seq = s.seq AND r.verdict = ${p.add(q.verdict)})`);
    if (q.since !== undefined) where.push(`s.created_at >= ${p.add(q.since)}`);
    if (q.until !== undefined) where.push(`s.created_at <= ${p.add(q.until)}`);
    if (q.beforeSeq !== undefined) where.push(`s.seq < ${p.add(q.beforeSeq)}`);
    const sql = `SELECT s.* FROM suggestions s${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY s.seq DESC LIMIT ${p.add(q.limit)}`;
    const rows = (await this.pool.query<SuggestionRow>(sql, p.values)).rows;
    if (!rows.length) return [];
    const parts = await this.deliveriesOf(rows.map((r) => r.seq));
    return rows.map((r) => ({ ...shown(r), deliveries: parts.get(r.seq) ?? [] }));
  }

  async suggestionView(id: string): Promise<SuggestionView | undefined> {
    const row = (await this.pool.query<SuggestionRow>('SELECT * FROM suggestions WHERE id = $1', [id])).rows[0];
    if (!row) return undefined;
    return { ...shown(row), deliveries: (await this.deliveriesOf([row.seq])).get(row.seq) ?? [] };
  }

  async builderNames(): Promise<Array<{ name: string; lastSeen: number; labels?: Labels }>> {
    const rows = (await this.pool.query<{ name: string; last_seen: number; labels: string | null }>('SELECT name, last_seen, labels FROM builders ORDER BY name')).rows;
    return rows.map((b) => ({ name: b.name, lastSeen: b.last_seen, ...(b.labels ? { labels: JSON.parse(b.labels) as Labels } : {}) }));
  }

  async hookDeliveries(limit: number, after?: HookCursor): Promise<HookDelivery[]> {
    const order = 'ORDER BY received_at DESC, forge DESC, delivery DESC';
    const rows = (after === undefined
      ? await this.pool.query<HookRow>(`SELECT * FROM hooks ${order} LIMIT $1`, [limit])
      : await this.pool.query<HookRow>(`SELECT * FROM hooks WHERE (received_at, forge, delivery) < ($1, $2, $3) ${order} LIMIT $4`, [after.receivedAt, after.forge, after.delivery, limit])).rows;
    return rows.map(rowToHook);
  }

  async bytes(): Promise<number> {
    return Number((await this.pool.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]!.n);
  }

  /** Every builder's part in these suggestions, with the verdict of each reported one, by place in the log. */
  private async deliveriesOf(seqs: number[]): Promise<Map<number, DeliveryView[]>> {
    const rows = (await this.pool.query<DeliveryRow>(
      `SELECT d.seq, d.builder, d.state, d.at, r.verdict, r.exit_code, r.duration_ms
      FROM deliveries d LEFT JOIN reports r ON r.seq = d.seq AND r.builder = d.builder
      WHERE d.seq = ANY($1::bigint[]) ORDER BY d.seq, d.builder`, [seqs])).rows;
    return deliveriesBySeq(rows);
  }
}
