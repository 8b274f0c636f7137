// The chaos run: a real master and real builders behind cuttable links, suggestions streaming, faults from a seeded schedule.
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, nodeScript, readLog, ROOT_OK, sleep, stop, until } from '../bench/common.js';
import { check, type Evidence, type Findings } from './check.js';
import { LinkProxy } from './proxy.js';
import { schedule, type Fault } from './schedule.js';

export interface ChaosOptions {
  seed: number;
  /** builders × suggestions. */
  outcomes: number;
  builders: number;
  intervalMs: number;
  faultEveryMs: number;
  /** How long everything may take to settle after the schedule ends. */
  settleMs: number;
  say: (line: string) => void;
}

export interface ChaosResult extends Findings {
  seed: number;
  suggestions: number;
  accepted: number;
  faults: Record<string, number>;
  /** Why suggesters went without an acceptance, by their first line on stderr (numbers blanked), with counts. */
  unaccepted: Record<string, number>;
  elapsedMs: number;
}

/** The build: notes that it began, sleeps as its branch says, notes that it ended, exits as its branch says. */
const SCRIPT = `#!/bin/sh
echo "start $SIMPLEBB_BUILD_ID" >> "$CHAOS_RUNS"
d=\${1#*-d}; d=\${d%%-*}
x=\${1##*-x}
sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
echo "done $SIMPLEBB_BUILD_ID $x" >> "$CHAOS_RUNS"
exit "$x"
`;

const HEARTBEAT = ['--heartbeat', '1'];

interface Proc { proc: ChildProcess; exited: Promise<void> }

function spawnProc(file: string, args: string[], env: NodeJS.ProcessEnv = {}, capture = false): Proc {
  const proc = nodeScript(file, args, { env, capture });
  return { proc, exited: new Promise<void>((r) => proc.once('exit', () => r())) };
}

function alive(p: Proc): boolean {
  return p.proc.exitCode === null && p.proc.signalCode === null;
}

class Farm {
  master!: Proc;
  port = 0;
  readonly builders: Proc[] = [];
  readonly proxies: LinkProxy[] = [];
  readonly names: string[];
  private readonly stopped = new Set<number>();
  /** Master faults one after the other: a kill that lands while the last restart still loads would leave two waiting on one start. */
  private masterTurn: Promise<void> = Promise.resolve();

  constructor(readonly dir: string, private readonly n: number) {
    this.names = Array.from({ length: n }, (_, i) => `b${i}`);
  }

  get masterLog(): string {
    return join(this.dir, 'master', 'server.log');
  }

  get db(): string {
    return join(this.dir, 'master', 'data', 'simplebb.db');
  }

  runs(i: number): string {
    return join(this.dir, `runs-${this.names[i]}.log`);
  }

  async startMaster(): Promise<void> {
    mkdirSync(join(this.dir, 'master'), { recursive: true });
    this.master = spawnProc(join(DIST, 'masterd.js'), ['--port', String(this.port), '--http', '127.0.0.1:0', '--data', join(this.dir, 'master', 'data'), '--log', this.masterLog, ...HEARTBEAT,
      '--suggest-rate', '1000', '--suggest-burst', '100000']);
    // This process's line (each line carries its pid): an earlier master's line never stands for this one.
    const pid = this.master.proc.pid;
    const line = await until('the master to listen', () => readLog(this.masterLog).find((x) => x.event === 'listening' && x.pid === pid), 20_000);
    this.port = line.port as number;
  }

