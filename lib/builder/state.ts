// A builder's state dir: belongs to one builder name (identity.json) and to one running clientd at a time (a lock).
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync, promises as fs, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
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

/**
 * Takes the lock: an abstract Unix socket named after the dir's real path. Only one process can hold the name,
 * and it goes away with the process even after kill -9, so a stale lock never needs cleaning up.
 */
async function lock(dir: string): Promise<Server> {
  const name = `\0simplebb-clientd:${createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 40)}`;
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: name }, () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw new StateError(`cannot lock the state dir ${dir}: ${err.message}`);
    let holder = '';
    try {
      holder = ` (pid ${readFileSync(join(dir, 'clientd.pid'), 'utf8').trim()})`;
    } catch { /* no pid file */ }
    throw new StateError(`another simplebb-clientd${holder} is using the state dir ${dir}; give each clientd its own --state (and --name)`);
  });
  server.unref();
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

/** Opens (creating) the state dir of `builder`: locked for this process, its identity checked. */
export async function openState(dir: string, builder: string): Promise<StateDir> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateError(`cannot create the state dir ${dir}: ${(err as Error).message}`);
  }
  const server = await lock(dir);
  try {
    const id = await identity(dir, builder);
    writeFileSync(join(dir, 'clientd.pid'), `${process.pid}\n`, { mode: 0o600 });
    return { dir, instance: id.instance, release: () => server.close() };
  } catch (err) {
    server.close();
    throw err;
  }
}
