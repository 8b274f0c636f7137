// A PostgreSQL 15 server of a test's or a benchmark's own (initdb in a temp dir, a free loopback port, an unprivileged user), stopped by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { until } from './common.js';

/** Where Debian's postgresql-15 puts its programs. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The user the server runs as when the tests run as root (initdb and postgres refuse root). */
const PG_USER = 'nobody';

/** Whether Debian's PostgreSQL 15 programs are there. */
export function pgInstalled(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'postgres'));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  port: number;
  /** A URL of a fresh database on it. */
  database(name: string): Promise<string>;
  /** The postmaster's PID. */
  pid: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same data dir and port (after stop or a kill). */
  restart(): Promise<void>;
}

/** Runs a program of PG_BIN as the unprivileged user when we are root. */
function asUser(prog: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', PG_USER, '--', join(PG_BIN, prog), ...args]] : [join(PG_BIN, prog), args];
}

export async function startPg(): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), 'simplebb-pg-'));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', PG_USER]).toString());
    const gid = Number(execFileSync('id', ['-g', PG_USER]).toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const [cmd, args] = asUser('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--locale=C', '--encoding=UTF8', '-N']);
  execFileSync(cmd, args, { stdio: 'pipe', timeout: 60_000 });
  const port = await freePort();
  let child: ChildProcess;
  let log = '';
  const launch = async (): Promise<void> => {
    const [c, a] = asUser('postgres', ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on', '-c', 'max_connections=100']);
    child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await until(`PostgreSQL on port ${port}`, () => {
      if (child.exitCode !== null) throw new Error(`PostgreSQL exited at start: ${log.trim().split('\n').slice(-3).join(' / ')}`);
      return existsSync(join(data, 'postmaster.pid')) && /ready to accept connections/.test(log);
    }, 30_000, 50);
  };
  await launch();
  /** runuser forks: the postmaster is the PID its pid file names. */
  const postmaster = (): number => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const server: PgServer = {
    port,
    pid: postmaster(),
    async database(name) {
      const [c, a] = asUser('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-q', '-c', `CREATE DATABASE ${name}`]);
      execFileSync(c, a, { stdio: 'pipe', timeout: 30_000 });
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop(signal = 'SIGTERM') {
      const pid = server.pid;
      try { process.kill(pid, signal); } catch { return; }
      await until('PostgreSQL to stop', () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 30_000, 50);
      await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    },
    async restart() {
      log = '';
      await launch();
      server.pid = postmaster();
    },
  };
  cleanups.push(async () => {
    await server.stop('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

const cleanups: Array<() => Promise<void>> = [];

/** Stops every server startPg made (by PID) and removes its dir: call in afterAll, or at a benchmark's end. */
export async function stopAllPg(): Promise<void> {
  for (const c of cleanups.splice(0)) await c();
}
