// The record on PostgreSQL (`simplebb-masterd --store postgres://…`): the same record as SQLite's, shared by masters, batched per turn.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { ConfigError, reason } from '../common/files.js';
import { OUTCOME_VERDICTS, type History } from './history.js';
import type { Labels } from '../protocol/labels.js';
import { migratePg } from './postgresMigrations.js';
import { PostgresHistory } from './postgresHistory.js';
import { PostgresOutbox } from './postgresOutbox.js';
import { chunks, isConnectionError, Params, valuesList } from './postgresSql.js';
import { rowToHook, rowToLog, rowToReport, rowToSuggestion, type HookRow, type LogRow, type ReportRow, type SuggestionRow } from './sqliteRows.js';
import {
  DELIVERY_RANK, isOpen, type AcceptPlanner, type BuilderRecord, type QueueChange, type QueuedOrder, type DeliveryChange, type LogEntry, type NotificationPlanner, type OpenDelivery, type OpenState,
  type Outbox, type Owed, type PendingHook, type ReportKey, type Store, type StoredReport, type StoredSuggestion, type StoreOutcome, type Writes, type Written,
} from './store.js';

/** Verdicts the master gives for a builder; a real report from that builder replaces them (as in SQLite's store). */
const PROVISIONAL = new Set(['lost', 'superseded', 'refused']);
const OUTCOMES: ReadonlySet<string> = new Set(OUTCOME_VERDICTS);
const rank = (col: string): string => `(CASE ${col} WHEN 'offered' THEN 0 WHEN 'received' THEN 1 WHEN 'started' THEN 2 ELSE 3 END)`;

/** How long a connection attempt may take before the master says the server cannot be reached. */
export const PG_CONNECT_TIMEOUT_MS = 5000;
/** Connections one master holds: commits go one at a time, reads beside them. */
const POOL_SIZE = 8;
/** How long one commit waits and retries while the server is away before it fails (the master then retries or does not acknowledge). */
const COMMIT_RETRY_FOR_MS = 60_000;
/** The first pause between tries while the server is away; it doubles up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;

const REPORT_COLUMNS = ['builder', 'id', 'seq', 'project', 'branch', 'revision', 'exit_code', 'signal', 'verdict', 'message', 'started_at',
  'duration_ms', 'uname', 'node', 'output', 'output_bytes', 'output_cut', 'received_at', 'logged', 'labels'];

/** The reports columns that are not text, for the casts of a VALUES list (whose parameters are text until told). */
const REPORT_TYPES: Readonly<Record<string, string>> = {
  seq: 'bigint', exit_code: 'integer', started_at: 'bigint', duration_ms: 'double precision', output_bytes: 'bigint', output_cut: 'bigint', received_at: 'bigint', logged: 'boolean',
};

