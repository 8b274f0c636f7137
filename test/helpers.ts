// Test harness: starts the real programs as separate processes on ephemeral loopback ports with temp dirs, every wait bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { readLog } from '../lib/common/log.js';
import { LineFramer } from '../lib/wire/framing.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');

/** clientd refuses root by default; CI and this sandbox run tests as root. */
export const ROOT_OK = process.getuid?.() === 0 ? ['--allow-root'] : [];

const started = new Set<ChildProcess>();
const dirs: string[] = [];

/** A fresh temp dir, removed by cleanup(). */
export function tempDir(prefix = 'simplebb-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Polls until `check` returns (or resolves to) a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // Awaited: an async check's promise is truthy, and would end the wait at once.
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Parsed JSON lines of a log file (missing file: none). */
export { readLog };

/** Writes an executable script. */
export function script(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns one of our compiled programs (or any command) and tracks it for cleanup. */
export function spawnProc(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => {
      started.delete(child);
      res({ code, signal });
    });
  });
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, exited };
}

export function node(program: 'masterd' | 'clientd' | 'suggest' | 'simplebb', args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Proc {
  // A master's HTTP listener on a free port unless a test says otherwise: the default 7901 would be shared by tests running at once.
  return spawnProc(process.execPath, [join(DIST, `${program}.js`), ...args], { ...opts, env: { SIMPLEBB_HTTP: '127.0.0.1:0', ...opts.env } });
}

export interface Master extends Proc {
  port: number;
  dir: string;
  logFile: string;
  /** Its HTTP API (http://127.0.0.1:PORT), unless started with --http off. */
  httpUrl?: string;
  log: () => Array<Record<string, unknown>>;
  reports: () => Array<Record<string, unknown>>;
}

/** Starts simplebb-masterd on a free loopback port; resolves once it listens. */
export async function startMaster(opts: { dir?: string; port?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Master> {
  const dir = opts.dir ?? tempDir('simplebb-master-');
  const logFile = join(dir, 'server.log');
  const before = readLog(logFile).length;
  const p = node('masterd', ['--port', String(opts.port ?? 0), '--data', join(dir, 'data'), '--log', logFile, ...(opts.args ?? [])], { env: opts.env });
  const listening = await waitFor('master to listen', () => readLog(logFile).slice(before).find((l) => l.event === 'listening')
    ?? (p.child.exitCode !== null ? { event: 'exited' } : undefined), 15_000);
  if (listening.event === 'exited') throw new Error(`masterd exited: ${p.stderr()}`);
  const log = (): Array<Record<string, unknown>> => readLog(logFile);
  return {
    ...p, port: listening.port as number, dir, logFile, log, reports: () => log().filter((l) => l.event === 'report'),
    ...(typeof listening.http === 'string' ? { httpUrl: listening.http } : {}),
  };
}

export interface Builder extends Proc {
  name: string;
  dir: string;
  scripts: string;
  logFile: string;
  log: () => Array<Record<string, unknown>>;
}

/** Starts simplebb-clientd against a master; resolves once it is connected (unless `connected: false`). */
export async function startBuilder(port: number, opts: { name?: string; dir?: string; scripts?: Record<string, string>; args?: string[]; wait?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Builder> {
  const dir = opts.dir ?? tempDir('simplebb-builder-');
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts, { recursive: true });
  for (const [n, body] of Object.entries(opts.scripts ?? {})) script(scripts, n, body);
  const name = opts.name ?? 'b1';
  const logFile = join(dir, 'builder.log');
  const before = readLog(logFile).filter((l) => l.event === 'connected').length;
  const p = node('clientd', ['--master', `127.0.0.1:${port}`, '--name', name, '--scripts', scripts, '--work', join(dir, 'work'),
    '--state', join(dir, 'state'), '--log', logFile, '--reconnect-base', '0.2', '--reconnect-max', '1', ...ROOT_OK, ...(opts.args ?? [])], { env: opts.env });
  if (opts.wait !== false) {
    await waitFor(`builder ${name} to connect`, () => readLog(logFile).filter((l) => l.event === 'connected').length > before
      || (p.child.exitCode !== null && (() => { throw new Error(`clientd exited: ${p.stderr()}`); })()), 15_000);
  }
  return { ...p, name, dir, scripts, logFile, log: () => readLog(logFile) };
}

/** Runs one of the short-lived programs to completion (bounded: killed and an error after `timeoutMs`). */
export async function runToEnd(program: 'suggest' | 'simplebb', args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = node(program, args, { input: opts.input, env: opts.env });
  const timeout = sleep(opts.timeoutMs ?? 20_000).then(() => 'timeout' as const);
  const r = await Promise.race([p.exited, timeout]);
  if (r === 'timeout') {
    p.child.kill('SIGKILL');
    throw new Error(`${program} ${args.join(' ')} did not exit in time; stdout: ${p.stdout()} stderr: ${p.stderr()}`);
  }
  return { code: r.code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Runs simplebb-suggest to completion (bounded). */
export function suggest(port: number, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToEnd('suggest', ['-p', String(port), ...args], opts);
}

/** Runs COMMAND under a pseudo-terminal (script(1)) and returns what it printed there; 10 s bound. */
export function onTerminal(command: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`timed out; output so far: ${out}`)); }, 10_000);
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', () => { clearTimeout(timer); resolve(out.replace(/\r\n/g, '\n')); });
  });
}

