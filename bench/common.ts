// Shared pieces of the benchmarks: starting our programs, reading memory, statistics, tables and result files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLog } from '../lib/common/log.js';

const above = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** dist/ (the benchmarks run compiled, as users do; the chaos test loads this file from source and still runs dist/). */
export const DIST = basename(above) === 'dist' ? above : join(above, 'dist');
export const ROOT = resolve(DIST, '..');
/** Where results go: bench/results/, or $SIMPLEBB_BENCH_RESULTS (scripts/bench-runtimes.sh gives each runtime its own). */
export const RESULTS = process.env.SIMPLEBB_BENCH_RESULTS ? resolve(process.env.SIMPLEBB_BENCH_RESULTS) : join(ROOT, 'bench', 'results');

const children = new Set<ChildProcess>();
const dirs: string[] = [];

export function tempDir(prefix = 'simplebb-bench-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A promise bounded in time: rejects naming WHAT if it has not settled in `ms`. */
export function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`bench: timed out after ${ms} ms waiting for ${what}`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  ipc?: boolean;
  /** Read its stdout (otherwise ignored) and its stderr (otherwise shared with ours). */
  capture?: boolean;
}

/** Spawns a process we track and end at the end of the run. */
export function start(cmd: string, args: string[], opts: StartOptions = {}): ChildProcess {
  const io = opts.capture ? ['ignore', 'pipe', 'pipe'] as const : ['ignore', 'ignore', 'inherit'] as const;
  const c = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: opts.ipc ? [...io, 'ipc'] : [...io] });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

export function nodeScript(file: string, args: string[], opts: StartOptions = {}): ChildProcess {
  return start(process.execPath, [file, ...args], opts);
}

export { readLog };

/** clientd refuses root; the benchmarks' builds are trivial scripts in temp dirs. */
export const ROOT_OK = process.getuid?.() === 0 ? ['--allow-root'] : [];

export interface BenchMaster { proc: ChildProcess; port: number; dir: string; log: string }

/** Starts simplebb-masterd on a free loopback port. */
export async function startMaster(args: string[] = [], env: NodeJS.ProcessEnv = {}, dir = tempDir()): Promise<BenchMaster> {
  const log = join(dir, 'server.log');
  const proc = nodeScript(join(DIST, 'masterd.js'), ['--port', '0', '--http', '127.0.0.1:0', '--data', join(dir, 'data'), '--log', log, '--suggest-rate', '1000000', '--suggest-burst', '1000000', '--max-conns-per-address', '1000000', ...args], { env });
  const port = await until('master to listen', () => readLog(log).find((l) => l.event === 'listening')?.port as number | undefined);
  return { proc, port, dir, log };
}

/** Ends a process by PID and waits for it. */
export async function stop(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await Promise.race([done, sleep(8000).then(() => c.kill('SIGKILL'))]);
  await done;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Resident memory of a process in bytes (VmRSS), or its peak (VmHWM). */
export function rss(pid: number, peak = false): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${peak ? 'VmHWM' : 'VmRSS'}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

/** Prints a table with a title. */
export function table(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  console.log(`\n${title}`);
  cells.forEach((r, j) => {
    console.log('  ' + r.map((c, i) => String(c).padStart(widths[i]!)).join('  '));
    if (j === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

/** What machine and when, stored with every result. */
export function machine(): Record<string, unknown> {
  return { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem(), platform: `${process.platform} ${process.arch}` };
}

export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${name}.json`);
  writeFileSync(file, JSON.stringify({ scenario: name, machine: machine(), ...(data as object) }, null, 2) + '\n');
  return file;
}