/** A query's connection: the pool for reads, a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** BIGINT columns (milliseconds, places in the log) come back as numbers: they stay far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => (oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

interface Pending { writes: Writes; resolve(w: Written): void; reject(e: Error): void }

function reportRow(r: StoredReport): unknown[] {
  return [r.builder, r.id, r.seq, r.project, r.branch, r.revision ?? null, r.exitCode, r.signal ?? null, r.verdict, r.message ?? null,
    r.startedAt ?? null, r.durationMs, JSON.stringify(r.uname), r.node, r.output, r.outputBytes, r.outputCut, r.receivedAt, false,
    r.labels ? JSON.stringify(r.labels) : null];
}

const keyOf = (builder: string, id: string): string => `${builder}\0${id}`;

export class PostgresStore implements Store {
  readonly history: History;
  readonly outbox: Outbox;
  private readonly pgOutbox: PostgresOutbox;
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = false;
  private closed = false;

  private constructor(private readonly pool: pg.Pool, readonly id: string) {
    this.history = new PostgresHistory(pool);
    this.outbox = this.pgOutbox = new PostgresOutbox(pool);
  }

  /** Connects (within PG_CONNECT_TIMEOUT_MS), brings the schema up to date under the advisory lock, and reads the record's id. */
  static async open(url: string, connectTimeoutMs = PG_CONNECT_TIMEOUT_MS): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: connectTimeoutMs, types: TYPES, application_name: 'simplebb-masterd' });
    // An idle connection the server drops is an event, not a crash: the next query takes a new one.
    pool.on('error', () => undefined);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`cannot reach the PostgreSQL store ${redact(url)}: ${reason(err)}`);
    }
    try {
      await migratePg(client, () => randomBytes(16).toString('hex'));
      const id = (await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', ['store-id'])).rows[0]!.value;
      return new PostgresStore(pool, id);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new ConfigError(`cannot set up the PostgreSQL store ${redact(url)}: ${reason(err)}`);
    } finally {
      client.release();
    }
  }

  /** Commits given in one turn of the event loop go in one transaction; while one is written the next batch gathers. */
  commit(writes: Writes): Promise<Written> {
    if (writes.suggestions.length + writes.reports.length + writes.deliveries.length + writes.builders.length + writes.queue.length === 0) {
      return Promise.resolve({ suggestions: [], reports: [] });
    }
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the store is closed'));
      this.pending.push({ writes, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.inFlight || this.pending.length === 0) return;
    this.inFlight = true;
    const batch = this.pending.splice(0);
    try {
      try {
        const done = await this.retrying(() => this.transaction(merge(batch.map((p) => p.writes))));
        let s = 0;
        let r = 0;
        for (const p of batch) {
          p.resolve({ suggestions: done.suggestions.slice(s, s += p.writes.suggestions.length), reports: done.reports.slice(r, r += p.writes.reports.length) });
        }
      } catch (err) {
        // One caller's bad write (a suggestion id used twice) must not fail the others it was batched with.
        if (batch.length === 1 || isConnectionError(err)) for (const p of batch) p.reject(asError(err));
        else for (const p of batch) await this.retrying(() => this.transaction(p.writes)).then(p.resolve, (e: unknown) => p.reject(asError(e)));
      }
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }

  /** Runs `f` again while the server is away (it rolled back: nothing was written), for at most COMMIT_RETRY_FOR_MS. */
  private async retrying<T>(f: () => Promise<T>): Promise<T> {
    const until = Date.now() + COMMIT_RETRY_FOR_MS;
    for (let pause = RETRY_FIRST_MS; ; pause = Math.min(pause * 2, RETRY_MAX_MS)) {
      try {
        return await f();
      } catch (err) {
        if (!(err instanceof Unsent) || this.closed || Date.now() + pause > until) throw err instanceof Unsent ? err.cause : err;
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  /**
   * One transaction. A connection lost before COMMIT was sent rolled everything back: that is thrown as Unsent,
   * to be tried again. One lost during COMMIT may or may not have committed: it fails, and the master does not
   * acknowledge (a builder sends its report again and it is found a duplicate).
   */
  private async transaction(w: Writes): Promise<Written> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw isConnectionError(err) ? new Unsent(err) : err;
    }
    let sentCommit = false;
    try {
      await c.query('BEGIN');
      // Open deliveries alone are views (as in SQLite's store, which skips the fsync for them).
      const durable = w.suggestions.length > 0 || w.reports.length > 0 || w.builders.length > 0 || w.queue.length > 0 || w.deliveries.some((d) => !isOpen(d.state));
      if (!durable) await c.query('SET LOCAL synchronous_commit = off');
      const done = await this.write(c, w);
      sentCommit = true;
      await c.query('COMMIT');
      c.release();
      return done;
    } catch (err) {
      const lost = isConnectionError(err);
      if (!lost) await c.query('ROLLBACK').catch(() => undefined);
      c.release(lost ? asError(err) : undefined);
      throw lost && !sentCommit ? new Unsent(err) : err;
    }
  }

  private async write(c: pg.PoolClient, w: Writes): Promise<Written> {
    const offers: DeliveryChange[] = [];
    let suggestions: StoredSuggestion[] = [];
    if (w.suggestions.length) {
      // The counter row is locked until this transaction ends: another master's suggestions wait, so places have no holes and no twins.
      const last = Number((await c.query<{ last: number }>('UPDATE seq_counter SET last = last + $1 RETURNING last', [w.suggestions.length])).rows[0]!.last);
      const first = last - w.suggestions.length + 1;
      suggestions = w.suggestions.map(({ offeredTo, ...s }, i): StoredSuggestion => {
        for (const builder of offeredTo ?? []) offers.push({ seq: first + i, builder, state: 'offered', at: s.createdAt });
        return { ...s, seq: first + i };
      });
      for (const part of chunks(suggestions, 12)) {
        const p = new Params();
        await c.query(`INSERT INTO suggestions (seq, id, project, branch, revision, source, created_at, selector, notify, one_retries, rerun_of, builder)
          VALUES ${valuesList(p, part.map((s) => [s.seq, s.id, s.project, s.branch, s.revision ?? null, s.from, s.createdAt, s.on ?? null, s.notify ?? null,
          s.one ? s.one.retries : null, s.rerunOf ?? null, s.builder ?? null]))}`, p.values);
      }
      // What accepting them notifies (pending statuses) goes to the outbox before anything a report of theirs plans.
      await this.pgOutbox.accept(c, w.suggestions.map((s, i) => ({ suggestion: suggestions[i]!, builders: s.offeredTo ?? [] })), Date.now());
    }
    const reports = await this.storeReports(c, w.reports);
    const stored = w.reports.filter((_, i) => reports[i] !== 'duplicate');
    await this.storeDeliveries(c, [...offers, ...w.deliveries, ...stored.map((r) => ({ seq: r.seq, builder: r.builder, state: 'reported' as const, at: r.receivedAt }))]);
    await this.storeQueue(c, w.queue);
    await this.storeBuilders(c, w.builders);
    await this.pgOutbox.plan(c, stored, Date.now());
    return { suggestions, reports };
  }

  /** Inserts reports in batches; a key already stored keeps its report unless that was provisional and this one is real. */
  private async storeReports(c: pg.PoolClient, list: StoredReport[]): Promise<StoreOutcome[]> {
    const outcomes: StoreOutcome[] = Array<StoreOutcome>(list.length).fill('duplicate');
    if (!list.length) return outcomes;
    // The first of each key goes in the batch (sorted by key: two masters lock rows in one order); a repeat in the same commit is judged after it.
    const firsts = new Map<string, number>();
    const repeats: number[] = [];
    list.forEach((r, i) => {
      const k = keyOf(r.builder, r.id);
      if (firsts.has(k)) repeats.push(i);
      else firsts.set(k, i);
    });
    const order = [...firsts.values()].sort((a, b) => (keyOf(list[a]!.builder, list[a]!.id) < keyOf(list[b]!.builder, list[b]!.id) ? -1 : 1));
    const inserted = new Set<string>();
    for (const part of chunks(order, REPORT_COLUMNS.length)) {
      const p = new Params();
      const res = await c.query<{ builder: string; id: string }>(`INSERT INTO reports (${REPORT_COLUMNS.join(', ')}) VALUES ${valuesList(p, part.map((i) => reportRow(list[i]!)))}
        ON CONFLICT (builder, id) DO NOTHING RETURNING builder, id`, p.values);
      for (const r of res.rows) inserted.add(keyOf(r.builder, r.id));
    }
    const latest: StoredReport[] = [];
    const conflicts: number[] = [];
    for (const i of order) {
      const r = list[i]!;
      if (inserted.has(keyOf(r.builder, r.id))) {
        outcomes[i] = 'new';
        latest.push(r);
      } else if (!PROVISIONAL.has(r.verdict)) {
        conflicts.push(i);
      }
    }
    for (const i of await this.replaceAll(c, conflicts.map((i) => list[i]!)).then((done) => conflicts.filter((_, k) => done[k]))) {
      outcomes[i] = 'replaced';
      latest.push(list[i]!);
    }
    for (const i of repeats) {
      if (await this.replace(c, list[i]!)) {
        outcomes[i] = 'replaced';
        latest.push(list[i]!);
      }
    }
    await this.noteLatest(c, latest);
    return outcomes;
  }

  /** Replaces, in a few statements, each stored provisional verdict of these keys by its real report; true for each replaced. */
  private async replaceAll(c: pg.PoolClient, list: StoredReport[]): Promise<boolean[]> {
    if (!list.length) return [];
    const priors = new Map((await c.query<{ builder: string; id: string; verdict: string }>(`SELECT builder, id, verdict FROM reports
      WHERE (builder, id) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY builder, id FOR UPDATE`,
    [list.map((r) => r.builder), list.map((r) => r.id)])).rows.map((r) => [keyOf(r.builder, r.id), r.verdict]));
    const done = list.map((r) => PROVISIONAL.has(priors.get(keyOf(r.builder, r.id)) ?? ''));
    const rows = list.filter((_, k) => done[k]);
    const set = REPORT_COLUMNS.filter((col) => col !== 'builder' && col !== 'id').map((col) => `${col} = v.${col}::${REPORT_TYPES[col] ?? 'text'}`).join(', ');
    for (const part of chunks(rows, REPORT_COLUMNS.length)) {
      const p = new Params();
      await c.query(`UPDATE reports SET ${set} FROM (VALUES ${valuesList(p, part.map(reportRow))}) AS v(${REPORT_COLUMNS.join(', ')})
        WHERE reports.builder = v.builder AND reports.id = v.id`, p.values);
    }
    return done;
  }

  /** Replaces a stored provisional verdict by a real report; false (a duplicate) otherwise. */
  private async replace(c: pg.PoolClient, r: StoredReport): Promise<boolean> {
    if (PROVISIONAL.has(r.verdict)) return false;
    const prior = (await c.query<{ verdict: string }>('SELECT verdict FROM reports WHERE builder = $1 AND id = $2 FOR UPDATE', [r.builder, r.id])).rows[0];
    if (!prior || !PROVISIONAL.has(prior.verdict)) return false;
    const p = new Params();
    const values = reportRow(r).map((v) => p.add(v));
    await c.query(`UPDATE reports SET (${REPORT_COLUMNS.join(', ')}) = (${values.join(', ')}) WHERE builder = $1 AND id = $2`, p.values);
    return true;
  }

  /** Each cell's newest build outcome, one row per cell (the last of equal times wins, as applied in order). */
  private async noteLatest(c: pg.PoolClient, list: StoredReport[]): Promise<void> {
    const cells = new Map<string, StoredReport>();
    for (const r of list) {
      if (!OUTCOMES.has(r.verdict)) continue;
      const k = `${r.project}\0${r.branch}\0${r.builder}`;
      const had = cells.get(k);
      if (!had || r.receivedAt >= had.receivedAt) cells.set(k, r);
    }
    const rows = [...cells.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => [r.project, r.branch, r.builder, r.id, r.receivedAt, r.verdict]);
    for (const part of chunks(rows, 6)) {
      const p = new Params();
      await c.query(`INSERT INTO latest (project, branch, builder, id, received_at, verdict) VALUES ${valuesList(p, part)}
        ON CONFLICT (project, branch, builder) DO UPDATE SET id = excluded.id, received_at = excluded.received_at, verdict = excluded.verdict
        WHERE excluded.received_at >= latest.received_at`, p.values);
    }
  }

  /** Delivery changes, one row per key (the first of the highest rank: what applying them in order leaves), only ever forward. */
  private async storeDeliveries(c: pg.PoolClient, list: DeliveryChange[]): Promise<void> {
    const byKey = new Map<string, DeliveryChange>();
    for (const d of list) {
      const k = `${String(d.seq).padStart(16, '0')}\0${d.builder}`;
      const had = byKey.get(k);
      if (!had || DELIVERY_RANK[d.state] > DELIVERY_RANK[had.state]) byKey.set(k, d);
    }
    const rows = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => [d.seq, d.builder, d.state, d.at, d.attempt ?? 1]);
    for (const part of chunks(rows, 5)) {
      const p = new Params();
      await c.query(`INSERT INTO deliveries (seq, builder, state, at, attempt) VALUES ${valuesList(p, part)}
        ON CONFLICT (seq, builder) DO UPDATE SET state = excluded.state, at = excluded.at WHERE ${rank('excluded.state')} > ${rank('deliveries.state')}`, p.values);
    }
  }

  /** The dispatch queue's changes, in order (a suggestion queued, then taken, in one commit ends taken). */
  private async storeQueue(c: pg.PoolClient, list: QueueChange[]): Promise<void> {
    for (const q of list) {
      if ('taken' in q) await c.query('DELETE FROM queue WHERE id = $1', [q.id]);
      else {
        await c.query(`INSERT INTO queue (id, seq, attempt, queued_at, after) SELECT id, seq, $2, $3, $4 FROM suggestions WHERE id = $1
          ON CONFLICT (id) DO UPDATE SET attempt = excluded.attempt, queued_at = excluded.queued_at, after = excluded.after`, [q.id, q.attempt, q.at, q.after ?? null]);
      }
    }
  }

  private async storeBuilders(c: pg.PoolClient, list: BuilderRecord[]): Promise<void> {
    const byName = new Map<string, BuilderRecord>();
    for (const b of list) {
      const had = byName.get(b.name);
      byName.set(b.name, had ? {
        name: b.name, lastSeen: Math.max(had.lastSeen, b.lastSeen),
        ...(b.instance ?? had.instance ? { instance: (b.instance ?? had.instance)! } : {}), ...(b.labels ?? had.labels ? { labels: (b.labels ?? had.labels)! } : {}),
      } : b);
    }
    const rows = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((b) => [b.name, b.instance ?? null, b.lastSeen, b.labels ? JSON.stringify(b.labels) : null]);
    for (const part of chunks(rows, 4)) {
      const p = new Params();
      await c.query(`INSERT INTO builders (name, instance, last_seen, labels) VALUES ${valuesList(p, part)}
        ON CONFLICT (name) DO UPDATE SET instance = coalesce(excluded.instance, builders.instance), last_seen = greatest(builders.last_seen, excluded.last_seen),
        labels = coalesce(excluded.labels, builders.labels)`, p.values);
    }
  }

  async suggestion(id: string): Promise<StoredSuggestion | undefined> {
    const r = (await this.pool.query<SuggestionRow>('SELECT * FROM suggestions WHERE id = $1', [id])).rows[0];
    return r ? rowToSuggestion(r) : undefined;
  }

  async delivered(seq: number, builder: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM deliveries WHERE seq = $1 AND builder = $2', [seq, builder])).rowCount! > 0;
  }

  async owed(builder: string, afterSeq: number, since: number): Promise<Owed> {
    // One statement, so that the head and the list are read from one snapshot.
    const rows = (await this.pool.query<SuggestionRow & { head: number | null }>(`
      WITH h AS (SELECT last AS head FROM seq_counter)
      SELECT s.*, h.head FROM h LEFT JOIN suggestions s ON s.seq > $1 AND s.created_at >= $2 AND s.one_retries IS NULL
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = s.seq AND d.builder = $3 AND d.state IN ('reported', 'skipped'))
        AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.builder = $3 AND r.id = s.id)
      ORDER BY s.seq`, [afterSeq, since, builder])).rows;
    return { suggestions: rows.filter((r) => r.seq !== null).map(rowToSuggestion), head: rows[0]?.head ?? 0 };
  }

  async openDeliveries(): Promise<OpenDelivery[]> {
    const rows = (await this.pool.query<SuggestionRow & { builder: string; state: string; at: number; attempt: number }>(`
      SELECT s.*, d.builder, d.state, d.at, d.attempt FROM deliveries d JOIN suggestions s ON s.seq = d.seq
      WHERE d.state IN ('offered', 'received', 'started') ORDER BY d.seq, d.builder`)).rows;
    return rows.map((r) => ({ suggestion: rowToSuggestion(r), builder: r.builder, state: r.state as OpenState, at: r.at, attempt: r.attempt }));
  }

  async queued(): Promise<QueuedOrder[]> {
    const rows = (await this.pool.query<SuggestionRow & { attempt: number; queued_at: number; tried: string[] | null }>(`
      SELECT s.*, q.attempt, q.queued_at, (SELECT array_agg(r.builder) FROM reports r WHERE r.id = q.id) AS tried
      FROM queue q JOIN suggestions s ON s.seq = q.seq ORDER BY q.queued_at, q.seq`)).rows;
    return rows.map((r) => ({ suggestion: rowToSuggestion(r), attempt: r.attempt, queuedAt: r.queued_at, tried: r.tried ?? [] }));
  }

  async builders(): Promise<BuilderRecord[]> {
    const rows = (await this.pool.query<{ name: string; instance: string | null; last_seen: number; labels: string | null }>('SELECT * FROM builders')).rows;
    return rows.map((b) => ({
      name: b.name, ...(b.instance ? { instance: b.instance } : {}), lastSeen: b.last_seen, ...(b.labels ? { labels: JSON.parse(b.labels) as Labels } : {}),
    }));
  }

  async unlogged(): Promise<StoredReport[]> {
    return (await this.pool.query<ReportRow>('SELECT * FROM reports WHERE NOT logged ORDER BY received_at')).rows.map(rowToReport);
  }

  async markLogged(keys: ReportKey[]): Promise<void> {
    if (!keys.length) return;
    await this.pool.query('UPDATE reports SET logged = TRUE FROM unnest($1::text[], $2::text[]) k(b, i) WHERE builder = k.b AND id = k.i',
      [keys.map((k) => k.builder), keys.map((k) => k.id)]);
  }

  async noteLog(e: LogEntry): Promise<void> {
    await this.pool.query(`INSERT INTO logs (builder, id, bytes, stored_bytes, cut, missing, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (builder, id) DO UPDATE SET bytes = excluded.bytes, stored_bytes = excluded.stored_bytes, cut = excluded.cut,
      missing = excluded.missing, finished_at = excluded.finished_at`, [e.builder, e.id, e.bytes, e.storedBytes, e.cut, e.missing, e.finishedAt]);
  }

  async expiredLogs(before: number, limit: number): Promise<LogEntry[]> {
    const CELL = 'r.project = c.project AND r.branch = c.branch AND r.builder = c.builder';
    const RED = "('failure', 'timeout')";
    return (await this.pool.query<LogRow>(`
      WITH keep(b, i) AS (
        SELECT c.builder, (SELECT r.id FROM reports r WHERE ${CELL} AND r.verdict = 'success' ORDER BY r.received_at DESC, r.id DESC LIMIT 1) FROM latest c
        UNION SELECT c.builder, (SELECT r.id FROM reports r WHERE ${CELL} AND r.verdict IN ${RED} ORDER BY r.received_at DESC, r.id DESC LIMIT 1) FROM latest c
        UNION SELECT c.builder, (SELECT r.id FROM reports r WHERE ${CELL} AND r.verdict IN ${RED}
          AND r.received_at > coalesce((SELECT max(r.received_at) FROM reports r WHERE ${CELL} AND r.verdict = 'success'), -1)
          ORDER BY r.received_at, r.id LIMIT 1) FROM latest c WHERE c.verdict IN ${RED})
      SELECT l.* FROM logs l WHERE l.finished_at < $1 AND NOT EXISTS (SELECT 1 FROM keep k WHERE k.b = l.builder AND k.i = l.id)
      ORDER BY l.finished_at LIMIT $2`, [before, limit])).rows.map(rowToLog);
  }

  async forgetLogs(keys: ReportKey[]): Promise<void> {
    if (!keys.length) return;
    await this.pool.query('DELETE FROM logs USING unnest($1::text[], $2::text[]) k(b, i) WHERE builder = k.b AND id = k.i',
      [keys.map((k) => k.builder), keys.map((k) => k.id)]);
  }

  async keepHook(h: PendingHook): Promise<'new' | 'duplicate'> {
    const res = await this.pool.query(`INSERT INTO hooks (forge, delivery, received_at, address, event, body, state) VALUES ($1, $2, $3, $4, $5, $6, 'pending')
      ON CONFLICT DO NOTHING`, [h.forge, h.delivery, h.receivedAt, h.address, h.event, h.body]);
    return res.rowCount === 1 ? 'new' : 'duplicate';
  }

  async pendingHooks(): Promise<PendingHook[]> {
    const rows = (await this.pool.query<HookRow>("SELECT * FROM hooks WHERE state = 'pending' ORDER BY received_at")).rows;
    return rows.map((r) => ({ ...rowToHook(r), body: r.body ?? Buffer.alloc(0) }));
  }

  async hookDone(forge: string, delivery: string, o: { state: 'done' | 'failed'; outcome: string; suggestion?: string; at: number }): Promise<void> {
    await this.pool.query('UPDATE hooks SET state = $1, body = NULL, outcome = $2, done_at = $3, suggestion = $4 WHERE forge = $5 AND delivery = $6',
      [o.state, o.outcome, o.at, o.suggestion ?? null, forge, delivery]);
  }

  async suggestionFrom(source: string): Promise<StoredSuggestion | undefined> {
    const r = (await this.pool.query<SuggestionRow>('SELECT * FROM suggestions WHERE source = $1 ORDER BY seq LIMIT 1', [source])).rows[0];
    return r ? rowToSuggestion(r) : undefined;
  }

  planNotifications(planner: NotificationPlanner, accepted?: AcceptPlanner): void {
    this.pgOutbox.setPlanner(planner, accepted);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.pending.length) await new Promise((r) => setTimeout(r, 10));
    await this.pool.end();
  }
}

/** A transaction that never reached COMMIT because the server went away: nothing of it was written. */
class Unsent extends Error {
  constructor(override readonly cause: unknown) {
    super(reason(cause));
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The writes of several commits as one, in their order. */
function merge(list: Writes[]): Writes {
  if (list.length === 1) return list[0]!;
  return {
    suggestions: list.flatMap((w) => w.suggestions), deliveries: list.flatMap((w) => w.deliveries),
    reports: list.flatMap((w) => w.reports), builders: list.flatMap((w) => w.builders), queue: list.flatMap((w) => w.queue),
  };
}

/** For --check: whether the server answers and what schema step its record is at (0: none yet), changing nothing. */
export async function probePg(url: string, connectTimeoutMs = PG_CONNECT_TIMEOUT_MS): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, types: TYPES });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot reach the PostgreSQL store ${redact(url)}: ${reason(err)}`);
  }
  try {
    const there = (await client.query<{ t: string | null }>("SELECT to_regclass('simplebb_schema')::text AS t")).rows[0]!.t;
    return there ? Number((await client.query<{ version: number }>('SELECT version FROM simplebb_schema')).rows[0]?.version ?? 0) : 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'URL';
  }
}
