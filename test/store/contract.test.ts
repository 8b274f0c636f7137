// The record's contract, run against both stores (SQLite in a temp dir, PostgreSQL on a server of the test's own): same cases, same answers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Verdict } from '../../lib/protocol/messages.js';
import { PostgresStore } from '../../lib/store/postgres.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type Store, type StoredReport, type StoredSuggestion } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';
import { pgAvailable, startPg, stopAllPg, type PgServer } from '../pgServer.js';

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const havePg = pgAvailable();
let server: PgServer | undefined;
let dbs = 0;
const opened: Store[] = [];

beforeAll(async () => {
  if (havePg) server = await startPg();
}, 90_000);
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await cleanup();
});
afterAll(stopAllPg, 60_000);

function report(s: StoredSuggestion, builder: string, verdict: Verdict, receivedAt: number, extra: Partial<StoredReport> = {}): StoredReport {
  return {
    builder, id: s.id, seq: s.seq, project: s.project, branch: s.branch, exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 12.5,
    uname, node: 'v22', output: `out of ${builder}`, outputBytes: 10, outputCut: 0, receivedAt, ...extra,
  };
}

const kinds: Array<[string, boolean, () => Promise<Store>]> = [
  ['SqliteStore', true, async () => new SqliteStore(tempDir())],
  ['PostgresStore', havePg, async () => PostgresStore.open(await server!.database(`contract_${++dbs}`))],
];

