// The master's durable record: suggestions, reports keyed by builder and build id, and when each builder was last seen.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportFields, Uname, Verdict } from '../protocol/messages.js';

/** A report as the master stores and logs it. */
export interface StoredReport extends ReportFields {
  builder: string;
  output: string;
  receivedAt: number;
}

export interface StoredSuggestion {
  id: string;
  project: string;
  branch: string;
  revision?: string;
  from: string;
  createdAt: number;
}

/** What storing a report did: a new record, a `lost` record replaced by the real one, or a duplicate left alone. */
export type StoreOutcome = 'new' | 'replaced' | 'duplicate';

interface ReportRow {
  builder: string; id: string; project: string; branch: string; revision: string | null;
  exit_code: number; signal: string | null; verdict: string; message: string | null;
  started_at: number | null; duration_ms: number; uname: string; node: string;
  output: string; output_bytes: number; output_cut: number; received_at: number;
}

function rowToReport(r: ReportRow): StoredReport {
  return {
    builder: r.builder, id: r.id, project: r.project, branch: r.branch,
    ...(r.revision ? { revision: r.revision } : {}),
    exitCode: r.exit_code,
    ...(r.signal ? { signal: r.signal } : {}),
    verdict: r.verdict as Verdict,
    ...(r.message ? { message: r.message } : {}),
    ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
    durationMs: r.duration_ms, uname: JSON.parse(r.uname) as Uname, node: r.node,
    output: r.output, outputBytes: r.output_bytes, outputCut: r.output_cut, receivedAt: r.received_at,
  };
}

/** SQLite in WAL mode with full fsync on commit: a stored report survives a crash of the master or of the machine. */
export class Store {
  private readonly db: Database.Database;
  private readonly stmts;