  async start(): Promise<void> {
    await this.startMaster();
    const scripts = join(this.dir, 'scripts');
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, 'chaos'), SCRIPT);
    chmodSync(join(scripts, 'chaos'), 0o755);
    for (let i = 0; i < this.n; i++) {
      const p = new LinkProxy(this.port);
      await p.start();
      this.proxies.push(p);
      this.builders.push(this.spawnBuilder(i));
    }
    await until('every builder to connect', () => {
      const up = new Set(readLog(this.masterLog).filter((l) => l.event === 'connected').map((l) => l.builder));
      return this.names.every((n) => up.has(n));
    }, 30_000);
  }

  private spawnBuilder(i: number): Proc {
    const d = join(this.dir, this.names[i]!);
    return spawnProc(join(DIST, 'clientd.js'), ['--master', `127.0.0.1:${this.proxies[i]!.port}`, '--name', this.names[i]!,
      '--scripts', join(this.dir, 'scripts'), '--work', join(d, 'work'), '--state', join(d, 'state'), '--log', join(d, 'builder.log'),
      '--jobs', '2', ...HEARTBEAT, '--reconnect-base', '0.2', '--reconnect-max', '1', '--kill-grace', '0.5', ...ROOT_OK],
    { CHAOS_RUNS: this.runs(i) });
  }

  /** Carries out one fault; resolves when the process or link it hit is whole again. */
  async inflict(f: Fault): Promise<void> {
    switch (f.kind) {
      case 'kill-master': {
        const turn = this.masterTurn.then(async () => {
          this.master.proc.kill('SIGKILL');
          await this.master.exited;
          await this.startMaster();
        });
        this.masterTurn = turn.catch(() => undefined);
        return turn;
      }
      case 'kill-builder': {
        const b = this.builders[f.builder]!;
        if (this.stopped.has(f.builder)) return;
        b.proc.kill('SIGKILL');
        await b.exited;
        await sleep(f.downMs);
        this.builders[f.builder] = this.spawnBuilder(f.builder);
        return;
      }
      case 'stop-builder': {
        const b = this.builders[f.builder]!;
        if (!alive(b)) return;
        this.stopped.add(f.builder);
        b.proc.kill('SIGSTOP');
        await sleep(f.downMs);
        b.proc.kill('SIGCONT');
        this.stopped.delete(f.builder);
        return;
      }
      case 'sever':
        this.proxies[f.builder]!.sever();
        return;
      case 'blackhole':
        this.proxies[f.builder]!.blackhole(f.downMs);
        await sleep(f.downMs);
        return;
    }
  }

  async close(): Promise<void> {
    for (const b of this.builders) if (alive(b)) b.proc.kill('SIGCONT');
    await Promise.all(this.builders.map((b) => stop(b.proc)));
    await stop(this.master.proc);
    await Promise.all(this.proxies.map((p) => p.close()));
  }
}

function readRuns(file: string): Array<{ kind: 'start' | 'done'; id: string; code?: number }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [kind, id, code] = l.split(' ');
    return kind === 'done' ? { kind: 'done' as const, id: id!, code: Number(code) } : { kind: 'start' as const, id: id! };
  });
}

