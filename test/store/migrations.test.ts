// The record's schema steps: a database at step 7 (before --notify) is brought to step 8 keeping what it holds; a newer one is refused.
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
    expect(check.pragma('user_version', { simple: true })).toBe(8);
    check.pragma('user_version = 9');
    check.close();
    expect(() => new SqliteStore(dir)).toThrow('the database was written by a newer simplebb (schema 9; this one knows up to 8)');
  });
});
