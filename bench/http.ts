// Scenario 8: the HTTP API over a large record: server time of the board's queries (newest outcome per cell, red
// now, a filtered page, a badge, the CCTray feed, metrics) with 100,000 stored reports, against a 404 of the same server in the
// same run (what any answer costs: HTTP, fastify, JSON), over one keep-alive connection.
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { SqliteStore } from '../lib/store/sqlite.js';
import { noWrites, type StoredReport } from '../lib/store/store.js';
import type { Verdict } from '../lib/protocol/messages.js';
import { fmt, percentile, readLog, startMaster, stop, table, tempDir, until } from './common.js';

const PROJECTS = 50;
const BRANCHES = 20;
const BUILDERS = 10;
const UNAME = { type: 'Linux', release: '6.1.0', version: '#1 SMP', machine: 'x86_64', hostname: 'bench' };

/** A record of `reports` reports: suggestions round-robin over projects × branches, each reported by every builder. */
async function fill(dir: string, reports: number): Promise<void> {
  const store = new SqliteStore(dir, 'OFF');
  const t0 = Date.now() - reports * 1000;
  const suggestions = Math.ceil(reports / BUILDERS);
  const builders = Array.from({ length: BUILDERS }, (_, b) => `builder-${b}`);
  for (let start = 0; start < suggestions; start += 1000) {
    const made = await store.commit({
      ...noWrites(),
      suggestions: Array.from({ length: Math.min(1000, suggestions - start) }, (_, k) => {
        const i = start + k;
        return { id: `s-${i}`, project: `project-${i % PROJECTS}`, branch: `branch-${Math.floor(i / PROJECTS) % BRANCHES}`, from: 'bench', createdAt: t0 + i * BUILDERS, offeredTo: builders };
      }),
    });
    const rows: StoredReport[] = [];
    for (const s of made.suggestions) {
      for (let b = 0; b < BUILDERS; b++) {
        // About one build in seven fails, so red cells exist and move.
        const verdict: Verdict = (s.seq * 7 + b) % 7 === 0 ? 'failure' : 'success';
        rows.push({
          builder: builders[b]!, id: s.id, seq: s.seq, project: s.project, branch: s.branch, exitCode: verdict === 'success' ? 0 : 1, verdict,
          durationMs: 1000 + (s.seq % 500), uname: UNAME, node: 'v22.11.0', output: `build ${s.id} on ${builders[b]}\n`.repeat(20), outputBytes: 600, outputCut: 0,
          receivedAt: s.createdAt + b + 1,
        });
      }
    }
    await store.commit({ ...noWrites(), reports: rows });
  }
  await store.close();
}

/** Times `n` GETs of `path` over one keep-alive connection; milliseconds each, sorted. */
async function time(base: string, agent: Agent, path: string, n: number): Promise<number[]> {
  const one = (): Promise<number> => new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = request(`${base}${path}`, { agent, timeout: 10_000 }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t) / 1e6));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
  for (let i = 0; i < Math.min(20, n); i++) await one(); // warm-up: statements prepared, JIT
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await one());
  return out.sort((a, b) => a - b);
}

export async function http(quick: boolean): Promise<unknown> {
  const reports = quick ? 20_000 : 100_000;
  const n = quick ? 50 : 200;
  const dir = tempDir();
  const t0 = Date.now();
  await fill(join(dir, 'data'), reports);
  const fillS = (Date.now() - t0) / 1000;
  const master = await startMaster([], {}, dir);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const url = await until('the API', () => readLog(master.log).find((l) => l.event === 'http-listening')?.url as string | undefined);
    const paths: Array<[string, string]> = [
      ['baseline: a 404', '/api/v1/nothing'],
      ['the board page /', '/'],
      ['a project page', '/p/project-7'],
      ['reports, newest page (50)', '/api/v1/reports'],
      ['latest=1 (50 of 10,000 cells)', '/api/v1/reports?latest=1'],
      ['latest=1&limit=500', '/api/v1/reports?latest=1&limit=500'],
      ['failing=1', '/api/v1/reports?failing=1'],
      ['project + branch + builder', '/api/v1/reports?project=project-7&branch=branch-3&builder=builder-2'],
      ['suggestions, newest page', '/api/v1/suggestions'],
      ['badge', '/badge/project-7.svg'],
      ['cctray.xml (1,000 of 10,000 cells)', '/cctray.xml'],
      ['metrics', '/metrics'],
    ];
    const rows: Array<{ what: string; path: string; p50: number; p99: number }> = [];
    for (const [what, path] of paths) {
      const ms = await time(url, agent, path, n);
      rows.push({ what, path, p50: percentile(ms, 50), p99: percentile(ms, 99) });
    }
    const base = rows[0]!;
    table(`8. HTTP API over ${reports.toLocaleString('en-US')} stored reports (${(PROJECTS * BRANCHES * BUILDERS).toLocaleString('en-US')} cells), ${n} sequential GETs each over one keep-alive connection, record filled in ${fmt(fillS, 1)} s`,
      ['request', 'p50 ms', 'p99 ms', 'p50 × 404', 'p99 × 404'],
      rows.map((r) => [r.what, r.p50, r.p99, fmt(r.p50 / base.p50), fmt(r.p99 / base.p99)]));
    return { reports, requests: n, rows };
  } finally {
    agent.destroy();
    await stop(master.proc);
  }
}
