#!/usr/bin/env node
// simplebb-masterd: relays suggestions to every connected builder and records their reports.
import { join, resolve } from 'node:path';
import { ConfigError, EXIT_CONFIG } from './lib/common/files.js';
import { byteSize, daemon, die, flag, integer, onCrash, onShutdown, opt, port, seconds, SIMPLEBB_HOME } from './lib/common/cli.js';
import { createLogger, type LogFormat } from './lib/common/log.js';
import { Option } from 'commander';
import { checkMaster } from './lib/masterd/check.js';
import { hooksHttpConfig, readSecrets, storeUrl, type Secrets } from './lib/masterd/config.js';
import { startMaster } from './lib/masterd/daemon.js';
import { readHooksConfig, type HooksConfig } from './lib/masterd/hooksConfig.js';
import { readNotifyConfig, type NotifyConfig } from './lib/masterd/notifyConfig.js';
import { tokenCommand } from './lib/masterd/tokenCommand.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './lib/protocol/limits.js';

if (process.argv[2] === 'token') {
  tokenCommand(process.argv.slice(3));
} else {
  await main();
}

async function main(): Promise<void> {
  const cmd = daemon('simplebb-masterd', 'Relay suggestions to every connected builder and record their reports.')
    .addOption(opt('--host <addr>', 'address to listen on', 'SIMPLEBB_HOST', DEFAULT_HOST))
    .addOption(opt('-p, --port <port>', 'TCP port to listen on (0 picks a free one)', 'SIMPLEBB_PORT', String(DEFAULT_PORT), port))
    .addOption(opt('--data <dir>', 'directory of the report database', 'SIMPLEBB_DATA', join(SIMPLEBB_HOME, 'master')))
    .addOption(opt('--store <url>', 'keep the record on PostgreSQL (postgres://USER@HOST/DB) instead of SQLite in --data (full logs stay in --data)', 'SIMPLEBB_STORE'))
    .addOption(opt('--heartbeat <sec>', 'ping idle connections this often; 3 silent intervals mean dead', 'SIMPLEBB_HEARTBEAT', '10', seconds('--heartbeat')))
    .addOption(opt('--replay-window <sec>', 'a builder gone less than this gets the suggestions it missed', 'SIMPLEBB_REPLAY_WINDOW', '600', seconds('--replay-window', true)))
    .addOption(opt('--hello-timeout <sec>', 'close connections that have not said hello by then', 'SIMPLEBB_HELLO_TIMEOUT', '5', seconds('--hello-timeout')))
    .addOption(opt('--builder-token-file <file>', 'builders must prove they know the secret in this file (or $SIMPLEBB_BUILDER_TOKEN)', 'SIMPLEBB_BUILDER_TOKEN_FILE'))
    .addOption(opt('--suggest-token-file <file>', 'suggesters must prove they know the secret in this file (or $SIMPLEBB_SUGGEST_TOKEN)', 'SIMPLEBB_SUGGEST_TOKEN_FILE'))
    .addOption(opt('--http <addr>', 'serve the HTTP API, events, badges and metrics on HOST:PORT (port 0 picks a free one), or off', 'SIMPLEBB_HTTP', '127.0.0.1:7901'))
    .addOption(opt('--read-token-file <file>', 'HTTP reads need the token in this file as a bearer (or $SIMPLEBB_READ_TOKEN)', 'SIMPLEBB_READ_TOKEN_FILE'))
    .addOption(flag('--public-board', 'open HTTP reads to anyone on a non-loopback --http address (a read-only board)', 'SIMPLEBB_PUBLIC_BOARD'))
    .addOption(flag('--shared-builder-token', 'also let a builder prove the builder secret itself instead of its own token (simplebb-masterd token builder NAME): any builder may then speak under any name', 'SIMPLEBB_SHARED_BUILDER_TOKEN'))
    .addOption(flag('--insecure', 'allow listening on a non-loopback address without both tokens', 'SIMPLEBB_INSECURE'))
    .addOption(opt('--tls-cert <file>', 'serve TLS with this certificate (PEM)', 'SIMPLEBB_TLS_CERT'))
    .addOption(opt('--tls-key <file>', 'the TLS private key (PEM)', 'SIMPLEBB_TLS_KEY'))
    .addOption(opt('--max-conns-per-address <n>', 'connections one IP address may hold', 'SIMPLEBB_MAX_CONNS_PER_ADDRESS', '256', integer('--max-conns-per-address', 1, 1_000_000)))
    .addOption(opt('--max-input-buffer <MiB>', 'unfinished lines all connections may hold together; beyond it the oldest are cut, unauthenticated ones first', 'SIMPLEBB_MAX_INPUT_BUFFER', '64', integer('--max-input-buffer', 1, 65_536)))
    .addOption(opt('--suggest-rate <n>', 'suggestions per second one IP address may make (all its connections together)', 'SIMPLEBB_SUGGEST_RATE', '20', integer('--suggest-rate', 1, 1_000_000)))
    .addOption(opt('--suggest-burst <n>', 'suggestions one IP address may make at once', 'SIMPLEBB_SUGGEST_BURST', '1000', integer('--suggest-burst', 1, 1_000_000)))
    .addOption(opt('--hooks-http <addr>', 'take the webhooks on a listener of their own, HOST:PORT, instead of the HTTP listener (only they need be on the internet)', 'SIMPLEBB_HOOKS_HTTP'))
    .addOption(opt('--notify <file>', 'tell the outside world about builds (mail, webhooks, after-scripts), as this JSON file configures (docs/NOTIFICATIONS.md)', 'SIMPLEBB_NOTIFY'))
    .addOption(opt('--hooks <file>', 'take webhooks from GitHub, Gitea, Forgejo and GitLab on the HTTP listener, as this JSON file configures (docs/WEBHOOKS.md)', 'SIMPLEBB_HOOKS'))
    .addOption(opt('--max-log-bytes <size>', "the most of one build's output kept on disk (64M, say); beyond it its first and last part, with a mark", 'SIMPLEBB_MAX_LOG_BYTES', '64M', byteSize('--max-log-bytes', 4096, 2 ** 40)))
    .addOption(opt('--keep-logs <days>', 'remove full logs older than this, never the last success, last failure or first failure of a red streak (0: keep all)', 'SIMPLEBB_KEEP_LOGS', '30', integer('--keep-logs', 0, 100_000)))
    .addOption(flag('--announce', 'announce this master on the local network by DNS-SD over multicast DNS (_simplebb._tcp), for clientd --master auto', 'SIMPLEBB_ANNOUNCE'))
    .addOption(opt('--announce-name <name>', 'the name it is announced under (default: the host name)', 'SIMPLEBB_ANNOUNCE_NAME'))
    .addOption(new Option('--check', 'check the configuration (tokens, TLS files, data dir, log file, port), print what was found, and exit 0, or 2 naming what is wrong'))
    .parse();

  const o = cmd.opts<{
    host: string; port: number; store?: string; log?: string; logLevel: string; logFormat: LogFormat; data: string; heartbeat: number; replayWindow: number; helloTimeout: number;
    builderTokenFile?: string; suggestTokenFile?: string; sharedBuilderToken?: boolean; http: string; readTokenFile?: string; publicBoard?: boolean; insecure?: boolean; tlsCert?: string; tlsKey?: string; check?: boolean;
    maxConnsPerAddress: number; maxInputBuffer: number; suggestRate: number; suggestBurst: number; maxLogBytes: number; keepLogs: number; hooks?: string; hooksHttp?: string; notify?: string;
    announce?: boolean; announceName?: string;
  }>();
  const PROG = 'simplebb-masterd';

  if (o.check) {
    try {
      for (const line of await checkMaster(o)) process.stdout.write(`${PROG}: ${line}\n`);
    } catch (err) {
      die(PROG, `check failed: ${(err as Error).message}`, 2);
    }
    process.exit(0);
  }

  const log = (() => {
    try {
      return createLogger(PROG, o.log, o.logLevel, o.logFormat);
    } catch (err) {
      return die(PROG, (err as Error).message, EXIT_CONFIG);
    }
  })();
  onCrash(PROG, log);
  // Signals that arrive while we are still starting also stop us in order.
  let stopping: () => Promise<void> = async () => undefined;
  onShutdown(() => stopping(), 4900);
  let secrets: Secrets;
  try {
    secrets = readSecrets(o, (m) => {
      log.warn({ event: 'config' }, m);
      process.stderr.write(`${PROG}: warning: ${m}\n`); // a loose token file mode: seen at start, not only in the log
    });
    if (secrets.insecure) {
      log.warn({ event: 'insecure' }, secrets.insecure);
      process.stderr.write(`${PROG}: warning: ${secrets.insecure}\n`);
    }
  } catch (err) {
    log.fatal({ event: 'fatal', error: (err as Error).message }, 'cannot start');
    die(PROG, (err as Error).message, EXIT_CONFIG);
  }
  const { builderToken, suggestToken, tls, http } = secrets;
  let hooks: HooksConfig | undefined;
  let hooksHttp: { host: string; port: number } | undefined;
  let notify: NotifyConfig | undefined;
  let store: string | undefined;
  try {
    store = storeUrl(o.store);
    hooksHttp = hooksHttpConfig(o.hooksHttp, Boolean(o.hooks));
    if (o.hooks && !http && !hooksHttp) throw new ConfigError('--hooks needs the HTTP listener or --hooks-http: drop --http off, or give --hooks-http HOST:PORT');
    hooks = o.hooks ? readHooksConfig(o.hooks, (m) => {
      log.warn({ event: 'config' }, m);
      process.stderr.write(`${PROG}: warning: ${m}\n`);
    }) : undefined;
    notify = o.notify ? readNotifyConfig(o.notify, (m) => {
      log.warn({ event: 'config' }, m);
      process.stderr.write(`${PROG}: warning: ${m}\n`);
    }) : undefined;
  } catch (err) {
    log.fatal({ event: 'fatal', error: (err as Error).message }, 'cannot start');
    die(PROG, (err as Error).message, EXIT_CONFIG);
  }

  try {
    const starting = startMaster({
      host: o.host, port: o.port, dataDir: o.data, ...(store ? { store } : {}), ...(o.log ? { logFile: o.log } : {}), heartbeatMs: o.heartbeat, replayWindowMs: o.replayWindow, helloTimeoutMs: o.helloTimeout,
      ...(builderToken !== undefined ? { builderToken } : {}), ...(suggestToken !== undefined ? { suggestToken } : {}),
      ...(o.sharedBuilderToken ? { sharedBuilderToken: true } : {}), ...(tls ? { tls } : {}), ...(http ? { http } : {}), maxConnsPerAddress: o.maxConnsPerAddress, maxInputBytes: o.maxInputBuffer * 1024 * 1024, suggestRate: o.suggestRate, suggestBurst: o.suggestBurst,
      maxLogBytes: o.maxLogBytes, keepLogsDays: o.keepLogs, ...(hooks ? { hooks, hooksFile: o.hooks! } : {}), ...(hooksHttp ? { hooksHttp } : {}), ...(notify ? { notify, notifyFile: o.notify! } : {}),
      ...(o.announce || o.announceName !== undefined ? { announce: o.announceName !== undefined ? { name: o.announceName } : {} } : {}),
    }, log);
    stopping = () => starting.then((m) => m.stop(4000));
    const running = await starting;
    // With the log in a file, a terminal (or systemd's journal) still hears that it started and where it logs.
    if (o.log) process.stderr.write(`${PROG}: listening on ${running.host}:${running.port}${running.httpUrl ? `, API on ${running.httpUrl}` : ''}${running.hooksUrl ? `, webhooks on ${running.hooksUrl}` : ''}; log: ${resolve(o.log)}\n`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'address not available' : e.message.split('\n')[0]!;
    log.fatal({ event: 'fatal', error: why }, 'cannot start');
    // A busy port or an address not up yet may pass (exit 1: restart); a path or a port we may not use will not.
    const config = err instanceof ConfigError || (e.syscall === 'listen' && e.code === 'EACCES');
    const where = (e as { address?: string }).address ? `${(e as { address?: string }).address}:${(e as { port?: number }).port}` : `${o.host}:${o.port}`;
    die(PROG, e.syscall === 'listen' ? `cannot listen on ${where}: ${why}` : err instanceof ConfigError ? why : `cannot start: ${why}`, config ? EXIT_CONFIG : 1);
  }
}
