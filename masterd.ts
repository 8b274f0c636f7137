#!/usr/bin/env node
// simplebb-masterd: relays suggestions to every connected builder and records their reports.
import { join } from 'node:path';
import { die, onShutdown, opt, port, program, seconds, SIMPLEBB_HOME } from './lib/cli.js';
import { createLogger } from './lib/log.js';
import { startMaster } from './lib/masterServer.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './lib/protocol.js';

const cmd = program('simplebb-masterd', 'Relay suggestions to every connected builder and record their reports.')
  .addOption(opt('--host <addr>', 'address to listen on', 'SIMPLEBB_HOST', DEFAULT_HOST))
  .addOption(opt('-p, --port <port>', 'TCP port to listen on (0 picks a free one)', 'SIMPLEBB_PORT', String(DEFAULT_PORT)).argParser(port))
  .addOption(opt('--log <file>', 'write the JSON log here (default: stdout)', 'SIMPLEBB_LOG'))
  .addOption(opt('--log-level <level>', 'least severe level logged', 'SIMPLEBB_LOG_LEVEL', 'info').choices(['debug', 'info', 'warn', 'error']))
  .addOption(opt('--data <dir>', 'directory of the report database', 'SIMPLEBB_DATA', join(SIMPLEBB_HOME, 'master')))
  .addOption(opt('--heartbeat <sec>', 'ping idle connections this often; 3 silent intervals mean dead', 'SIMPLEBB_HEARTBEAT', '10').argParser(seconds('--heartbeat')))
  .addOption(opt('--replay-window <sec>', 'a builder gone less than this gets the suggestions it missed', 'SIMPLEBB_REPLAY_WINDOW', '600').argParser(seconds('--replay-window', true)))
  .addOption(opt('--hello-timeout <sec>', 'close connections that have not said hello by then', 'SIMPLEBB_HELLO_TIMEOUT', '5').argParser(seconds('--hello-timeout')))
  .parse();

const o = cmd.opts<{ host: string; port: number | string; log?: string; logLevel: string; data: string; heartbeat: number | string; replayWindow: number | string; helloTimeout: number | string }>();
// Commander applies argParser to values from flags and env, not to defaults given as strings.
const num = (v: number | string, parse: (s: string) => number): number => (typeof v === 'number' ? v : parse(v));
const log = createLogger('simplebb-masterd', o.log, o.logLevel);
try {
  const master = await startMaster({
    host: o.host,
    port: num(o.port, port),
    dataDir: o.data,
    heartbeatMs: num(o.heartbeat, seconds('--heartbeat')),
    replayWindowMs: num(o.replayWindow, seconds('--replay-window', true)),
    helloTimeoutMs: num(o.helloTimeout, seconds('--hello-timeout')),
  }, log);
  onShutdown(() => master.stop(4000), 4900);
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'address not available' : e.message;
  log.fatal({ event: 'fatal', error: why }, 'cannot start');
  die('simplebb-masterd', e.syscall === 'listen' ? `cannot listen on ${o.host}:${String(o.port)}: ${why}` : `cannot start: ${why}`);
}
