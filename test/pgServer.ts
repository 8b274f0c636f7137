// Test harness: a PostgreSQL 15 server of the test's own (initdb in a temp dir, a free loopback port, an unprivileged user), stopped by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './helpers.js';

/** Where Debian's postgresql-15 puts its programs. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The user the server runs as when the tests run as root (initdb and postgres refuse root). */
const PG_USER = 'nobody';

/** Whether the suite can run; locally it may skip saying why, in CI (CI set) it must run. */
export function pgAvailable(): boolean {
  const there = existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'postgres'));
  if (!there && process.env.CI) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb): CI must run the PostgreSQL suite (.ci/run installs postgresql)`);
  if (!there) process.stderr.write(`PostgreSQL 15 is not installed (${PG_BIN}/initdb): the PostgreSQL store's tests are skipped here\n`);
  return there;
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
    await waitFor(`PostgreSQL on port ${port} (${log.slice(-300)})`, () => existsSync(join(data, 'postmaster.pid')) && /ready to accept connections/.test(log), 30_000, 50);
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
      await waitFor('PostgreSQL to stop', () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 30_000, 50);
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

/** Stops every server startPg made (by PID) and removes its dir: call in afterAll. */
export async function stopAllPg(): Promise<void> {
  for (const c of cleanups.splice(0)) await c();
}
