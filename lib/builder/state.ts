// A builder's state dir: belongs to one builder name (identity.json) and to one running clientd at a time (a lock).
import { randomBytes, createHash } from 'node:crypto';
import { promises as fs, readFileSync, realpathSync, rmSync } from 'node:fs';
import { makeDir } from '../common/files.js';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { TOKEN_ID_RULE } from '../protocol/names.js';

export interface StateDir {
  readonly dir: string;
  /** The id of this state dir, sent in hello: the master tells a restart of this builder from another clientd by it. */
  readonly instance: string;
  /** Lets go of the lock (the kernel also does when the process dies, however it dies). */
  release(): void;
}

interface Identity { builder: string; instance: string; created: string }

/** An error opening the state dir, with a message fit for one line. */
class StateError extends Error {}

/** Unix socket paths longer than this do not fit in sockaddr_un (108 bytes on Linux, with the NUL). */
const MAX_SOCKET_PATH = 100;

/** Asks the holder of a lock socket who it is: its pid, or undefined when nobody answers (a socket file left by a dead clientd). */
function holderOf(path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const c = connect({ path });
    let text = '';
    const done = (pid: number | undefined): void => {
      clearTimeout(timer);
      c.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), 2000);
    c.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) done(Number(text.trim()) || undefined);
    });
    c.on('error', () => done(undefined));
    c.on('end', () => done(Number(text.trim()) || undefined));
  });
}

function listenOn(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Takes the lock: a Unix socket `clientd.sock` in the dir, whose holder answers every connection with its pid. A
 * socket nobody answers on was left by a clientd that died and is replaced. Being a file, it locks the dir for
 * every process that can reach the dir, in any network namespace (containers sharing a volume). Two clientds that
 * start at once may both find it stale; each then asks the socket it made, and only the one whose pid answers
 * keeps it. For a dir whose path is too long for a socket file, the lock is an abstract socket named after the
 * dir's real path instead (one network namespace only).
 */
async function lock(dir: string): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.end(`${process.pid}\n`);
  });
  const file = join(dir, 'clientd.sock');
  const refuse = (pid: number | undefined): StateError =>
    new StateError(`another simplebb-clientd${pid ? ` (pid ${pid})` : ''} is using the state dir ${dir}; give each clientd its own --state (and --name)`);
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH) {
    const name = `\0simplebb-clientd:${createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 40)}`;
    await listenOn(server, name).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw refuse(undefined);
      throw new StateError(`cannot lock the state dir ${dir}: ${err.message}`);
    });
    server.unref();
    return server;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await listenOn(server, file);
      break;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EADDRINUSE' || attempt > 0) throw new StateError(`cannot lock the state dir ${dir}: ${e.message}`);
      const holder = await holderOf(file);
      if (holder !== undefined) throw refuse(holder);
      rmSync(file, { force: true }); // left by a clientd that died
    }
  }
  server.unref();
  if ((await holderOf(file)) !== process.pid) {
    server.close();
    throw refuse(await holderOf(file));
  }
  return server;
}

/** Reads the dir's identity, or gives a new dir one; refuses a dir that belongs to another builder name. */
async function identity(dir: string, builder: string): Promise<Identity> {
  const file = join(dir, 'identity.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    let id: Partial<Identity>;
    try {
      id = JSON.parse(text) as Partial<Identity>;
    } catch {
      throw new StateError(`${file} is not valid JSON; move it away to give the state dir a new identity`);
    }
    if (typeof id.builder !== 'string' || typeof id.instance !== 'string' || !TOKEN_ID_RULE.test(id.instance)) {
      throw new StateError(`${file} does not name a builder and an instance; move it away to give the state dir a new identity`);
    }
    if (id.builder !== builder) {
      throw new StateError(`the state dir ${dir} belongs to builder ${id.builder}, not ${builder}; give this builder its own --state`);
    }
    return id as Identity;
  }
  const id: Identity = { builder, instance: randomBytes(16).toString('hex'), created: new Date().toISOString() };
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(id) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  return id;
}

/** The instance id a state dir already has, for `clientd --check` (which neither locks nor creates anything); undefined for a new dir. */
export function peekInstance(dir: string, builder: string): string | undefined {
  let id: Partial<Identity>;
  try {
    id = JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')) as Partial<Identity>;
  } catch {
    return undefined;
  }
  if (id.builder !== undefined && id.builder !== builder) {
    throw new StateError(`the state dir ${dir} belongs to builder ${id.builder}, not ${builder}; give this builder its own --state`);
  }
  return typeof id.instance === 'string' && TOKEN_ID_RULE.test(id.instance) ? id.instance : undefined;
}

/** Opens (creating) the state dir of `builder`: locked for this process, its identity checked. */
export async function openState(dir: string, builder: string): Promise<StateDir> {
  try {
    makeDir(dir, 'the state dir');
  } catch (err) {
    throw new StateError((err as Error).message);
  }
  const server = await lock(dir);
  try {
    const id = await identity(dir, builder);
    return { dir, instance: id.instance, release: () => server.close() };
  } catch (err) {
    server.close();
    throw err;
  }
}
