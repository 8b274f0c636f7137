// Logging: pino, one JSON line per event, to a file or stdout, written synchronously so a crash loses no line.
import { existsSync, readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * A logger writing to `file` (appending) or to stdout when no file is given.
 * SIGHUP reopens the file, so logrotate can move it away (or copytruncate it).
 */
export function createLogger(name: string, file?: string, level = 'info'): Logger {
  // Reports carry build output: the log is as private as the database (0600, before the umask).
  const dest = pino.destination({ dest: file ?? 1, sync: true, mkdir: true, append: true, mode: 0o600 });
  const log = pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  process.on('SIGHUP', () => {
    if (file) dest.reopen();
    log.info({ event: 'reopened' }, 'log reopened on SIGHUP');
  });
  return log;
}

/** The events in a log file written by createLogger, one object per line (none if the file does not exist yet). */
export function readLog(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
