// The record's schema steps: a database at step 7 (before --notify) or 8 (before rerun) is brought up to date keeping what it holds; a newer one is refused.
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
    db.exec('ALTER TABLE suggestions DROP COLUMN notify; ALTER TABLE suggestions DROP COLUMN rerun_of; ALTER TABLE suggestions DROP COLUMN builder');
    db.pragma('user_version = 7');
    db.close();

    const again = new SqliteStore(dir);
    expect(await again.suggestion('s-1')).toMatchObject({ id: 's-1', project: 'widget' });
    expect(await again.suggestion('s-1')).not.toHaveProperty('notify');
    await again.commit({ ...noWrites(), suggestions: [{ id: 's-2', project: 'widget', branch: 'main', from: 't', createdAt: 2, notify: 'dev@example.org' }] });
    expect(await again.suggestion('s-2')).toMatchObject({ notify: 'dev@example.org' });
    await again.close();

    const check = new Database(join(dir, 'simplebb.db'));
    expect(check.pragma('user_version', { simple: true })).toBe(9);
    check.pragma('user_version = 10');
    check.close();
    expect(() => new SqliteStore(dir)).toThrow('the database was written by a newer simplebb (schema 10; this one knows up to 9)');
  });
});

describe('schema step 9: suggestions.rerun_of and suggestions.builder', () => {
  it('adds the columns to a step-8 database, keeping its suggestions, and stores a rerun with its link and builder', async () => {
    const dir = tempDir();
    const first = new SqliteStore(dir);
    await first.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'widget', branch: 'main', from: 't', createdAt: 1, notify: 'dev@example.org' }] });
    await first.close();
    const db = new Database(join(dir, 'simplebb.db'));
    db.exec('ALTER TABLE suggestions DROP COLUMN rerun_of; ALTER TABLE suggestions DROP COLUMN builder');
    db.pragma('user_version = 8');
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
