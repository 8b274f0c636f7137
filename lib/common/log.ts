// Logging: pino, one JSON line per event, to a file or stdout, written synchronously so a crash loses no line; on a
// terminal, readable lines instead (pino-pretty).
import { appendFileSync, chmodSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import { checkAppendable } from './files.js';

export type { Logger };

/** How stdout's log lines look: JSON, readable lines, or readable on a terminal and JSON otherwise. A log file is always JSON. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Readable lines on stdout (time, level, event and message, then the other fields on the same line), coloured unless NO_COLOR. */
function prettyStdout(): DestinationStream {
  // Loaded only for a terminal: a daemon under systemd or pm2 writes JSON and never pays for it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
  return pretty({
    destination: 1, sync: true, colorize: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR, singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name,event', messageFormat: '{event}: {msg}',
  });
}

/**
 * A logger writing to `file` (appending) or to stdout when no file is given.
 * SIGHUP reopens the file, so logrotate can move it away (or copytruncate it).
 */
export function createLogger(name: string, file?: string, level = 'info', format: LogFormat = 'auto'): Logger {
  if (!file && (format === 'pretty' || (format === 'auto' && process.stdout.isTTY))) {
    return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, prettyStdout());
  }
  if (file) {
    // Here, with one line naming the file, rather than as pino's stack trace (or, under /proc, never).
    checkAppendable(file, 'the log file');
    endLine(file);
    // Whatever an older file (or a rotation tool) left: readable by this user only.
    try { chmodSync(file, 0o600); } catch { /* not ours to change: it stays as it is */ }
  }
  // Reports carry build output: the log is as private as the database (0600, before the umask).
  const dest = pino.destination({ dest: file ?? 1, sync: true, mkdir: false, append: true, mode: 0o600 });
  const log = pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  process.on('SIGHUP', () => {
    if (file) dest.reopen();
    log.info({ event: 'reopened' }, 'log reopened on SIGHUP');
  });
  return log;
}

/** A line cut short by a crash (of the machine) is ended, so the next line starts on a line of its own. */
function endLine(file: string): void {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    if (size === 0) return;
    fd = openSync(file, 'r');
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 10) appendFileSync(file, '\n');
  } catch {
    // no file yet, or not ours to read: pino reports what matters
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The events in a log file written by createLogger, one object per line (none if the file does not exist yet); a line cut short is skipped. */
export function readLog(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // cut short by a crash
    }
  }
  return out;
}