/** The reports a builder's inbox journal (STATE/inbox.log) keeps for the master's ack: report lines with no done line after them. */
export function keptReports(stateDir: string): Array<Record<string, unknown>> {
  const kept = new Map<string, Record<string, unknown>>();
  let text = '';
  try {
    text = readFileSync(join(stateDir, 'inbox.log'), 'utf8');
  } catch {
    return [];
  }
  for (const raw of text.split('\n')) {
    let l: { t?: string; id?: string; r?: Record<string, unknown> };
    try {
      l = JSON.parse(raw) as typeof l;
    } catch {
      continue;
    }
    if (l.t === 'report' && l.r) kept.set(l.r.id as string, l.r);
    else if (l.t === 'done' && l.id) kept.delete(l.id);
  }
  return [...kept.values()];
}

/** Stops a process we started (SIGTERM, then SIGKILL), by PID. */
export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 8000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.pid, signal);
  const r = await Promise.race([p.exited, sleep(timeoutMs).then(() => null)]);
  if (r) return r;
  process.kill(p.pid, 'SIGKILL');
  return p.exited;
}

/** Kills every process a test started and removes temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all([...started].map(async (c) => {
    try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ }
    await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
  }));
  // Builds run in their own process groups and outlive a clientd killed with SIGKILL: end any still running
  // a script from this test's temp dirs (found by command line), so a failed test leaks nothing.
  for (const pid of buildsUnder(dirs)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Processes whose command line names a file inside one of `roots`. */
function buildsUnder(roots: string[]): number[] {
  if (!roots.length) return [];
  const found: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (roots.some((r) => cmd.includes(r + '/'))) found.push(Number(p));
    } catch {
      // gone
    }
  }
  return found.filter((pid) => pid !== process.pid);
}

/** A raw TCP connection to the master that collects every line it sends back. */
export function rawClient(port: number) {
  const sock = connect({ host: '127.0.0.1', port });
  const got: Array<Record<string, unknown>> = [];
  let closed = false;
  sock.on('data', messages((m) => got.push(m)));
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { closed = true; });
  const lines = (): Array<Record<string, unknown>> => [...got];
  const send = (m: unknown): boolean => sock.write(JSON.stringify(m) + '\n');
  return { sock, lines, send, closed: () => closed };
}

/**
 * A socket 'data' handler that parses the wire's messages as JSON, without validating them, and gives an `output`
 * message its raw bytes (which follow its line) as `data`.
 */
export function messages(on: (m: Record<string, unknown>) => void): (chunk: Buffer) => void {
  const framer = new LineFramer(16 * 1024 * 1024);
  let awaiting: Record<string, unknown> | undefined;
  return (chunk) => framer.feed(chunk, (e) => {
    if (e.kind === 'overflow') throw new Error('test peer: line too long');
    if (e.kind === 'payload') {
      on({ ...awaiting, data: e.data });
      awaiting = undefined;
      return;
    }
    const m = JSON.parse(e.line.toString()) as Record<string, unknown>;
    if (m.type === 'output' && typeof m.bytes === 'number') {
      awaiting = m;
      return m.bytes;
    }
    on(m);
  });
}

/** The record id a fakeMaster() greets with. */
export const FAKE_STORE = 'fa'.repeat(16);

/** A hand-written master: completes the handshake, acknowledges reports, records what the builder sends, and lets a test send anything. */
export async function fakeMaster() {
  const received: Array<Record<string, unknown>> = [];
  let client: Socket | undefined;
  const server = createServer((s) => {
    client = s;
    s.on('data', messages((m) => {
      received.push(m);
      if (m.type === 'hello') s.write(JSON.stringify({ type: 'welcome', protocol: 2, heartbeatMs: 10_000 }) + '\n' + JSON.stringify({ type: 'synced', seq: 0 }) + '\n');
      if (m.type === 'report') s.write(JSON.stringify({ type: 'ack', id: m.id }) + '\n');
    }));
    s.on('error', () => undefined);
    s.write(JSON.stringify({ type: 'greeting', protocol: 2, server: 'fake', nonce: 'n', store: FAKE_STORE }) + '\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  let seq = 0;
  return {
    port, received,
    /** Sends a build order with the next place in the fake log. */
    order: (o: { id: string; project: string; branch: string; revision?: string }) => client!.write(JSON.stringify({ type: 'suggest', seq: ++seq, ...o }) + '\n'),
    reports: () => received.filter((m) => m.type === 'report'),
    connected: () => client !== undefined,
    send: (m: unknown) => client!.write(Buffer.isBuffer(m) ? Buffer.concat([m, Buffer.from('\n')]) : (typeof m === 'string' ? m : JSON.stringify(m)) + '\n'),
    close: () => new Promise((r) => { client?.destroy(); server.close(r); }),
  };
}

/** A loopback port nothing listens on now (bound, then let go). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
