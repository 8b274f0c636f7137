// The master assembled: the record, the relay and its subscribers, the listener, the sweep timer, and an orderly stop.
import { ConfigError } from '../common/files.js';
import type { Logger } from 'pino';
import { EventBus } from '../master/events.js';
import { Relay, type RelayOptions } from '../master/relay.js';
import { Board } from '../master/board.js';
import { OverdueWatch } from '../master/overdue.js';
import { usualDuration } from '../http/usualDuration.js';
import { join } from 'node:path';
import { FullLogs } from './fullLogs.js';
import { HookInbox } from './hookInbox.js';
import { readHooksConfig, type HooksConfig } from './hooksConfig.js';
import { watchConfig } from './configWatch.js';
import { startNotifier } from '../notify/notifier.js';
import { readNotifyConfig, type NotifyConfig } from './notifyConfig.js';
import type { HttpConfig } from './httpListener.js';
import { listen, type ListenerConfig } from './listener.js';
import { logEvents } from './logLines.js';
import type { Store } from '../store/store.js';

export interface MasterConfig extends RelayOptions, ListenerConfig {
  dataDir: string;
  /** The record on PostgreSQL (postgres://…) instead of SQLite in the data dir (full logs stay in the data dir). */
  store?: string;
  /** The log file, if the log is not stdout: read at start to log each stored report exactly once. */
  logFile?: string;
  /** The HTTP listener (API, events, badge, metrics); none: off. Its TLS and suggest token are the wire's. */
  http?: Omit<HttpConfig, 'tls' | 'suggestToken' | 'maxConnsPerAddress'>;
  /** Webhooks from forges, on the HTTP listener (they need it on) or on `hooksHttp`. */
  hooks?: HooksConfig;
  /** Notifications out (rules and sinks); none: off. */
  notify?: NotifyConfig;
  /** The file `notify` was read from, watched: a good change takes effect (rules, sinks), a bad one is refused. */
  notifyFile?: string;
  /** The file `hooks` was read from, watched: a change is read again and takes effect if it is good. */
  hooksFile?: string;
  /** A listener of their own for the webhooks, apart from the API and pages. */
  hooksHttp?: { host: string; port: number };
  /** The most of one build's output kept on disk (default 64 MiB). */
  maxLogBytes?: number;
  /** Days a full log is kept (the last success, last failure and first failure of a red streak for ever); 0: all for ever. Default 30. */
  keepLogsDays?: number;
  /** Answer DNS-SD queries for `_simplebb._tcp.local` on the local network (name: the instance, default the host name). */
  announce?: { name?: string };
}

/** Why a suggestion's `notify` is refused while the notify file (as it is now) names no mail sink for it. */
const NO_SUGGESTER_MAIL = 'its notify file names no mail sink for suggesters ("suggesterMail", docs/NOTIFICATIONS.md)';

export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;
export const DEFAULT_KEEP_LOGS_DAYS = 30;
/** How often running builds are checked for being overdue: a build is overdue within this much of the moment it becomes so. */
const OVERDUE_TICK_MS = 250;