/** Suggestions × builders that have a report so far. */
function settledCount(db: string, builders: number): { have: number; want: number } {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const want = (d.prepare('SELECT count(*) AS n FROM suggestions').get() as { n: number }).n * builders;
    const have = (d.prepare('SELECT count(*) AS n FROM reports r JOIN suggestions s ON s.id = r.id').get() as { n: number }).n;
    return { have, want };
  } finally {
    d.close();
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const count = Math.ceil(o.outcomes / o.builders);
  const plan = schedule(o.seed, count, o.builders, o.intervalMs, o.faultEveryMs);
  const farm = new Farm(mkdtempSync(join(tmpdir(), 'simplebb-chaos-')), o.builders);
  const accepted: string[] = [];
  const faults: Record<string, number> = {};
  const unaccepted: Record<string, number> = {};
  await farm.start();
  o.say(`chaos seed ${o.seed}: ${count} suggestions to ${o.builders} builders over ${(plan.endsAt / 1000).toFixed(0)} s, ${plan.faults.length} faults`);
  try {
    const suggesters: Array<Promise<void>> = [];
    const faultsDone: Array<Promise<void>> = [];
    const start = Date.now();
    const events = [...plan.suggestions.map((s) => ({ at: s.at, s })), ...plan.faults.map((f) => ({ at: f.at, f }))].sort((a, b) => a.at - b.at);
    for (const ev of events) {
      const wait = start + ev.at - Date.now();
      if (wait > 0) await sleep(wait);
      if ('s' in ev) {
        const p = spawnProc(join(DIST, 'suggest.js'), ['-p', String(farm.port), '--json', '--connect-timeout', '10', 'chaos', ev.s.branch], {}, true);
        let out = '';
        let err = '';
        p.proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
        p.proc.stderr?.on('data', (d: Buffer) => { if (err.length < 4096) err += d.toString(); });
        let killed = false;
        suggesters.push(Promise.race([p.exited, sleep(15_000).then(() => { killed = true; p.proc.kill('SIGKILL'); })]).then(() => {
          let ok = false;
          for (const l of out.split('\n').filter(Boolean)) {
            const m = JSON.parse(l) as { type: string; id?: string };
            if (m.type === 'accepted' && m.id) {
              accepted.push(m.id);
              ok = true;
            }
          }
          if (ok) return;
          const why = killed ? 'still running after 15 s' : (err.split('\n')[0] || `exit ${p.proc.exitCode}, nothing on stderr`).replace(/\d+/g, 'N');
          unaccepted[why] = (unaccepted[why] ?? 0) + 1;
        }));
      } else {
        faults[ev.f.kind] = (faults[ev.f.kind] ?? 0) + 1;
        faultsDone.push(farm.inflict(ev.f));
      }
    }
    await Promise.all(faultsDone);
    await Promise.all(suggesters);
    o.say(`  schedule done after ${((Date.now() - t0) / 1000).toFixed(0)} s; ${accepted.length} of ${count} suggestions accepted; settling`);
    await until('every builder to report on every suggestion', () => {
      const { have, want } = settledCount(farm.db, o.builders);
      return have >= want ? true : undefined;
    }, o.settleMs, 250).catch(() => undefined);
  } finally {
    await farm.close();
  }
  const d = new Database(farm.db, { readonly: true, fileMustExist: true });
  const evidence: Evidence = {
    builders: farm.names,
    suggestions: d.prepare('SELECT id, branch FROM suggestions ORDER BY seq').all() as Evidence['suggestions'],
    accepted,
    reports: d.prepare('SELECT builder, id, verdict, exit_code AS exitCode, message FROM reports').all() as Evidence['reports'],
    runs: new Map(farm.names.map((n, i) => [n, readRuns(farm.runs(i))])),
    logged: readLog(farm.masterLog).filter((l) => l.event === 'report').map((l) => ({ builder: l.builder as string, id: l.id as string, ...(l.note ? { note: l.note as string } : {}) })),
  };
  d.close();
  const findings = check(evidence);
  // A failed run's files stay, for a look at the logs; a good run leaves nothing behind.
  if (findings.violations.length) o.say(`  the run's files are kept in ${farm.dir}`);
  else rmSync(farm.dir, { recursive: true, force: true });
  return { ...findings, seed: o.seed, suggestions: evidence.suggestions.length, accepted: accepted.length, faults, unaccepted, elapsedMs: Date.now() - t0 };
}

/** The figures of one run, a line each. */
export function describe(r: ChaosResult): string[] {
  const kinds = Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ');
  const verdicts = Object.entries(r.verdicts).sort().map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `seed ${r.seed}: ${r.outcomes} outcomes (${r.suggestions} suggestions in the record, ${r.accepted} accepted) in ${(r.elapsedMs / 1000).toFixed(0)} s`,
    `  faults: ${kinds || 'none'}`,
    ...Object.entries(r.unaccepted).map(([why, n]) => `  not accepted (${n}): ${why}`),
    `  verdicts: ${verdicts}; builds run ${r.runs}; completed but reported lost (exit status unseen) ${r.completedButLost}`,
    r.violations.length ? `  VIOLATIONS (${r.violations.length}):\n${r.violations.map((v) => `    ${v}`).join('\n')}` : '  no violations',
  ];
}