  /** `synchronous` is FULL in production; the benchmarks measure NORMAL and OFF beside it to show what durability costs. */
  constructor(dir: string, synchronous: 'FULL' | 'NORMAL' | 'OFF' = 'FULL') {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dir, 'simplebb.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS suggestions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project TEXT NOT NULL, branch TEXT NOT NULL,
        revision TEXT, source TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS suggestions_created ON suggestions(created_at);
      CREATE TABLE IF NOT EXISTS reports (
        builder TEXT NOT NULL, id TEXT NOT NULL, project TEXT NOT NULL, branch TEXT NOT NULL, revision TEXT,
        exit_code INTEGER NOT NULL, signal TEXT, verdict TEXT NOT NULL, message TEXT, started_at INTEGER,
        duration_ms REAL NOT NULL, uname TEXT NOT NULL, node TEXT NOT NULL, output TEXT NOT NULL,
        output_bytes INTEGER NOT NULL, output_cut INTEGER NOT NULL, received_at INTEGER NOT NULL,
        logged INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (builder, id));
      CREATE TABLE IF NOT EXISTS builders (name TEXT PRIMARY KEY, last_seen INTEGER NOT NULL);
    `);
    this.stmts = {
      addSuggestion: this.db.prepare(
        'INSERT OR IGNORE INTO suggestions (id, project, branch, revision, source, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      verdictOf: this.db.prepare<[string, string], { verdict: string }>('SELECT verdict FROM reports WHERE builder = ? AND id = ?'),
      upsertReport: this.db.prepare(`INSERT OR REPLACE INTO reports (builder, id, project, branch, revision, exit_code, signal, verdict,
        message, started_at, duration_ms, uname, node, output, output_bytes, output_cut, received_at, logged)
        VALUES (@builder, @id, @project, @branch, @revision, @exitCode, @signal, @verdict, @message, @startedAt, @durationMs,
        @uname, @node, @output, @outputBytes, @outputCut, @receivedAt, 0)`),
      markLogged: this.db.prepare('UPDATE reports SET logged = 1 WHERE builder = ? AND id = ?'),
      unlogged: this.db.prepare<[], ReportRow>('SELECT * FROM reports WHERE logged = 0 ORDER BY received_at'),
      seen: this.db.prepare('INSERT OR REPLACE INTO builders (name, last_seen) VALUES (?, ?)'),
      lastSeen: this.db.prepare<[string], { last_seen: number }>('SELECT last_seen FROM builders WHERE name = ?'),
      missed: this.db.prepare<[number, number, string], { id: string; project: string; branch: string; revision: string | null }>(`
        SELECT s.id, s.project, s.branch, s.revision FROM suggestions s
        WHERE s.created_at > ? AND s.created_at <= ?
          AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.builder = ? AND r.id = s.id AND r.verdict <> 'lost')
        ORDER BY s.seq`),
      report: this.db.prepare<[string, string], ReportRow>('SELECT * FROM reports WHERE builder = ? AND id = ?'),
      count: this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM reports'),
      suggestion: this.db.prepare<[string], { project: string; branch: string; revision: string | null }>('SELECT project, branch, revision FROM suggestions WHERE id = ?'),
    };
  }

  /** Many suggestions in one transaction (one fsync): for imports and the benchmarks' seeding. */
  addSuggestions(list: StoredSuggestion[]): void {
    this.db.transaction((l: StoredSuggestion[]) => { for (const s of l) this.addSuggestion(s); })(list);
  }

  addSuggestion(s: StoredSuggestion): void {
    this.stmts.addSuggestion.run(s.id, s.project, s.branch, s.revision ?? null, s.from, s.createdAt);
  }

  /** Stores a batch of reports in one transaction (one fsync); a real report replaces a `lost` one, anything else already stored is a duplicate. */
  storeReports(batch: StoredReport[]): StoreOutcome[] {
    const run = this.db.transaction((reports: StoredReport[]) => reports.map((r): StoreOutcome => {
      const prior = this.stmts.verdictOf.get(r.builder, r.id);
      if (prior && (prior.verdict !== 'lost' || r.verdict === 'lost')) return 'duplicate';
      this.stmts.upsertReport.run({
        builder: r.builder, id: r.id, project: r.project, branch: r.branch, revision: r.revision ?? null,
        exitCode: r.exitCode, signal: r.signal ?? null, verdict: r.verdict, message: r.message ?? null,
        startedAt: r.startedAt ?? null, durationMs: r.durationMs, uname: JSON.stringify(r.uname), node: r.node,
        output: r.output, outputBytes: r.outputBytes, outputCut: r.outputCut, receivedAt: r.receivedAt,
      });
      return prior ? 'replaced' : 'new';
    }));
    return run(batch);
  }

  /** Records that these reports' log lines were written. */
  markLogged(keys: Array<{ builder: string; id: string }>): void {
    const run = this.db.transaction((ks: Array<{ builder: string; id: string }>) => {
      for (const k of ks) this.stmts.markLogged.run(k.builder, k.id);
    });
    run(keys);
  }

  /** Reports stored but not yet logged (the master died between the two): logged at start. */
  unlogged(): StoredReport[] {
    return this.stmts.unlogged.all().map(rowToReport);
  }

  report(builder: string, id: string): StoredReport | undefined {
    const row = this.stmts.report.get(builder, id);
    return row ? rowToReport(row) : undefined;
  }

  /** What a suggestion asked for, if this master made it. */
  suggestion(id: string): { project: string; branch: string; revision?: string } | undefined {
    const r = this.stmts.suggestion.get(id);
    return r ? { project: r.project, branch: r.branch, ...(r.revision ? { revision: r.revision } : {}) } : undefined;
  }

  reportCount(): number {
    return this.stmts.count.get()?.n ?? 0;
  }

  /** Records when builders were last seen, all in one transaction (one fsync however many). */
  buildersSeen(entries: Iterable<[name: string, at: number]>): void {
    this.db.transaction(() => { for (const [n, at] of entries) this.stmts.seen.run(n, at); })();
  }

  /** When this builder was last connected, if ever. */
  lastSeen(name: string): number | undefined {
    return this.stmts.lastSeen.get(name)?.last_seen;
  }

  /** Suggestions made in (since, until] that this builder has not reported, oldest first. */
  missedSince(builder: string, since: number, until: number): Array<{ id: string; project: string; branch: string; revision?: string }> {
    return this.stmts.missed.all(since, until, builder).map((r) => ({
      id: r.id, project: r.project, branch: r.branch, ...(r.revision ? { revision: r.revision } : {}),
    }));
  }

  close(): void {
    this.db.close();
  }
}