for (const [name, runs, make] of kinds) {
  describe.skipIf(!runs)(`the record's contract: ${name}`, () => {
    const open = async (): Promise<Store> => {
      const s = await make();
      opened.push(s);
      return s;
    };
    const suggest = async (store: Store, id: string, extra: { offeredTo?: string[]; createdAt?: number; revision?: string } = {}) =>
      (await store.commit({ ...noWrites(), suggestions: [{ id, project: 'foo', branch: 'main', from: 'me', createdAt: extra.createdAt ?? 1000, ...extra }] })).suggestions[0]!;

    it('gives suggestions consecutive places, also to commits made in the same turn', async () => {
      const store = await open();
      const a = await suggest(store, 'a');
      const [b, c] = await Promise.all([suggest(store, 'b'), suggest(store, 'c')]);
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => suggest(store, `m${i}`)));
      expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
      expect(many.map((s) => s.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 4 + i));
      expect(await store.suggestion('b')).toEqual({ id: 'b', project: 'foo', branch: 'main', from: 'me', createdAt: 1000, seq: 2 });
      // A bad commit (an id used twice) fails alone, leaves no hole, and does not fail the commit beside it.
      const [bad, good] = await Promise.allSettled([suggest(store, 'a'), suggest(store, 'after')]);
      expect(bad.status).toBe('rejected');
      expect(good.status === 'fulfilled' && good.value.seq).toBe(54);
    });

    it('stores a report once, finds duplicates, and replaces a master-given lost by a real report', async () => {
      const store = await open();
      const s = await suggest(store, 's', { offeredTo: ['b1', 'b2'] });
      expect((await store.commit({ ...noWrites(), reports: [report(s, 'b1', 'success', 2000), report(s, 'b1', 'failure', 2001)] })).reports).toEqual(['new', 'duplicate']);
      expect((await store.commit({ ...noWrites(), reports: [report(s, 'b1', 'failure', 2002)] })).reports).toEqual(['duplicate']);
      expect((await store.history.report('s', 'b1'))!.verdict).toBe('success');
      expect((await store.commit({ ...noWrites(), reports: [report(s, 'b2', 'lost', 2003, { message: 'gone' })] })).reports).toEqual(['new']);
      expect((await store.commit({ ...noWrites(), reports: [report(s, 'b2', 'refused', 2004)] })).reports).toEqual(['duplicate']);
      expect((await store.commit({ ...noWrites(), reports: [report(s, 'b2', 'failure', 2005, { labels: { os: 'linux' } })] })).reports).toEqual(['replaced']);
      const b2 = (await store.history.report('s', 'b2'))!;
      expect([b2.verdict, b2.receivedAt, b2.labels, b2.message, b2.durationMs]).toEqual(['failure', 2005, { os: 'linux' }, undefined, 12.5]);
      const view = (await store.history.suggestionView('s'))!;
      expect(view.deliveries.map((d) => [d.builder, d.state, d.verdict])).toEqual([['b1', 'reported', 'success'], ['b2', 'reported', 'failure']]);
      expect((await store.history.cells(10)).map((c) => `${c.builder}=${c.verdict}`).sort()).toEqual(['b1=success', 'b2=failure']);
      expect((await store.unlogged()).length).toBe(2);
      await store.markLogged([{ builder: 'b1', id: 's' }]);
      expect((await store.unlogged()).map((r) => r.builder)).toEqual(['b2']);
    });

    it('moves deliveries only forward, lists the open ones and what a returning builder is owed', async () => {
      const store = await open();
      const s1 = await suggest(store, 's1', { offeredTo: ['b1', 'b2'], createdAt: 1000 });
      const s2 = await suggest(store, 's2', { offeredTo: ['b1'], createdAt: 2000 });
      await store.commit({ ...noWrites(), deliveries: [
        { seq: s1.seq, builder: 'b1', state: 'started', at: 1100 }, { seq: s1.seq, builder: 'b1', state: 'received', at: 1200 },
        { seq: s2.seq, builder: 'b1', state: 'skipped', at: 2100 },
      ] });
      await store.commit({ ...noWrites(), deliveries: [{ seq: s1.seq, builder: 'b1', state: 'offered', at: 1300 }] });
      const still = await store.openDeliveries();
      expect(still.map((d) => [d.suggestion.id, d.builder, d.state, d.at])).toEqual([['s1', 'b1', 'started', 1100], ['s1', 'b2', 'offered', 1000]]);
      expect(await store.delivered(s2.seq, 'b1')).toBe(true);
      expect(await store.delivered(s2.seq, 'b2')).toBe(false);
      const owed = await store.owed('b1', 0, 0);
      expect([owed.suggestions.map((s) => s.id), owed.head]).toEqual([['s1'], 2]);
      expect((await store.owed('b3', 0, 1500)).suggestions.map((s) => s.id)).toEqual(['s2']);
      expect((await store.owed('b3', 2, 0))).toEqual({ suggestions: [], head: 2 });
      await store.commit({ ...noWrites(), builders: [{ name: 'b1', lastSeen: 5, instance: 'i1' }, { name: 'b1', lastSeen: 3, labels: { os: 'linux' } }] });
      await store.commit({ ...noWrites(), builders: [{ name: 'b1', lastSeen: 4 }] });
      expect(await store.builders()).toEqual([{ name: 'b1', lastSeen: 5, instance: 'i1', labels: { os: 'linux' } }]);
    });

    it('answers history queries: filters, labels, newest outcome per cell, failing, suggestion pages', async () => {
      const store = await open();
      const s1 = await suggest(store, 's1', { offeredTo: ['b1', 'b2'], revision: 'r1' });
      const s2 = await suggest(store, 's2', { offeredTo: ['b1', 'b2'], revision: 'r2' });
      await store.commit({ ...noWrites(), reports: [report(s1, 'b1', 'success', 10, { labels: { os: 'linux' } }), report(s1, 'b2', 'success', 11, { labels: { os: 'bsd' } })] });
      await store.commit({ ...noWrites(), reports: [report(s2, 'b1', 'failure', 20, { labels: { os: 'linux' } }), report(s2, 'b2', 'lost', 21)] });
      const h = store.history;
      expect((await h.reports({ limit: 10 })).map((r) => `${r.id}/${r.builder}`)).toEqual(['s2/b2', 's2/b1', 's1/b2', 's1/b1']);
      expect((await h.reports({ label: ['os', 'linux'], limit: 10 })).map((r) => r.id)).toEqual(['s2', 's1']);
      expect((await h.reports({ latest: true, limit: 10 })).map((r) => `${r.id}/${r.builder}=${r.verdict}`)).toEqual(['s2/b1=failure', 's1/b2=success']);
      expect((await h.reports({ failing: true, limit: 10 })).map((r) => r.builder)).toEqual(['b1']);
      expect((await h.reports({ limit: 2, after: { receivedAt: 20, id: 's2', builder: 'b1' } })).map((r) => r.receivedAt)).toEqual([11, 10]);
      expect((await h.suggestions({ limit: 10, verdict: 'failure' })).map((s) => s.id)).toEqual(['s2']);
      expect((await h.suggestions({ limit: 1, beforeSeq: 2 })).map((s) => [s.id, s.deliveries.length])).toEqual([['s1', 2]]);
      expect((await h.builderNames()).map((b) => b.name)).toEqual([]);
      expect(await h.bytes()).toBeGreaterThan(0);
    });

    it('keeps the log index, and lets retention go of all but the kept three of a cell', async () => {
      const store = await open();
      const verdicts: Verdict[] = ['success', 'failure', 'success', 'failure', 'failure'];
      for (const [i, v] of verdicts.entries()) {
        const s = await suggest(store, `s${i}`, { offeredTo: ['b1'] });
        await store.commit({ ...noWrites(), reports: [report(s, 'b1', v, 100 + i)] });
        await store.noteLog({ id: s.id, builder: 'b1', bytes: 10, storedBytes: 5, cut: 0, missing: 0, finishedAt: 100 + i });
      }
      expect(await store.history.log('s0', 'b1')).toEqual({ id: 's0', builder: 'b1', bytes: 10, storedBytes: 5, cut: 0, missing: 0, finishedAt: 100 });
      // Kept: the last success (s2), the last failure (s4), the first failure of the red streak (s3).
      const expired = await store.expiredLogs(1000, 10);
      expect(expired.map((l) => l.id)).toEqual(['s0', 's1']);
      await store.forgetLogs(expired.map((l) => ({ builder: l.builder, id: l.id })));
      expect(await store.expiredLogs(1000, 10)).toEqual([]);
      expect(await store.history.log('s0', 'b1')).toBeUndefined();
    });

    it('keeps a webhook once, lists the pending ones and records what each did', async () => {
      const store = await open();
      const h = { forge: 'github', delivery: 'd1', receivedAt: 5, address: '127.0.0.1', event: 'push', state: 'pending' as const, body: Buffer.from('{"a":1}') };
      expect(await store.keepHook(h)).toBe('new');
      expect(await store.keepHook({ ...h, receivedAt: 6 })).toBe('duplicate');
      expect(await store.pendingHooks()).toEqual([h]);
      await store.hookDone('github', 'd1', { state: 'done', outcome: 'suggested foo main', suggestion: 'x', at: 9 });
      expect(await store.pendingHooks()).toEqual([]);
      expect(await store.history.hookDeliveries(10)).toEqual([{ forge: 'github', delivery: 'd1', receivedAt: 5, address: '127.0.0.1', event: 'push', state: 'done', outcome: 'suggested foo main', suggestion: 'x', doneAt: 9 }]);
      await store.commit({ ...noWrites(), suggestions: [{ id: 'w', project: 'foo', branch: 'main', from: 'hook:github:d1', createdAt: 1 }] });
      expect((await store.suggestionFrom('hook:github:d1'))?.id).toBe('w');
    });

    it('plans notifications in the commit of their report, then has them due, sent and failed', async () => {
      const store = await open();
      const seen: Array<{ builder: string; complete: number | undefined; last: string | undefined; since: string[] }> = [];
      store.planNotifications((input) => {
        seen.push({ builder: input.judged.report.builder, complete: input.complete?.length, last: input.judged.lastVerdict, since: input.sinceGreen(input.judged.report.builder, 5) });
        return [{ id: `n-${input.judged.report.id}-${input.judged.report.builder}`, sink: 'mail', rule: 'r', payload: '{}' }];
      });
      const s1 = await suggest(store, 's1', { offeredTo: ['b1'], revision: 'r1' });
      await store.commit({ ...noWrites(), reports: [report(s1, 'b1', 'success', 10)] });
      const s2 = await suggest(store, 's2', { offeredTo: ['b1', 'b2'], revision: 'r2' });
      await store.commit({ ...noWrites(), reports: [report(s2, 'b1', 'failure', 20)] });
      await store.commit({ ...noWrites(), reports: [report(s2, 'b1', 'failure', 21)] }); // a duplicate plans nothing
      expect(seen).toEqual([
        { builder: 'b1', complete: 1, last: undefined, since: [] },
        { builder: 'b1', complete: undefined, last: 'success', since: ['r2'] },
      ]);
      const due = await store.outbox.due(Date.now() + 1000, 10);
      expect(due.map((n) => [n.id, n.state, n.attempts])).toEqual([['n-s1-b1', 'pending', 0], ['n-s2-b1', 'pending', 0]]);
      await store.outbox.sent('n-s1-b1', 50);
      await store.outbox.failed('n-s2-b1', 'x'.repeat(2000), 60, { nextAt: 10 ** 15 });
      expect((await store.outbox.due(Date.now() + 1000, 10)).length).toBe(0);
      expect(await store.outbox.nextDue()).toBe(10 ** 15);
      await store.outbox.failed('n-s2-b1', 'no', 70, { giveUp: true });
      const recent = await store.outbox.recent(10);
      expect(recent.map((n) => [n.id, n.state, n.attempts, n.lastError?.length, n.doneAt]).sort()).toEqual([['n-s1-b1', 'sent', 1, undefined, 50], ['n-s2-b1', 'failed', 2, 2, 70]]);
      expect(await store.outbox.nextDue()).toBeUndefined();
    });

    it('queues a --one suggestion with it, hands it out with its delivery and attempt, owes it to no one else, and reads the queue back', async () => {
      const store = await open();
      const one = (await store.commit({ ...noWrites(), suggestions: [{ id: 'q1', project: 'foo', branch: 'main', from: 'me', createdAt: 5, one: { retries: 2 } }],
        queue: [{ id: 'q1', queued: true, attempt: 1, at: 5 }] })).suggestions[0]!;
      expect(await store.suggestion('q1')).toMatchObject({ one: { retries: 2 } });
      expect(await store.queued()).toMatchObject([{ suggestion: { id: 'q1', seq: one.seq }, attempt: 1, queuedAt: 5, tried: [] }]);
      expect((await store.owed('b9', 0, 0)).suggestions.map((x) => x.id)).toEqual([]);
      await store.commit({ ...noWrites(), deliveries: [{ seq: one.seq, builder: 'b1', state: 'offered', at: 6 }], queue: [{ id: 'q1', taken: true }] });
      expect(await store.queued()).toEqual([]);
      expect(await store.openDeliveries()).toMatchObject([{ builder: 'b1', attempt: 1, suggestion: { id: 'q1' } }]);
      // Lost with b1: back in the queue as attempt 2 in the report's commit, not again to b1; then handed to b2 as attempt 2.
      await store.commit({ ...noWrites(), reports: [report(one, 'b1', 'lost', 7)], queue: [{ id: 'q1', queued: true, attempt: 2, at: 7, after: 'b1' }] });
      expect(await store.queued()).toMatchObject([{ attempt: 2, queuedAt: 7, tried: ['b1'] }]);
      await store.commit({ ...noWrites(), deliveries: [{ seq: one.seq, builder: 'b2', state: 'offered', at: 8, attempt: 2 }], queue: [{ id: 'q1', taken: true }] });
      expect(await store.openDeliveries()).toMatchObject([{ builder: 'b2', attempt: 2 }]);
    });

    it('plans what accepting a suggestion notifies in its commit, and sends one suggestion\'s entries to a sink in order', async () => {
      const store = await open();
      store.planNotifications((input) => [{ id: `${input.judged.report.id}:final`, sink: 'gh', rule: 'r', payload: '{}' }],
        (a) => [{ id: `${a.suggestion.id}:pending`, sink: 'gh', rule: 'r', payload: JSON.stringify(a.builders) }]);
      const s = await suggest(store, 'p1', { offeredTo: ['b1'] });
      await store.commit({ ...noWrites(), reports: [report(s, 'b1', 'success', 10)] });
      const other = await suggest(store, 'p2', { offeredTo: ['b1'] });
      // The final entry waits for its pending one, whatever their times; another suggestion's entries do not.
      expect((await store.outbox.due(Date.now() + 1000, 10)).map((n) => n.id)).toEqual(['p1:pending', 'p2:pending']);
      await store.outbox.sent('p1:pending', 11);
      expect((await store.outbox.due(Date.now() + 1000, 10)).map((n) => n.id)).toEqual(['p1:final', 'p2:pending']);
      await store.outbox.enqueue(other.seq, [{ id: 'p2:overdue', sink: 'chat', rule: 'o', payload: '{}' }, { id: 'p2:pending', sink: 'gh', rule: 'r', payload: '{}' }], 12);
      expect((await store.outbox.recent(10)).map((n) => n.id).sort()).toEqual(['p1:final', 'p1:pending', 'p2:overdue', 'p2:pending']);
    });
  });
}

