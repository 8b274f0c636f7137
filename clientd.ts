#!/usr/bin/env node
// simplebb-clientd: a builder that runs the buildscript named after each suggested project and reports back.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseAddress } from './lib/address.js';
import { Builder } from './lib/builder.js';
import { die, integer, onShutdown, opt, program, seconds, SIMPLEBB_HOME } from './lib/cli.js';
import { createLogger } from './lib/log.js';

/** The host name made into a valid builder name. */
function defaultName(): string {
  const n = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return n || 'builder';
}

const cmd = program('simplebb-clientd', 'Connect to a simplebb master and run buildscripts for the suggestions it relays.')
  .addOption(opt('--master <host[:port]>', 'the master to connect to', 'SIMPLEBB_MASTER', '127.0.0.1:7900'))
  .addOption(opt('--name <name>', 'this builder\'s name (default: the host name)', 'SIMPLEBB_NAME'))
  .addOption(opt('--scripts <dir>', 'the buildscripts dir', 'SIMPLEBB_SCRIPTS', join(SIMPLEBB_HOME, 'buildscripts')))
  .addOption(opt('--work <dir>', 'builds run in <dir>/<project>', 'SIMPLEBB_WORK', join(SIMPLEBB_HOME, 'work')))
  .addOption(opt('--spool <dir>', 'reports wait here until the master acknowledges them', 'SIMPLEBB_SPOOL', join(SIMPLEBB_HOME, 'spool')))
  .addOption(opt('--log <file>', 'write the JSON log here (default: stdout)', 'SIMPLEBB_LOG'))
  .addOption(opt('--log-level <level>', 'least severe level logged', 'SIMPLEBB_LOG_LEVEL', 'info').choices(['debug', 'info', 'warn', 'error']))
  .addOption(opt('-j, --jobs <n>', 'builds to run at once', 'SIMPLEBB_JOBS', '1').argParser(integer('--jobs', 1, 1024)))
  .addOption(opt('--timeout <sec>', 'kill a build after this long (0 for never)', 'SIMPLEBB_TIMEOUT', '3600').argParser(seconds('--timeout', true)))
  .addOption(opt('--kill-grace <sec>', 'after SIGTERM, wait this long before SIGKILL', 'SIMPLEBB_KILL_GRACE', '10').argParser(seconds('--kill-grace', true)))
  .addOption(opt('--shutdown-grace <sec>', 'on SIGTERM, let running builds finish for this long', 'SIMPLEBB_SHUTDOWN_GRACE', '30').argParser(seconds('--shutdown-grace', true)))
  .addOption(opt('--heartbeat <sec>', 'ping the master when idle this long; 3 silent intervals mean dead', 'SIMPLEBB_HEARTBEAT', '10').argParser(seconds('--heartbeat')))
  .addOption(opt('--reconnect-base <sec>', 'first reconnect delay ceiling (doubles up to --reconnect-max)', 'SIMPLEBB_RECONNECT_BASE', '1').argParser(seconds('--reconnect-base')))
  .addOption(opt('--reconnect-max <sec>', 'longest reconnect delay', 'SIMPLEBB_RECONNECT_MAX', '60').argParser(seconds('--reconnect-max')))
  .addOption(opt('--ignore-unknown', 'skip suggestions for projects without a script, silently', 'SIMPLEBB_IGNORE_UNKNOWN', false))
  .parse();

type Num = number | string;
const o = cmd.opts<{
  master: string; name?: string; scripts: string; work: string; spool: string; log?: string; logLevel: string;
  jobs: Num; timeout: Num; killGrace: Num; shutdownGrace: Num; heartbeat: Num; reconnectBase: Num; reconnectMax: Num; ignoreUnknown: boolean | string;
}>();
const num = (v: Num, parse: (s: string) => number): number => (typeof v === 'number' ? v : parse(v));

let master;
try {
  master = parseAddress(o.master);
  const name = o.name ?? defaultName();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) throw new Error(`--name must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit, got "${name}"`);
  const log = createLogger('simplebb-clientd', o.log, o.logLevel);
  const builder = new Builder({
    master, name, scriptsDir: o.scripts, workDir: o.work, spoolDir: o.spool,
    jobs: num(o.jobs, integer('--jobs', 1, 1024)),
    timeoutMs: num(o.timeout, seconds('--timeout', true)),
    killGraceMs: num(o.killGrace, seconds('--kill-grace', true)),
    shutdownGraceMs: num(o.shutdownGrace, seconds('--shutdown-grace', true)),
    heartbeatMs: num(o.heartbeat, seconds('--heartbeat')),
    backoffBaseMs: num(o.reconnectBase, seconds('--reconnect-base')),
    backoffCapMs: num(o.reconnectMax, seconds('--reconnect-max')),
    ignoreUnknown: o.ignoreUnknown === true || o.ignoreUnknown === '1' || o.ignoreUnknown === 'true',
    connectTimeoutMs: 10_000,
  }, log);
  await builder.start();
  const shutdownGrace = num(o.shutdownGrace, seconds('--shutdown-grace', true));
  const killGrace = num(o.killGrace, seconds('--kill-grace', true));
  onShutdown(() => builder.stop(), shutdownGrace + killGrace + 5000);
} catch (err) {
  die('simplebb-clientd', (err as Error).message, 2);
}
