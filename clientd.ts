#!/usr/bin/env node
// simplebb-clientd: a builder that runs the buildscript named after each suggested project and reports back.
import './lib/builder/v8flags.js';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAddress } from './lib/wire/address.js';
import { AUTO, type MasterSpec } from './lib/wire/whichMaster.js';
import { tlsEnvWarning } from './lib/wire/dial.js';
import { readPem } from './lib/common/args.js';
import { EXIT_CONFIG, isDir, makeDir, untrustedPath } from './lib/common/files.js';
import { readToken } from './lib/common/token.js';
import { Builder, type BuilderConfig } from './lib/builder/builder.js';
import { checkBuilder } from './lib/builder/check.js';
import { Option } from 'commander';
import { daemon, die, flag, integer, onCrash, onShutdown, opt, seconds, SIMPLEBB_HOME } from './lib/common/cli.js';
import { createLogger, type LogFormat } from './lib/common/log.js';
import { builderNameProblem } from './lib/protocol/names.js';
import { parseLabels } from './lib/protocol/labels.js';

/** The host name made into a valid builder name. */
function defaultName(): string {
  const n = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return n || 'builder';
}

const cmd = daemon('simplebb-clientd', 'Connect to a simplebb master and run buildscripts for the suggestions it relays.')
  .addOption(opt('--master <host[:port]>', 'the master to connect to, or auto: find it on the local network by DNS-SD (simplebb-masterd --announce)', 'SIMPLEBB_MASTER', '127.0.0.1:7900'))
  .addOption(opt('--name <name>', 'this builder\'s name (default: the host name)', 'SIMPLEBB_NAME'))
  .addOption(opt('--scripts <dir>', 'the buildscripts dir', 'SIMPLEBB_SCRIPTS', join(SIMPLEBB_HOME, 'buildscripts')))
  .addOption(opt('--work <dir>', 'builds run in <dir>/<project>', 'SIMPLEBB_WORK', join(SIMPLEBB_HOME, 'work')))
  .addOption(opt('--state <dir>', 'this builder\'s inbox, spool and identity, locked while it runs (default: ~/.simplebb/state/NAME)', 'SIMPLEBB_STATE'))
  .addOption(opt('--spool <dir>', 'the old name of --state', 'SIMPLEBB_SPOOL').hideHelp())
  .addOption(opt('-j, --jobs <n>', 'builds to run at once', 'SIMPLEBB_JOBS', '1', integer('--jobs', 1, 1024)))
  .addOption(opt('--max-queued <n>', 'orders waiting to be built at most; beyond, one for another project and branch is reported refused', 'SIMPLEBB_MAX_QUEUED', '1000', integer('--max-queued', 1, 1_000_000)))
  .addOption(opt('--timeout <sec>', 'kill a build after this long (0 for never)', 'SIMPLEBB_TIMEOUT', '3600', seconds('--timeout', true)))
  .addOption(opt('--kill-grace <sec>', 'after SIGTERM, wait this long before SIGKILL', 'SIMPLEBB_KILL_GRACE', '10', seconds('--kill-grace', true)))
  .addOption(opt('--shutdown-grace <sec>', 'on SIGTERM, let running builds finish for this long', 'SIMPLEBB_SHUTDOWN_GRACE', '30', seconds('--shutdown-grace', true)))
  .addOption(opt('--heartbeat <sec>', 'ping the master when idle this long; 3 silent intervals mean dead', 'SIMPLEBB_HEARTBEAT', '10', seconds('--heartbeat')))
  .addOption(opt('--reconnect-base <sec>', 'first reconnect delay ceiling (doubles up to --reconnect-max)', 'SIMPLEBB_RECONNECT_BASE', '1', seconds('--reconnect-base')))
  .addOption(opt('--reconnect-max <sec>', 'longest reconnect delay', 'SIMPLEBB_RECONNECT_MAX', '60', seconds('--reconnect-max')))
  .addOption(flag('--ignore-unknown', 'skip suggestions for projects without a script, silently', 'SIMPLEBB_IGNORE_UNKNOWN'))
  .addOption(opt('--token-file <file>', 'the builder token (or $SIMPLEBB_BUILDER_TOKEN)', 'SIMPLEBB_BUILDER_TOKEN_FILE'))
  .addOption(flag('--tls', 'connect with TLS', 'SIMPLEBB_TLS'))
  .addOption(opt('--tls-ca <file>', 'trust this CA (PEM) instead of the system CAs; implies --tls', 'SIMPLEBB_TLS_CA'))
  .addOption(flag('--allow-root', 'run builds as root (refused by default)', 'SIMPLEBB_ALLOW_ROOT'))
  .addOption(new Option('--check', 'check the configuration and the master (reachable, TLS, token, name), print what was found, and exit 0, or 2 naming what is wrong'))
  .addOption(new Option('--label <key=value>', 'a label of this builder, for selectors (repeatable; also $SIMPLEBB_LABELS=k=v,k=v)')
    .argParser((v: string, all: string[] = []) => [...all, v]))
  .addOption(opt('--labels-file <file>', 'KEY=VALUE lines, read again whenever the file changes (labels that change without a restart)', 'SIMPLEBB_LABELS_FILE'))
  .addOption(flag('--create-scripts-dir', 'create the buildscripts dir if it does not exist (otherwise refused)', 'SIMPLEBB_CREATE_SCRIPTS_DIR'))
  .parse();

