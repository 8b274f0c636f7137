// The SQLite record's schema, one numbered step at a time (PRAGMA user_version), each applied once inside a transaction.
import type Database from 'better-sqlite3';

/** Each step takes the schema from its index to the next; a database made by simplebb 0.1 is at step 1 with user_version 0. */
const STEPS: Array<(db: Database.Database, newId: () => string) => void> = [
  // 1: simplebb 0.1: suggestions, reports keyed by (builder, id), when each builder was last seen.
  (db) => db.exec(`
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
  `),
  // 2: the delivery record, the record's own id, and the state dir each builder last came with.
  (db, newId) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE deliveries (
        seq INTEGER NOT NULL, builder TEXT NOT NULL, state TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (seq, builder)) WITHOUT ROWID;
      ALTER TABLE builders ADD COLUMN instance TEXT;
      ALTER TABLE reports ADD COLUMN seq INTEGER;
      UPDATE reports SET seq = (SELECT s.seq FROM suggestions s WHERE s.id = reports.id);
    `);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('store-id', newId());
  },
  // 3: the read side: each project × branch × builder's newest build outcome, and the orders history is read in.
  (db) => db.exec(`
    CREATE TABLE latest (
      project TEXT NOT NULL, branch TEXT NOT NULL, builder TEXT NOT NULL, id TEXT NOT NULL, received_at INTEGER NOT NULL,
      verdict TEXT NOT NULL, PRIMARY KEY (project, branch, builder)) WITHOUT ROWID;
    INSERT INTO latest (project, branch, builder, id, received_at, verdict)
      SELECT project, branch, builder, id, received_at, verdict FROM (
        SELECT project, branch, builder, id, received_at, verdict,
          row_number() OVER (PARTITION BY project, branch, builder ORDER BY received_at DESC, id DESC) AS n
        FROM reports WHERE verdict IN ('success', 'failure', 'timeout'))
      WHERE n = 1;
    CREATE INDEX latest_received ON latest(received_at, id, builder);
    CREATE INDEX reports_received ON reports(received_at, id, builder);
    CREATE INDEX reports_cell ON reports(project, branch, builder, received_at, id);
    CREATE INDEX reports_builder ON reports(builder, received_at, id);
    CREATE INDEX reports_seq ON reports(seq);
    CREATE INDEX deliveries_builder ON deliveries(builder, seq);
  `),
  // 4: the index of each build's full log on disk (the logs themselves are files beside the database).
  (db) => db.exec(`
    CREATE TABLE logs (
      builder TEXT NOT NULL, id TEXT NOT NULL, bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, cut INTEGER NOT NULL,
      missing INTEGER NOT NULL, finished_at INTEGER NOT NULL, PRIMARY KEY (builder, id)) WITHOUT ROWID;
    CREATE INDEX logs_finished ON logs(finished_at);
  `),
  // 5: the webhook inbox (a delivery kept before it is answered, its body let go once processed).
  (db) => db.exec(`
    CREATE TABLE hooks (
      forge TEXT NOT NULL, delivery TEXT NOT NULL, received_at INTEGER NOT NULL, address TEXT NOT NULL, event TEXT NOT NULL,
      body BLOB, state TEXT NOT NULL, outcome TEXT, suggestion TEXT, done_at INTEGER, PRIMARY KEY (forge, delivery));
    CREATE INDEX hooks_received ON hooks(received_at);
    CREATE INDEX hooks_pending ON hooks(received_at) WHERE state = 'pending';
    CREATE INDEX suggestions_source ON suggestions(source);
  `),
  // 6: who may build: a suggestion's selector (`--on`), the labels of the builder a report came from, a builder's last labels.
  (db) => db.exec(`
    ALTER TABLE suggestions ADD COLUMN selector TEXT;
    ALTER TABLE reports ADD COLUMN labels TEXT;
    ALTER TABLE builders ADD COLUMN labels TEXT;
  `),
  // 7: the notification outbox: what the rules planned for a report, written in the same commit as the report, until sent.
  (db) => db.exec(`
    CREATE TABLE notifications (
      id TEXT PRIMARY KEY, seq INTEGER NOT NULL, sink TEXT NOT NULL, rule TEXT NOT NULL, payload TEXT NOT NULL,
      state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at INTEGER NOT NULL,
      next_at INTEGER NOT NULL, done_at INTEGER);
    CREATE INDEX notifications_due ON notifications(next_at) WHERE state = 'pending';
    CREATE INDEX notifications_created ON notifications(created_at);
  `),
  // 8: whom to mail a suggestion's summary when every builder has reported (`simplebb-suggest --notify`).
  (db) => db.exec('ALTER TABLE suggestions ADD COLUMN notify TEXT'),
  // 9: dispatch to one builder (`--one`): a suggestion's retries, each delivery's attempt, and the queue of those waiting.
  (db) => db.exec(`
    ALTER TABLE suggestions ADD COLUMN one_retries INTEGER;
    ALTER TABLE deliveries ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE queue (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, attempt INTEGER NOT NULL, queued_at INTEGER NOT NULL, after TEXT);
  `),
  // 10: `simplebb rerun`: the suggestion a rerun builds again, and the one builder it was limited to (`--builder`).
  (db) => db.exec(`
    ALTER TABLE suggestions ADD COLUMN rerun_of TEXT;
    ALTER TABLE suggestions ADD COLUMN builder TEXT;
  `),
  // 11: the outbox's order: a notification waits for the pending ones of its suggestion and sink planned before it.
  (db) => db.exec("CREATE INDEX notifications_order ON notifications(seq, sink) WHERE state = 'pending'"),
];

/** Brings the database to the current schema; refuses one made by a newer simplebb. */
export function migrate(db: Database.Database, newId: () => string): void {
  const at = db.pragma('user_version', { simple: true }) as number;
  if (at > STEPS.length) {
    throw new Error(`the database was written by a newer simplebb (schema ${at}; this one knows up to ${STEPS.length})`);
  }
  for (let v = at; v < STEPS.length; v++) {
    db.transaction(() => {
      STEPS[v]!(db, newId);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
