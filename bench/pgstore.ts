// Scenario: durable reports per second through the record's commit from 100 concurrent writers, PostgreSQL against SQLite in the same run.
import { GroupCommit } from '../lib/master/commits.js';
import { EventBus } from '../lib/master/events.js';
import { PostgresStore } from '../lib/store/postgres.js';
import { SqliteStore } from '../lib/store/sqlite.js';
import { noWrites, type Store, type StoredReport, type StoredSuggestion } from '../lib/store/store.js';
import { median, table, tempDir } from './common.js';
import { pgInstalled, startPg, stopAllPg } from './pgServer.js';

const WRITERS = 100;
const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };

/** Suggestions enough for every report of a run, each reported once. */
async function seed(store: Store, n: number): Promise<StoredSuggestion[]> {
  const out: StoredSuggestion[] = [];
  for (let i = 0; i < n; i += 5000) {
    const list = Array.from({ length: Math.min(5000, n - i) }, (_, k) => ({ id: `s${i + k}`, project: 'foo', branch: 'main', from: 'bench', createdAt: Date.now() }));
    out.push(...(await store.commit({ ...noWrites(), suggestions: list })).suggestions);
  }
  return out;
}

function reportOf(s: StoredSuggestion, builder: string): StoredReport {
  return {
    builder, id: s.id, seq: s.seq, project: s.project, branch: s.branch, exitCode: 0, verdict: 'success', durationMs: 1,
    uname, node: process.version, output: 'built\n', outputBytes: 6, outputCut: 0, receivedAt: Date.now(),
  };
}

/** WRITERS loops, each awaiting one report's commit at a time for `ms`: reports stored per second. */
async function writers(store: Store, suggestions: StoredSuggestion[], ms: number, grouped: boolean): Promise<number> {
  const group = grouped ? new GroupCommit(store, new EventBus()) : undefined;
  let next = 0;
  let stored = 0;
  const end = Date.now() + ms;
  const started = Date.now();
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    while (Date.now() < end && next < suggestions.length) {
      const r = reportOf(suggestions[next++]!, `b${w}`);
      const outcome = group ? await group.report(r) : (await store.commit({ ...noWrites(), reports: [r] })).reports[0];
      if (outcome === 'new') stored++;
    }
  }));
  return stored / ((Date.now() - started) / 1000);
}

export async function pgstore(quick: boolean): Promise<unknown> {
  if (!pgInstalled()) throw new Error('PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin): apt-get install postgresql');
  const ms = quick ? 2000 : 5000;
  const runs = quick ? 1 : 3;
  const server = await startPg();
  const rows: Array<{ store: string; via: string; perSec: number[] }> = [];
  try {
    let n = 0;
    for (const grouped of [false, true]) {
      for (const kind of ['SQLite (synchronous=FULL)', 'PostgreSQL 15 (synchronous_commit=on)']) {
        const perSec: number[] = [];
        for (let i = 0; i < runs; i++) {
          const store: Store = kind.startsWith('SQLite') ? new SqliteStore(tempDir()) : await PostgresStore.open(await server.database(`bench_${++n}`));
          const suggestions = await seed(store, quick ? 60_000 : 150_000);
          perSec.push(await writers(store, suggestions, ms, grouped));
          await store.close();
        }
        rows.push({ store: kind, via: grouped ? "the master's GroupCommit" : 'store.commit() each', perSec });
      }
    }
  } finally {
    await stopAllPg();
  }
  const base = median(rows[0]!.perSec);
  table(`PostgreSQL store: durable reports/s, ${WRITERS} concurrent writers, one report per commit call, ${ms / 1000} s, median of ${runs}`,
    ['store', 'via', 'reports/s', '÷ SQLite direct'], rows.map((r) => [r.store, r.via, median(r.perSec), median(r.perSec) / base]));
  return { writers: WRITERS, ms, runs, rows };
}