const o = cmd.opts<{
  master: string; name?: string; scripts: string; work: string; state?: string; spool?: string; log?: string; logLevel: string; logFormat: LogFormat;
  jobs: number; maxQueued: number; timeout: number; killGrace: number; shutdownGrace: number; heartbeat: number; reconnectBase: number; reconnectMax: number;
  ignoreUnknown?: boolean; tokenFile?: string; tls?: boolean; tlsCa?: string; allowRoot?: boolean; createScriptsDir?: boolean; check?: boolean;
  label?: string[]; labelsFile?: string;
}>();
const PROG = 'simplebb-clientd';

try {
  if (process.getuid?.() === 0 && !o.allowRoot) {
    throw new Error('refusing to run builds as root: run as an unprivileged user, or pass --allow-root if you really mean it');
  }
  let master: MasterSpec;
  try {
    master = o.master.trim().toLowerCase() === AUTO ? AUTO : parseAddress(o.master);
  } catch (err) {
    throw new Error(`--master: ${(err as Error).message}`);
  }
  // A dir that is not there would give a builder with no projects, every build reported no-script.
  if (o.createScriptsDir) makeDir(o.scripts, 'the buildscripts dir (--scripts)');
  else if (!isDir(o.scripts)) {
    throw new Error(`--scripts: the buildscripts dir ${resolve(o.scripts)} does not exist or is not a directory; create it (one executable per project) or pass --create-scripts-dir`);
  }
  // Whoever can write the buildscripts dir (or the token) can run code as this user: refused, as sshd's StrictModes do.
  for (const [flagName, path] of [['--scripts', o.scripts], ['--token-file', o.tokenFile], ['--work', o.work], ['--state', o.state ?? o.spool]] as const) {
    const why = path ? untrustedPath(path) : null;
    if (why) throw new Error(`${flagName}: ${why}`);
  }
  // --check creates nothing: not the work dir, not the log file.
  if (!o.check) makeDir(o.work, 'the work dir (--work)');
  const name = o.name ?? defaultName();
  const nameProblem = builderNameProblem(name);
  if (nameProblem) throw new Error(`--name: ${nameProblem}, got "${name}"`);
  const log = o.check ? undefined : createLogger(PROG, o.log, o.logLevel, o.logFormat);
  if (log) onCrash(PROG, log);
  // A warning about the token (a loose file mode) goes to stderr too: an operator starting clientd sees it.
  const token = readToken(o.tokenFile, 'SIMPLEBB_BUILDER_TOKEN', (m) => {
    log?.warn({ event: 'config' }, m);
    process.stderr.write(`${PROG}: warning: ${m}\n`);
  });
  let ca: Buffer | undefined;
  if (o.tlsCa) {
    ca = readPem(o.tlsCa, '--tls-ca', 'certificate');
  }
  const tlsWarning = tlsEnvWarning(Boolean(o.tls || ca));
  if (tlsWarning) {
    process.stderr.write(`${PROG}: warning: ${tlsWarning}\n`);
    log?.warn({ event: 'config' }, tlsWarning);
  }
  let labels;
  try {
    labels = parseLabels(process.env.SIMPLEBB_LABELS, o.label ?? []);
  } catch (err) {
    throw new Error(`--label: ${(err as Error).message}`);
  }
  const config: BuilderConfig = {
    master, name, scriptsDir: o.scripts, workDir: o.work, stateDir: o.state ?? o.spool ?? join(SIMPLEBB_HOME, 'state', name), jobs: o.jobs, maxQueued: o.maxQueued, timeoutMs: o.timeout,
    killGraceMs: o.killGrace, shutdownGraceMs: o.shutdownGrace, heartbeatMs: o.heartbeat,
    backoffBaseMs: o.reconnectBase, backoffCapMs: o.reconnectMax, ignoreUnknown: Boolean(o.ignoreUnknown), connectTimeoutMs: 10_000,
    ...(token !== undefined ? { token } : {}), ...(o.tls || ca ? { tls: ca ? { ca } : {} } : {}),
    labels, ...(o.labelsFile ? { labelsFile: o.labelsFile } : {}),
  };
  if (!log) {
    try {
      for (const line of await checkBuilder(config)) process.stdout.write(`${PROG}: ${line}\n`);
    } catch (err) {
      die(PROG, `check failed: ${(err as Error).message}`, 2);
    }
    process.exit(0);
  }
  const builder = new Builder(config, log);
  // Room for the grace period, SIGTERM → SIGKILL, releasing pipes held by escaped processes, and spooling.
  onShutdown(() => builder.stop(), o.shutdownGrace + 2 * o.killGrace + 6000);
  await builder.start();
  // With the log in a file, a terminal (or systemd's journal) still hears that it started and where it logs.
  if (o.log) process.stderr.write(`${PROG}: started as ${name}, master ${o.master}; log: ${resolve(o.log)}\n`);
} catch (err) {
  // Everything that stops clientd from starting is its configuration: exit 78, which the systemd unit does not restart.
  die(PROG, (err as Error).message, EXIT_CONFIG);
}
