// simplebb-masterd --check: what this configuration would do, without doing it: the secrets read (the certificate and
// key as a pair), better-sqlite3 loadable (or the PostgreSQL store reachable), the data dir and log file writable (or creatable), the port free to
// listen on, the --notify file. Leaves nothing behind.
import { accessSync, constants, existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import { dirname, join, resolve } from 'node:path';
import { isDir, reason } from '../common/files.js';
import { readSecrets, storeUrl, type SecretFlags } from './config.js';
import { loadSqlite } from './daemon.js';
import { hostname } from 'node:os';
import { MDNS_PORT, reachableAddresses } from '../wire/announce.js';
import { SERVICE_TYPE } from '../wire/announcement.js';
import { readNotifyConfig } from './notifyConfig.js';

export interface CheckFlags extends SecretFlags { port: number; data: string; store?: string; log?: string; notify?: string; announce?: boolean; announceName?: string }

/** Whether `path` could be written: it is there and writable, or a dir can be made in its nearest existing ancestor (tried, and removed). */
function writable(path: string, dir: boolean): string | null {
  const p = resolve(path);
  let at = p;
  while (!existsSync(at)) at = dirname(at);
  if (at === p) {
    if (dir && !isDir(p)) return `${p} is not a directory`;
    try {
      accessSync(p, constants.W_OK);
      return null;
    } catch {
      return `${p} is not writable`;
    }
  }
  try {
    rmdirSync(mkdtempSync(join(at, '.simplebb-check-')));
    return null;
  } catch (err) {
    return `${p} does not exist and cannot be created in ${at}: ${reason(err)}`;
  }
}

/** Whether `host:port` could be listened on; throws an Error naming it and why not. */
function free(host: string, port: number, what: string): Promise<void> {
  return new Promise<void>((ok, fail) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => fail(new Error(`cannot listen on ${host}:${port}${what}: ${
      err.code === 'EADDRINUSE' ? 'address already in use (is a master running?)' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : err.message}`)));
    server.listen(port, host, () => server.close(() => ok()));
  });
}

/** The lines --check prints when everything would work; throws an Error with one line when something would not. */
export async function checkMaster(o: CheckFlags): Promise<string[]> {
  const warnings: string[] = [];
  const s = readSecrets(o, (m) => warnings.push(m));
  if (s.tls) {
    try {
      createSecureContext({ cert: s.tls.cert, key: s.tls.key, minVersion: 'TLSv1.2' });
    } catch (err) {
      throw new Error(`--tls-cert and --tls-key cannot be used together: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const store = storeUrl(o.store);
  // Loaded only when asked for, as at start; the probe reads the schema step and writes nothing.
  const pgStep = store ? await (await import('../store/postgres.js')).probePg(store) : undefined;
  if (!store) await loadSqlite();
  const dataProblem = writable(o.data, true) ?? (!store && existsSync(join(o.data, 'simplebb.db')) ? writable(join(o.data, 'simplebb.db'), false) : null);
  if (dataProblem) throw new Error(`the data dir (--data): ${dataProblem}`);
  const logProblem = o.log ? writable(o.log, false) : null;
  if (logProblem) throw new Error(`the log file (--log): ${logProblem}`);
  const notify = o.notify ? readNotifyConfig(o.notify, (m) => warnings.push(m)) : undefined;
  await free(o.host, o.port, '');
  if (s.http) await free(s.http.host, s.http.port, ' (--http)');
  return [
    `listen on ${o.host}:${o.port}: free${s.tls ? ', TLS (certificate and key read)' : ', plain TCP'}`,
    s.http ? `HTTP API on ${s.http.host}:${s.http.port}: free; reads ${s.http.readToken !== undefined ? 'need the read token' : s.http.publicBoard ? 'open to anyone (--public-board)' : 'open (loopback)'}` : 'HTTP API: off',
    `builder token: ${s.builderToken !== undefined ? `required (${o.sharedBuilderToken ? 'its own, or the shared secret' : 'each builder its own: simplebb-masterd token builder NAME'})` : 'none'}; suggest token: ${s.suggestToken !== undefined ? 'required' : 'none'}${s.insecure ? ` (${s.insecure})` : ''}`,
    store
      ? `record on PostgreSQL ${(await import('../store/postgres.js')).redact(store)}: reachable${pgStep ? `, schema step ${pgStep}` : ' (a new record would be made)'}; full logs in ${resolve(o.data)}; log ${o.log ? resolve(o.log) : 'stdout'}`
      : `data ${resolve(o.data)}${existsSync(join(o.data, 'simplebb.db')) ? '' : ' (a new record would be made)'}; log ${o.log ? resolve(o.log) : 'stdout'}`,
    ...(notify ? [`notifications: ${notify.rules.length} rule${notify.rules.length === 1 ? '' : 's'} to ${[...notify.sinks].map(([n, c]) => `${n} (${c.type})`).join(', ')}`] : []),
    ...(o.announce || o.announceName !== undefined ? [announceLine(o)] : []),
    ...warnings.map((w) => `warning: ${w}`),
  ];
}

/** What --announce would say on the local network (nothing is sent by a check). */
function announceLine(o: CheckFlags): string {
  const addresses = reachableAddresses(o.host);
  return `announce by DNS-SD (${SERVICE_TYPE}, UDP port ${MDNS_PORT}): ${o.announceName ?? hostname()} at ${addresses.length ? addresses.join(', ') : 'no address (none to announce)'} port ${o.port}`;
}
