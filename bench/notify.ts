// Scenario: what planning notifications inside the commit costs the record: reports stored per second, in commits of
// the group-commit size, with no --notify (the baseline, same run) and with three rules planning into the outbox;
// and what the outbox's order (one suggestion's entries to a sink in plan order) costs the sender's read of what is due.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { planner } from '../lib/notify/plan.js';
import type { Rule } from '../lib/notify/rules.js';
import { SqliteStore } from '../lib/store/sqlite.js';
import { noWrites, type StoredReport } from '../lib/store/store.js';
import { median, table, tempDir } from './common.js';

const BUILDERS = 4;
/** Reports per commit: about what one turn of the event loop gathers under load. */
const PER_COMMIT = 100;
const RULES: Rule[] = [
  { name: 'team', when: ['broken', 'fixed'], perBuilder: false, sink: 'mail' },
  { name: 'chat', when: ['broken', 'fixed', 'lost'], branches: ['main'], perBuilder: false, sink: 'chat' },
  { name: 'each', when: ['failure'], perBuilder: true, sink: 'script' },
];
const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };

/** Reports per second for `suggestions` suggestions × BUILDERS reports, every third suggestion red on one builder. */
async function round(withPlanner: boolean, suggestions: number): Promise<{ perSec: number; planned: number }> {
  const store = new SqliteStore(tempDir());
  if (withPlanner) store.planNotifications(planner(RULES));
  const builders = Array.from({ length: BUILDERS }, (_, i) => `b${i}`);
  const { suggestions: made } = await store.commit({
    ...noWrites(), suggestions: Array.from({ length: suggestions }, (_, i) => ({ id: `s-${i}`, project: 'foo', branch: i % 2 ? 'main' : 'dev', revision: `r${i}`, from: 'bench', createdAt: i, offeredTo: builders })),
  });
  const reports: StoredReport[] = made.flatMap((s, i) => builders.map((builder, b) => ({
    builder, id: s.id, seq: s.seq, project: s.project, branch: s.branch, revision: s.revision!, exitCode: 0,
    verdict: (b === 0 && i % 3 === 0 ? 'failure' : 'success') as StoredReport['verdict'], durationMs: 1, uname, node: 'v22',
    output: 'some output\n'.repeat(20), outputBytes: 240, outputCut: 0, receivedAt: 1_000_000 + i * BUILDERS + b,
  })));
  const t0 = performance.now();
  for (let i = 0; i < reports.length; i += PER_COMMIT) await store.commit({ ...noWrites(), reports: reports.slice(i, i + PER_COMMIT) });
  const ms = performance.now() - t0;
  const planned = (await store.outbox.recent(100_000)).length;
  await store.close();
  return { perSec: reports.length / (ms / 1000), planned };
}

/** Sent entries and pending ones (two per suggestion: a pending status and its final) in the outbox read. */
const SENT = 50_000;
const PENDING = 10_000;
/** Reads of a batch of 8 timed per round. */
const READS = 50;

/** The median time (ms) of `due()` for a batch of 8, with the order's index (schema step 11) or without it (dropped: the baseline). */
async function dueRound(withIndex: boolean): Promise<number> {
  const dir = tempDir();
  const store = new SqliteStore(dir);
  const db = new Database(join(dir, 'simplebb.db'));
  const add = db.prepare<[string, number, string, number, number], never>(`INSERT INTO notifications (id, seq, sink, rule, payload, state, attempts, created_at, next_at)
    VALUES (?, ?, 'forge', 'r', '{}', ?, 0, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < SENT + PENDING; i++) add.run(`n${i}`, i >> 1, i < SENT ? 'sent' : 'pending', i, i);
  })();
  if (!withIndex) db.exec('DROP INDEX notifications_order');
  db.close();
  const times: number[] = [];
  for (let i = 0; i < READS; i++) {
    const t0 = performance.now();
    const due = await store.outbox.due(Number.MAX_SAFE_INTEGER, 8);
    times.push(performance.now() - t0);
    if (due.length !== 8) throw new Error(`bench: the outbox gave ${due.length} entries, not 8`);
  }
  await store.close();
  return median(times);
}

export async function notify(quick: boolean): Promise<unknown> {
  const order = await notifyOrder(quick ? 1 : 3);
  return { ...(await notifyCommit(quick)), ...order };
}

async function notifyOrder(rounds: number): Promise<{ dueMs: number; dueMsWithoutIndex: number }> {
  const without: number[] = [];
  const withIndex: number[] = [];
  for (let i = 0; i < rounds; i++) {
    without.push(await dueRound(false));
    withIndex.push(await dueRound(true));
  }
  const b = median(without);
  const w = median(withIndex);
  table(`notify: the sender's read of 8 due entries among ${SENT} sent and ${PENDING} pending (two per suggestion and sink), median of ${READS} reads × ${rounds}`,
    ['outbox', 'ms', 'ratio'], [['order by a scan (no index, baseline)', b, '1.00×'], ['order by the index (schema step 11)', w, `${(w / b).toFixed(3)}×`]]);
  return { dueMs: w, dueMsWithoutIndex: b };
}

async function notifyCommit(quick: boolean): Promise<Record<string, number>> {
  const suggestions = quick ? 500 : 2000;
  const rounds = quick ? 3 : 5;
  const base: number[] = [];
  const planned: number[] = [];
  let outbox = 0;
  for (let i = 0; i < rounds; i++) {
    // Interleaved, so drift on a shared machine hits both alike.
    base.push((await round(false, suggestions)).perSec);
    const r = await round(true, suggestions);
    planned.push(r.perSec);
    outbox = r.planned;
  }
  const b = median(base);
  const p = median(planned);
  table(`notify: reports stored per second (SQLite, synchronous=FULL, ${PER_COMMIT} per commit, ${suggestions * BUILDERS} reports, median of ${rounds})`,
    ['record', 'reports/s', 'ratio'], [['no --notify (baseline)', b, '1.00×'], ['3 rules planning into the outbox', p, `${(p / b).toFixed(2)}×`]]);
  console.log(`  outbox entries planned per round: ${outbox} (every third suggestion red on one builder: broken, fixed, failure)`);
  return { baselinePerSec: b, plannedPerSec: p, ratio: p / b, reports: suggestions * BUILDERS, rounds };
}