export interface RunningMaster {
  readonly port: number;
  readonly host: string;
  /** The HTTP listener's URL, when it is on. */
  readonly httpUrl?: string;
  /** The webhooks' own listener's URL, with --hooks-http. */
  readonly hooksUrl?: string;
  /** Stops accepting, stores what was received, closes connections politely. Resolves within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startMaster(config: MasterConfig, log: Logger): Promise<RunningMaster> {
  // SIMPLEBB_BENCH_SYNC is for the durable-throughput benchmark only: it weakens the promise that an acked report is on disk.
  const sync = process.env.SIMPLEBB_BENCH_SYNC;
  // Loaded only when asked for: the default master loads no PostgreSQL client.
  const store: Store = config.store
    ? await (await import('../store/postgres.js')).PostgresStore.open(config.store)
    : new (await loadSqlite()).SqliteStore(config.dataDir, sync === 'NORMAL' || sync === 'OFF' ? sync : 'FULL');
  if (sync === 'NORMAL' || sync === 'OFF') log.warn({ event: 'bench-sync', synchronous: sync }, `SIMPLEBB_BENCH_SYNC=${sync}: acknowledged reports may be lost on a crash`);
  const events = new EventBus();
  const eventLog = await logEvents(store, events, log, config.logFile);
  const board = new Board(events);
  const overdue = new OverdueWatch(events, board, (project, branch, builder) => usualDuration(store.history, project, branch, builder));
  const logs = new FullLogs(store, events, { dir: join(config.dataDir, 'logs'), maxBytes: config.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES, keepDays: config.keepLogsDays ?? DEFAULT_KEEP_LOGS_DAYS });
  // Before the relay opens: the verdicts it gives at start (lost builds) notify as well.
  const notifier = config.notify ? startNotifier(config.notify, store, events) : undefined;
  let notifyNow = config.notify;
  const notifyWatch = notifier && config.notifyFile
    ? watchConfig(config.notifyFile, 'notification settings', (f) => readNotifyConfig(f, (m) => events.notice('warn', 'config', m)), (c) => {
      notifyNow = c;
      notifier.reconfigure(c);
    }, events)
    : undefined;
  const relay = await Relay.open(store, events, {
    ...config,
    ...(notifyNow ? { notifyRefusal: () => (notifyNow?.suggesterMail === undefined ? NO_SUGGESTER_MAIL : undefined) } : {}),
  });
  await logs.start();
  const hooks = config.hooks ? new HookInbox(config.hooks, store, relay, events, config.suggestToken) : undefined;
  // The HTTP side first (loading it takes a moment), so that the wire takes builders only once everything is up:
  // `listening` in the log then comes before any builder's `connected`.
  // Loaded only when on: fastify, prom-client and badge-maker are ~14 MiB of a master's memory.
  const hooksHttp = hooks && config.hooksHttp ? await (await import('./hooksListener.js')).listenHooks({
    ...config.hooksHttp, maxConnsPerAddress: config.maxConnsPerAddress, ...(config.tls ? { tls: config.tls } : {}),
  }, hooks) : undefined;
  const http = config.http ? await (await import('./httpListener.js')).listenHttp({
    ...config.http, maxConnsPerAddress: config.maxConnsPerAddress, ...(config.tls ? { tls: config.tls } : {}),
    ...(config.suggestToken !== undefined ? { suggestToken: config.suggestToken } : {}),
  }, { history: store.history, board, relay, events, logs, ...(hooks && !hooksHttp ? { hooks } : {}), ...(hooksHttp ? { hooksElsewhere: hooksHttp.url } : {}), ...(notifier ? { notifications: store.outbox } : {}), overdue }).catch(async (err: unknown) => {
    await hooksHttp?.close();
    throw err;
  }) : undefined;
  await hooks?.start();
  const hooksWatch = hooks && config.hooksFile
    ? watchConfig(config.hooksFile, 'webhook settings', (f) => readHooksConfig(f, (m) => events.notice('warn', 'config', m)), (c) => hooks.reconfigure(c), events)
    : undefined;
  const listening = await listen(config, relay, events).catch(async (err: unknown) => {
    await http?.close();
    await hooksHttp?.close();
    throw err;
  });
  // Loaded only when on: a master that does not announce opens no UDP socket.
  const announcer = config.announce ? await (await import('../wire/announce.js')).announce({
    ...(config.announce.name !== undefined ? { name: config.announce.name } : {}), host: config.host, port: listening.port, tls: Boolean(config.tls),
    builderToken: config.builderToken !== undefined, suggestToken: config.suggestToken !== undefined,
  }, (m) => events.notice('warn', 'announce', m)).catch(async (err: unknown) => {
    await listening.close(1000);
    await http?.close();
    await hooksHttp?.close();
    throw err;
  }) : undefined;
  if (http) log.info({ event: 'http-listening', url: http.url, port: http.port }, `simplebb-masterd serves its API on ${http.url}`);
  if (hooksHttp) log.info({ event: 'hooks-listening', url: hooksHttp.url, port: hooksHttp.port }, `simplebb-masterd takes webhooks on ${hooksHttp.url}/hooks/FORGE`);
  // Often enough that a build becomes `lost` soon after the window ends, rarely enough to cost nothing.
  const sweep = setInterval(() => relay.tick(), Math.min(10_000, Math.max(100, config.replayWindowMs / 10)));
  sweep.unref();
  const overdueTick = setInterval(() => overdue.tick(), OVERDUE_TICK_MS);
  overdueTick.unref();
  log.info({
    event: 'listening', host: config.host, port: listening.port, data: config.dataDir, store: store.id, tls: Boolean(config.tls),
    builderAuth: config.builderToken !== undefined, suggestAuth: config.suggestToken !== undefined, ...(http ? { http: http.url } : {}), ...(hooksHttp ? { hooks: hooksHttp.url } : {}),
  }, 'simplebb-masterd listening');
  if (announcer) {
    const a = announcer.announcement;
    log.info({ event: 'announcing', instance: a.instance, target: a.target, addresses: a.addresses, port: a.port }, `simplebb-masterd announces ${a.instance} at ${a.addresses.join(', ')} port ${a.port} by DNS-SD`);
  }

  let stopped: Promise<void> | undefined;
  const stop = (timeoutMs = 4000): Promise<void> => {
    stopped ??= (async () => {
      clearInterval(sweep);
      clearInterval(overdueTick);
      await announcer?.close();
      await hooksWatch?.close();
      await notifyWatch?.close();
      await http?.close();
      await hooksHttp?.close();
      const closing = listening.close(timeoutMs);
      await relay.stop();
      await closing;
      await relay.stop(); // what arrived while the connections closed
      await eventLog.flush();
      await logs.flush();
      await notifier?.stop(Math.min(2000, timeoutMs));
      await store.close();
      log.info({ event: 'stopped' }, 'simplebb-masterd stopped');
    })();
    return stopped;
  };
  return { port: listening.port, host: config.host, ...(http ? { httpUrl: http.url } : {}), ...(hooksHttp ? { hooksUrl: hooksHttp.url } : {}), stop };
}

/**
 * The SQLite store, loaded when the master starts: better-sqlite3 is an optional dependency (a builder-only host
 * installs without a C++ toolchain), so a master without it says so in one line instead of a module-not-found trace.
 */
export async function loadSqlite(): Promise<typeof import('../store/sqlite.js')> {
  try {
    return await import('../store/sqlite.js');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND' || /bindings file|better_sqlite3\.node|NODE_MODULE_VERSION/.test(e.message)) {
      throw new ConfigError(`better-sqlite3 is not installed or not built for this Node (${process.version}): install python3, make and g++, then run npm rebuild better-sqlite3 (${e.message.split('\n')[0]})`);
    }
    throw err;
  }
}
