// The PostgreSQL record's schema, one numbered step at a time, run under an advisory lock so that two masters starting at once apply each step once.
import type pg from 'pg';

/** The advisory lock key the migrations hold (any fixed number; "simplebb" in ASCII, cut to fit a bigint). */
export const MIGRATION_LOCK = 0x73696d706c6562;

/** Each step takes the schema from its index to the next. These are PostgreSQL's own; SQLite's steps (migrations.ts) are numbered apart. */
const STEPS: Array<(c: pg.PoolClient, newId: () => string) => Promise<unknown>> = [
  // 1: everything SQLite's steps 1 to 11 made, and a one-row counter that hands out suggestions' places gap-free.
  async (c, newId) => {
    await c.query(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE seq_counter (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), last BIGINT NOT NULL);
      INSERT INTO seq_counter (one, last) VALUES (TRUE, 0);
      CREATE TABLE suggestions (
        seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, project TEXT NOT NULL, branch TEXT NOT NULL, revision TEXT,
        source TEXT NOT NULL, created_at BIGINT NOT NULL, selector TEXT, notify TEXT, one_retries INTEGER, rerun_of TEXT, builder TEXT);
      CREATE INDEX suggestions_created ON suggestions(created_at);
      CREATE INDEX suggestions_source ON suggestions(source);
      CREATE TABLE reports (
        builder TEXT NOT NULL, id TEXT NOT NULL, seq BIGINT, project TEXT NOT NULL, branch TEXT NOT NULL, revision TEXT,
        exit_code INTEGER NOT NULL, signal TEXT, verdict TEXT NOT NULL, message TEXT, started_at BIGINT,
        duration_ms DOUBLE PRECISION NOT NULL, uname TEXT NOT NULL, node TEXT NOT NULL, output TEXT NOT NULL,
        output_bytes BIGINT NOT NULL, output_cut BIGINT NOT NULL, received_at BIGINT NOT NULL,
        logged BOOLEAN NOT NULL DEFAULT FALSE, labels TEXT, PRIMARY KEY (builder, id));
      CREATE INDEX reports_received ON reports(received_at, id, builder);
      CREATE INDEX reports_cell ON reports(project, branch, builder, received_at, id);
      CREATE INDEX reports_builder ON reports(builder, received_at, id);
      CREATE INDEX reports_seq ON reports(seq);
      CREATE INDEX reports_unlogged ON reports(received_at) WHERE NOT logged;
      CREATE TABLE builders (name TEXT PRIMARY KEY, last_seen BIGINT NOT NULL, instance TEXT, labels TEXT);
      CREATE TABLE deliveries (seq BIGINT NOT NULL, builder TEXT NOT NULL, state TEXT NOT NULL, at BIGINT NOT NULL, attempt INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (seq, builder));
      CREATE TABLE queue (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, attempt INTEGER NOT NULL, queued_at BIGINT NOT NULL, after TEXT);
      CREATE INDEX deliveries_builder ON deliveries(builder, seq);
      CREATE INDEX deliveries_open ON deliveries(seq) WHERE state IN ('offered', 'received', 'started');
      CREATE TABLE latest (
        project TEXT NOT NULL, branch TEXT NOT NULL, builder TEXT NOT NULL, id TEXT NOT NULL, received_at BIGINT NOT NULL,
        verdict TEXT NOT NULL, PRIMARY KEY (project, branch, builder));
      CREATE INDEX latest_received ON latest(received_at, id, builder);
      CREATE TABLE logs (
        builder TEXT NOT NULL, id TEXT NOT NULL, bytes BIGINT NOT NULL, stored_bytes BIGINT NOT NULL, cut BIGINT NOT NULL,
        missing BIGINT NOT NULL, finished_at BIGINT NOT NULL, PRIMARY KEY (builder, id));
      CREATE INDEX logs_finished ON logs(finished_at);
      CREATE TABLE hooks (
        forge TEXT NOT NULL, delivery TEXT NOT NULL, received_at BIGINT NOT NULL, address TEXT NOT NULL, event TEXT NOT NULL,
        body BYTEA, state TEXT NOT NULL, outcome TEXT, suggestion TEXT, done_at BIGINT, PRIMARY KEY (forge, delivery));
      CREATE INDEX hooks_received ON hooks(received_at);
      CREATE INDEX hooks_pending ON hooks(received_at) WHERE state = 'pending';
      CREATE TABLE notifications (
        id TEXT PRIMARY KEY, seq BIGINT NOT NULL, sink TEXT NOT NULL, rule TEXT NOT NULL, payload TEXT NOT NULL,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at BIGINT NOT NULL,
        next_at BIGINT NOT NULL, done_at BIGINT, ord BIGSERIAL);
      CREATE INDEX notifications_order ON notifications(seq, sink, ord) WHERE state = 'pending';
      CREATE INDEX notifications_due ON notifications(next_at) WHERE state = 'pending';
      CREATE INDEX notifications_created ON notifications(created_at);
    `);
    await c.query('INSERT INTO meta (key, value) VALUES ($1, $2)', ['store-id', newId()]);
  },
];

/** How many steps this simplebb knows. */
export const PG_SCHEMA_VERSION = STEPS.length;

/**
 * Brings the database to the current schema, each step in a transaction of its own, holding the advisory lock
 * throughout: a second master starting at once waits, then finds the steps done. Refuses a newer schema.
 */
export async function migratePg(c: pg.PoolClient, newId: () => string): Promise<void> {
  await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await c.query('CREATE TABLE IF NOT EXISTS simplebb_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), version INTEGER NOT NULL)');
    await c.query('INSERT INTO simplebb_schema (one, version) VALUES (TRUE, 0) ON CONFLICT DO NOTHING');
    const at = Number((await c.query<{ version: number }>('SELECT version FROM simplebb_schema')).rows[0]!.version);
    if (at > STEPS.length) throw new Error(`the database was written by a newer simplebb (schema ${at}; this one knows up to ${STEPS.length})`);
    for (let v = at; v < STEPS.length; v++) {
      await c.query('BEGIN');
      try {
        await STEPS[v]!(c, newId);
        await c.query('UPDATE simplebb_schema SET version = $1', [v + 1]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}
