// The record's schema steps: a database made before step 8 (--notify), step 9 (--one) or step 10 (rerun) is brought up to date keeping what it holds; a newer one is refused.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

describe('schema step 8: suggestions.notify', () => {
  it('adds the column to a step-7 database, keeping its suggestions, and refuses a database of a newer simplebb', async () => {
    const dir = tempDir();
    const first = new SqliteStore(dir);
    await first.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'widget', branch: 'main', from: 't', createdAt: 1 }] });
    await first.close();
    // Back to step 7, as simplebb made it before --notify.
    const db = new Database(join(dir, 'simplebb.db'));
    db.exec(STEP_10_UNDONE);
    db.exec(STEP_9_UNDONE);
    db.exec('ALTER TABLE suggestions DROP COLUMN notify');
    db.pragma('user_version = 7');
    db.close();

    const again = new SqliteStore(dir);
    expect(await again.suggestion('s-1')).toMatchObject({ id: 's-1', project: 'widget' });
    expect(await again.suggestion('s-1')).not.toHaveProperty('notify');
    await again.commit({ ...noWrites(), suggestions: [{ id: 's-2', project: 'widget', branch: 'main', from: 't', createdAt: 2, notify: 'dev@example.org' }] });
    expect(await again.suggestion('s-2')).toMatchObject({ notify: 'dev@example.org' });
    await again.close();

    const check = new Database(join(dir, 'simplebb.db'));
    expect(check.pragma('user_version', { simple: true })).toBe(11);
    check.pragma('user_version = 12');
    check.close();
    expect(() => new SqliteStore(dir)).toThrow('the database was written by a newer simplebb (schema 12; this one knows up to 11)');
  });
});

/** What schema step 11 added, taken away again: a database as simplebb made it before the outbox's order. */
const STEP_11_UNDONE = 'DROP INDEX notifications_order;';

/** What schema steps 11 and 10 added, taken away again: a database as simplebb made it before rerun. */
const STEP_10_UNDONE = `${STEP_11_UNDONE} ALTER TABLE suggestions DROP COLUMN rerun_of; ALTER TABLE suggestions DROP COLUMN builder;`;

/** What schema step 9 added, taken away again: a database as simplebb made it before --one. */
const STEP_9_UNDONE = 'DROP TABLE queue; ALTER TABLE suggestions DROP COLUMN one_retries; ALTER TABLE deliveries DROP COLUMN attempt;';

describe('schema step 9: the dispatch queue', () => {
  it('a step-8 database gains the queue, its suggestions stay broadcast (owed as before), and a queued one is read back', async () => {
    const dir = tempDir();
    const first = new SqliteStore(dir);
    await first.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'widget', branch: 'main', from: 't', createdAt: 1, offeredTo: ['b1'] }] });
    await first.close();
    const db = new Database(join(dir, 'simplebb.db'));
    db.exec(STEP_10_UNDONE);
    db.exec(STEP_9_UNDONE);
    db.pragma('user_version = 8');
    db.close();

    const again = new SqliteStore(dir);
    expect(await again.suggestion('s-1')).not.toHaveProperty('one');
    expect((await again.owed('b2', 0, 0)).suggestions.map((s) => s.id)).toEqual(['s-1']);
    expect(await again.openDeliveries()).toMatchObject([{ builder: 'b1', attempt: 1, suggestion: { id: 's-1' } }]);
    // A `one` suggestion queued in the commit that makes it: in the queue, owed to no one.
    await again.commit({ ...noWrites(), suggestions: [{ id: 's-2', project: 'widget', branch: 'main', from: 't', createdAt: 2, one: { retries: 1 } }],
      queue: [{ id: 's-2', queued: true, attempt: 1, at: 2 }] });
    expect(await again.queued()).toMatchObject([{ suggestion: { id: 's-2', one: { retries: 1 } }, attempt: 1, queuedAt: 2, tried: [] }]);
    expect((await again.owed('b2', 0, 0)).suggestions.map((s) => s.id)).toEqual(['s-1']);
    // Dispatched as attempt 2 after a loss: its delivery keeps the attempt, and it leaves the queue in the same commit.
    const [s2] = (await again.queued()).map((q) => q.suggestion);
    await again.commit({ ...noWrites(), deliveries: [{ seq: s2!.seq, builder: 'b3', state: 'offered', at: 3, attempt: 2 }], queue: [{ id: 's-2', taken: true }] });
    expect(await again.queued()).toEqual([]);
    expect((await again.openDeliveries()).find((d) => d.builder === 'b3')).toMatchObject({ attempt: 2, suggestion: { id: 's-2' } });
    await again.close();
  });
});

describe('schema step 10: suggestions.rerun_of and suggestions.builder', () => {
  it('adds the columns to a step-9 database, keeping its suggestions, and stores a rerun with its link and builder', async () => {
    const dir = tempDir();
    const first = new SqliteStore(dir);
    await first.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'widget', branch: 'main', from: 't', createdAt: 1, notify: 'dev@example.org' }] });
    await first.close();
    const db = new Database(join(dir, 'simplebb.db'));
    db.exec(STEP_10_UNDONE);
    db.pragma('user_version = 9');
    db.close();

    const again = new SqliteStore(dir);
    const old = await again.suggestion('s-1');
    expect(old).toMatchObject({ id: 's-1', notify: 'dev@example.org' });
    expect(old).not.toHaveProperty('rerunOf');
    expect(old).not.toHaveProperty('builder');
    await again.commit({ ...noWrites(), suggestions: [{ id: 's-2', project: 'widget', branch: 'main', from: 't', createdAt: 2, rerunOf: 's-1', builder: 'b1' }] });
    expect(await again.suggestion('s-2')).toMatchObject({ rerunOf: 's-1', builder: 'b1' });
    expect(await again.history.suggestionView('s-2')).toMatchObject({ rerunOf: 's-1', builder: 'b1' });
    await again.close();
  });
});

describe('schema step 11: the outbox\'s order', () => {
  it('a step-10 database gains the index the outbox finds a notification\'s earlier pending ones of its suggestion and sink with', async () => {
    const dir = tempDir();
    await new SqliteStore(dir).close();
    const db = new Database(join(dir, 'simplebb.db'));
    db.exec(STEP_11_UNDONE);
    db.pragma('user_version = 10');
    db.close();
    await new SqliteStore(dir).close();
    const check = new Database(join(dir, 'simplebb.db'));
    expect(check.pragma('user_version', { simple: true })).toBe(11);
    const plan = check.prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM notifications e WHERE e.state = 'pending' AND e.seq = 1 AND e.sink = 'x' AND e.rowid < 5`).all() as Array<{ detail: string }>;
    expect(plan.map((r) => r.detail).join('\n')).toContain('notifications_order');
    check.close();
  });
});
