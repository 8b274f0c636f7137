// The master's log as a subscriber: each stored report logged exactly once, also across a crash between commit and line.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, readLog } from '../../lib/common/log.js';
import { EventBus } from '../../lib/master/events.js';
import { logEvents } from '../../lib/masterd/logLines.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type StoredReport } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const report = (id: string, seq: number): StoredReport => ({
  builder: 'b1', id, seq, project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 1, uname, node: 'v20',
  output: 'ok', outputBytes: 2, outputCut: 0, receivedAt: 1,
});

describe('logEvents', () => {
  it('at start logs the reports stored but not marked logged, except those the log file already has, once', async () => {
    const dir = tempDir();
    const file = join(dir, 'server.log');
    const store = new SqliteStore(join(dir, 'data'));
    const [a, b] = (await store.commit({ ...noWrites(), suggestions: [
      { id: 'r-1', project: 'foo', branch: 'main', from: 'x', createdAt: 1 }, { id: 'r-2', project: 'foo', branch: 'main', from: 'x', createdAt: 1 },
    ] })).suggestions;
    await store.commit({ ...noWrites(), reports: [report('r-1', a!.seq), report('r-2', b!.seq)] });
    // The master died after writing r-1's line and before marking it logged; r-2's line was never written.
    appendFileSync(file, JSON.stringify({ level: 30, event: 'report', id: 'r-1', builder: 'b1', verdict: 'success' }) + '\n' + '{"level":30,"event":"rep');
    await logEvents(store, new EventBus(), createLogger('t', file), file);
    const lines = readLog(file).filter((l) => l.event === 'report');
    expect(lines.map((l) => [l.id, l.note ?? null])).toEqual([['r-1', null], ['r-2', 'recovered']]);
    expect(await store.unlogged()).toEqual([]);
    await logEvents(store, new EventBus(), createLogger('t', file), file);
    expect(readLog(file).filter((l) => l.event === 'report')).toHaveLength(2);
    await store.close();
  });

  it('at start logs a report that replaced a lost the log has, because its verdict is not in the log yet', async () => {
    const dir = tempDir();
    const file = join(dir, 'server.log');
    const store = new SqliteStore(join(dir, 'data'));
    const [s] = (await store.commit({ ...noWrites(), suggestions: [{ id: 'r-4', project: 'foo', branch: 'main', from: 'x', createdAt: 1 }] })).suggestions;
    await store.commit({ ...noWrites(), reports: [report('r-4', s!.seq)] });
    appendFileSync(file, JSON.stringify({ level: 30, event: 'report', id: 'r-4', builder: 'b1', verdict: 'lost' }) + '\n');
    await logEvents(store, new EventBus(), createLogger('t', file), file);
    expect(readLog(file).filter((l) => l.event === 'report').map((l) => [l.verdict, l.note ?? null])).toEqual([['lost', null], ['success', 'recovered']]);
    await store.close();
  });

  it('logs each report event and marks it logged', async () => {
    const dir = tempDir();
    const file = join(dir, 'server.log');
    const store = new SqliteStore(join(dir, 'data'));
    const [s] = (await store.commit({ ...noWrites(), suggestions: [{ id: 'r-3', project: 'foo', branch: 'main', from: 'x', createdAt: 1 }] })).suggestions;
    await store.commit({ ...noWrites(), reports: [report('r-3', s!.seq)] });
    const events = new EventBus();
    // Without a file to look at, an unlogged report is logged as recovered.
    const log = await logEvents(store, events, createLogger('t', file), undefined);
    events.emit({ type: 'report', report: { ...report('r-3', s!.seq), verdict: 'failure' }, replaced: true });
    await log.flush();
    expect(readLog(file).filter((l) => l.event === 'report').map((l) => l.note)).toEqual(['recovered', 'replaced']);
    expect(await store.unlogged()).toEqual([]);
    await store.close();
  });
});
