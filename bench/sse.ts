// Scenario 10: live pages while builds stream: 10 builders each run a build that prints a timestamped line every
// 20 ms, while N pages are open, each with the event stream (/api/v1/events) and one build's live log
// (/api/v1/reports/ID/BUILDER/log, streamed while it runs, as a build page follows it). Delivery time from the
// builder's script printing a line to a page reading it, and from a report's arrival at the master to its `report`
// event on every page; 100 pages against 1 page (the baseline) in the same run, on the same master.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { DIST, fmt, nodeScript, percentile, readLog, ROOT_OK, sleep, startMaster, stop, table, tempDir, until } from './common.js';

const BUILDERS = 10;
/** Every wait of the scenario: a round prints for a few seconds. */
const ROUND_MS = 120_000;

/** The wall clock in ms with sub-millisecond digits, comparable with `date +%s%N` on the same machine. */
const wallMs = (): number => performance.timeOrigin + performance.now();

/** GETs `path` and hands each piece of the body to `piece`; resolves with the request once the answer's head is in. */
function open(url: string, path: string, piece: (text: string) => void, ended: () => void): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`bench: ${path} answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', piece);
      res.on('end', ended);
      res.on('error', () => undefined);
      resolve(req);
    });
    req.on('error', (e) => reject(e));
    req.end();
  });
}

interface Round { pages: number; output: number[]; reports: number[] }

/** One round: a suggestion to every builder, `pages` pages opened once all run, then the go to print. */
async function round(url: string, dir: string, pages: number, lines: number): Promise<Round> {
  const branch = `r${pages}`;
  const made = await (await fetch(`${url}/api/v1/suggestions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ project: 'talk', branch }), signal: AbortSignal.timeout(10_000),
  })).json() as { id: string; builders: string[] };
  if (made.builders?.length !== BUILDERS) throw new Error(`bench: the suggestion went to ${made.builders?.length ?? 0} builders, not ${BUILDERS}`);
  for (const end = Date.now() + ROUND_MS; ; await sleep(50)) {
    const s = await (await fetch(`${url}/api/v1/suggestions/${made.id}`, { signal: AbortSignal.timeout(10_000) })).json() as { deliveries: Array<{ state: string }> };
    if (s.deliveries.filter((d) => d.state === 'started').length === BUILDERS) break;
    if (Date.now() > end) throw new Error(`bench: the ${BUILDERS} builds did not all start in ${ROUND_MS} ms`);
  }
  const r: Round = { pages, output: [], reports: [] };
  const requests: ClientRequest[] = [];
  let logsOpen = 0;
  const reportsSeen: number[] = Array.from({ length: pages }, () => 0);
  const t0 = performance.now();
  for (let p = 0; p < pages; p++) {
    let events = '';
    requests.push(await open(url, '/api/v1/events', (text) => {
      const now = wallMs();
      events += text;
      const frames = events.split('\n\n');
      events = frames.pop()!;
      for (const f of frames) {
        const data = /^event: report\ndata: (.*)$/m.exec(f)?.[1];
        if (!data) continue;
        r.reports.push(now - (JSON.parse(data) as { receivedAt: number }).receivedAt);
        reportsSeen[p]!++;
      }
    }, () => undefined));
    let partial = '';
    logsOpen++;
    requests.push(await open(url, `/api/v1/reports/${made.id}/b${p % BUILDERS}/log`, (text) => {
      const now = wallMs();
      const got = (partial + text).split('\n');
      partial = got.pop()!;
      for (const l of got) {
        const m = /^t (\d+)$/.exec(l);
        if (m) r.output.push(now - Number(m[1]) / 1e6);
      }
    }, () => { logsOpen--; }));
  }
  const opened = performance.now() - t0;
  writeFileSync(join(dir, `go-${branch}`), '');
  try {
    await until('every page to see its build end and every report', () => logsOpen === 0 && reportsSeen.every((n) => n >= BUILDERS), ROUND_MS, 50);
  } catch (err) {
    throw new Error(`${(err as Error).message} (${pages} pages opened in ${fmt(opened / 1000, 1)} s; logs still open: ${logsOpen}; fewest reports seen by a page: ${Math.min(...reportsSeen)})`);
  }
  for (const q of requests) q.destroy();
  if (r.output.length !== pages * lines) throw new Error(`bench: the pages read ${r.output.length} lines, not ${pages * lines}`);
  r.output.sort((a, b) => a - b);
  r.reports.sort((a, b) => a - b);
  return r;
}

export async function sse(quick: boolean): Promise<unknown> {
  const lines = quick ? 50 : 150;
  const dir = tempDir();
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  // Waits (at most 120 s) for its round's go, then prints a line with the time it printed it, every 20 ms.
  writeFileSync(join(scripts, 'talk'), `#!/bin/sh\ni=0\nwhile [ ! -e ${dir}/go-$1 ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done\n`
    + `i=0\nwhile [ $i -lt ${lines} ]; do echo "t $(date +%s%N)"; sleep 0.02; i=$((i+1)); done\n`);
  chmodSync(join(scripts, 'talk'), 0o755);
  const m = await startMaster();
  const builders = Array.from({ length: BUILDERS }, (_, b) => nodeScript(join(DIST, 'clientd.js'), ['--master', `127.0.0.1:${m.port}`, '--name', `b${b}`,
    '--scripts', scripts, '--work', join(dir, `work-${b}`), '--state', join(dir, `state-${b}`), '--log', join(dir, `b${b}.log`), ...ROOT_OK]));
  try {
    const url = await until('the API', () => readLog(m.log).find((l) => l.event === 'http-listening')?.url as string | undefined);
    await until('every builder', () => readLog(m.log).filter((l) => l.event === 'connected').length >= BUILDERS, 30_000, 50);
    const base = await round(url, dir, 1, lines);
    const many = await round(url, dir, 100, lines);
    const row = (r: Round): Array<string | number> => [
      String(r.pages), r.output.length.toLocaleString('en-US'), percentile(r.output, 50), percentile(r.output, 99), fmt(percentile(r.output, 99) / percentile(base.output, 99)),
      r.reports.length.toLocaleString('en-US'), percentile(r.reports, 50), percentile(r.reports, 99),
    ];
    table(`10. Live pages: ${BUILDERS} builds each printing ${lines} lines 20 ms apart; each page holds the event stream and one build's live log (ms)`,
      ['pages', 'lines read', 'output p50', 'output p99', 'p99 × 1 page', 'report events', 'report p50', 'report p99'], [row(base), row(many)]);
    const summary = (r: Round) => ({
      pages: r.pages, lines: r.output.length, outputP50: percentile(r.output, 50), outputP99: percentile(r.output, 99),
      reportEvents: r.reports.length, reportP50: percentile(r.reports, 50), reportP99: percentile(r.reports, 99),
    });
    return { builders: BUILDERS, linesPerBuild: lines, rounds: [summary(base), summary(many)] };
  } finally {
    await Promise.all(builders.map((b) => stop(b)));
    await stop(m.proc);
  }
}