describe.skipIf(!havePg)('the PostgreSQL record with two masters', () => {
  it('two stores racing the first migration on an empty database both open, on one schema and one record id', async () => {
    const url = await server!.database('race');
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    opened.push(a, b);
    expect(a.id).toBe(b.id);
    // Both write: places are shared, gap-free and never twice.
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).commit({ ...noWrites(), suggestions: [{ id: `x${i}`, project: 'p', branch: 'b', from: 'me', createdAt: 1 }] })));
    expect(made.map((w) => w.suggestions[0]!.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // The same report through both: stored once.
    const s = (await a.suggestion('x0'))!;
    const outcomes = await Promise.all([a, b].map((st) => st.commit({ ...noWrites(), reports: [report(s, 'b1', 'success', 5)] })));
    expect(outcomes.map((o) => o.reports[0]).sort()).toEqual(['duplicate', 'new']);
  });

  it('refuses an unreachable server within the connect timeout, in one line', async () => {
    const started = Date.now();
    const err = await PostgresStore.open('postgres://nobody@127.0.0.1:1/none', 2000).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^cannot reach the PostgreSQL store postgres:\/\/nobody@127\.0\.0\.1:1\/none: .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a commit made while the server is down waits and is stored once it is back', async () => {
    const store = await PostgresStore.open(await server!.database('restart'));
    opened.push(store);
    await suggest0(store, 'before');
    await server!.stop('SIGINT');
    const waiting = suggest0(store, 'during');
    await new Promise((r) => setTimeout(r, 500));
    await server!.restart();
    expect((await waiting).seq).toBe(2);
    expect((await store.suggestion('before'))?.seq).toBe(1);
  }, 60_000);
});

async function suggest0(store: Store, id: string): Promise<StoredSuggestion> {
  return (await store.commit({ ...noWrites(), suggestions: [{ id, project: 'p', branch: 'b', from: 'me', createdAt: 1 }] })).suggestions[0]!;
}
