// The record's read side against a real SQLite file: filters, the newest outcome per cell, red now, and pages.
import { afterEach, describe, expect, it } from 'vitest';
import type { Verdict } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type StoredReport } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };

/** A record with suggestions on two projects, each reported by two builders in turn. */
async function filled() {
  const store = new SqliteStore(tempDir());
  let t = 1_000_000;
  const made = async (project: string, branch: string, verdicts: Record<string, Verdict>) => {
    const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id: `s-${t}`, project, branch, from: 'test', createdAt: t, offeredTo: Object.keys(verdicts) }] });
    const reports: StoredReport[] = Object.entries(verdicts).map(([builder, verdict], i) => ({
      builder, id: s!.id, seq: s!.seq, project, branch, exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 10 + i,
      uname, node: 'v22', output: `out of ${builder}`, outputBytes: 10, outputCut: 0, receivedAt: t + 1 + i,
    }));
    await store.commit({ ...noWrites(), reports });
    t += 100;
    return s!;
  };
  const first = await made('foo', 'main', { b1: 'success', b2: 'failure' });
  await made('foo', 'main', { b1: 'failure', b2: 'lost' }); // lost is not an outcome: b2's newest outcome stays failure
  await made('foo', 'dev', { b1: 'success' });
  await made('bar', 'main', { b2: 'success' });
  const last = await made('foo', 'main', { b1: 'success' });
  return { store, first, last };
}

describe('History', () => {
  it('filters reports, newest first, and pages through them with a cursor without gaps or repeats', async () => {
    const { store } = await filled();
    const all = await store.history.reports({ limit: 100 });
    expect(all).toHaveLength(7);
    expect(all.map((r) => r.receivedAt)).toEqual([...all.map((r) => r.receivedAt)].sort((a, b) => b - a));
    expect(all[0]).not.toHaveProperty('output');
    expect((await store.history.reports({ builder: 'b2', limit: 100 })).map((r) => r.verdict)).toEqual(['success', 'lost', 'failure']);
    expect((await store.history.reports({ project: 'foo', branch: 'main', verdict: 'failure', limit: 100 })).map((r) => r.builder)).toEqual(['b1', 'b2']);
    expect(await store.history.reports({ since: all[2]!.receivedAt, limit: 100 })).toEqual(all.slice(0, 3));
    expect(await store.history.reports({ until: all[5]!.receivedAt, limit: 100 })).toEqual(all.slice(5));
    const pages = [];
    let after;
    for (let i = 0; i < 10; i++) {
      const page = await store.history.reports({ limit: 3, ...(after ? { after } : {}) });
      pages.push(...page);
      if (page.length < 3) break;
      const end = page.at(-1)!;
      after = { receivedAt: end.receivedAt, id: end.id, builder: end.builder };
    }
    expect(pages).toEqual(all);
  });

  it('gives the newest build outcome per project, branch and builder, and those red now', async () => {
    const { store, last } = await filled();
    const latest = await store.history.reports({ latest: true, limit: 100 });
    expect(latest.map((r) => `${r.project}/${r.branch}/${r.builder}=${r.verdict}`).sort()).toEqual([
      'bar/main/b2=success', 'foo/dev/b1=success', 'foo/main/b1=success', 'foo/main/b2=failure',
    ]);
    expect(latest.find((r) => r.builder === 'b1' && r.branch === 'main')!.id).toBe(last.id);
    expect((await store.history.reports({ failing: true, limit: 100 })).map((r) => `${r.project}/${r.branch}/${r.builder}`)).toEqual(['foo/main/b2']);
    // The matrix's light view of the same cells: the same ids and verdicts, newest first.
    const cells = await store.history.cells(100);
    expect(cells.map((c) => `${c.id}/${c.builder}=${c.verdict}`)).toEqual(latest.map((r) => `${r.id}/${r.builder}=${r.verdict}`));
    expect(cells[0]).toEqual({ project: latest[0]!.project, branch: latest[0]!.branch, builder: latest[0]!.builder, id: latest[0]!.id, verdict: latest[0]!.verdict, receivedAt: latest[0]!.receivedAt });
    expect(await store.history.reports({ failing: true, project: 'bar', limit: 100 })).toEqual([]);
  });

  it('shows a suggestion with every builder\'s part and verdict, and lists them by filter', async () => {
    const { store, first, last } = await filled();
    const view = await store.history.suggestionView(first.id);
    expect(view).toMatchObject({ id: first.id, project: 'foo', branch: 'main' });
    expect(view!.deliveries).toEqual([
      { builder: 'b1', state: 'reported', at: expect.any(Number), verdict: 'success', exitCode: 0, durationMs: 10 },
      { builder: 'b2', state: 'reported', at: expect.any(Number), verdict: 'failure', exitCode: 1, durationMs: 11 },
    ]);
    expect(await store.history.suggestionView('nope')).toBeUndefined();
    const list = await store.history.suggestions({ limit: 100 });
    expect(list.map((s) => s.seq)).toEqual([5, 4, 3, 2, 1]);
    expect((await store.history.suggestions({ builder: 'b2', limit: 100 })).map((s) => s.seq)).toEqual([4, 2, 1]);
    expect((await store.history.suggestions({ verdict: 'lost', limit: 100 })).map((s) => s.seq)).toEqual([2]);
    expect((await store.history.suggestions({ project: 'foo', beforeSeq: last.seq, limit: 1 })).map((s) => s.seq)).toEqual([3]);
    expect((await store.history.report(first.id, 'b2'))!.output).toBe('out of b2');
    expect(await store.history.builderNames()).toEqual([]);
  });
});
