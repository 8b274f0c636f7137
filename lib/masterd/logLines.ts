// The master's log: one JSON line per event, a subscriber like any other; every stored report is logged exactly once.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { EventBus, MasterEvent } from '../master/events.js';
import type { ReportKey, Store, StoredReport } from '../store/store.js';

/** How much of the end of the log file is read at start to see which unlogged reports were logged after all. */
const TAIL_BYTES = 64 * 1024 * 1024;

function logReport(log: Logger, r: StoredReport, note?: string): void {
  log.info({
    event: 'report', id: r.id, seq: r.seq, project: r.project, branch: r.branch, revision: r.revision, builder: r.builder,
    exitCode: r.exitCode, signal: r.signal, verdict: r.verdict, message: r.message, durationMs: r.durationMs,
    uname: r.uname, node: r.node, outputBytes: r.outputBytes, outputCut: r.outputCut, output: r.output, note,
  }, 'report');
}

/** A report line is known by its builder, id and verdict: a master-given `lost` and the report that replaced it are two lines. */
const key = (k: ReportKey & { verdict: string }): string => `${k.builder}\0${k.id}\0${k.verdict}`;

/** The (builder, id, verdict) of every report line in the last TAIL_BYTES of `file`. */
function reportsInTail(file: string): Set<string> {
  const found = new Set<string>();
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    fd = openSync(file, 'r');
    readSync(fd, buf, 0, buf.length, start);
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.includes('"event":"report"')) continue;
      try {
        const l = JSON.parse(line) as { builder?: unknown; id?: unknown; verdict?: unknown };
        if (typeof l.builder === 'string' && typeof l.id === 'string' && typeof l.verdict === 'string') found.add(key({ builder: l.builder, id: l.id, verdict: l.verdict }));
      } catch {
        // a line cut by the start of the tail, or by a crash
      }
    }
  } catch {
    // no log file yet
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return found;
}

function line(log: Logger, e: MasterEvent): void {
  switch (e.type) {
    case 'suggestion': {
      const s = e.suggestion;
      log.info({ event: 'suggestion', id: s.id, seq: s.seq, project: s.project, branch: s.branch, revision: s.revision, from: s.from, builders: e.builders }, 'suggestion relayed');
      return;
    }
    case 'builder-up':
      if (e.replaced) log.warn({ event: 'replaced', builder: e.name, old: e.replaced, address: e.address }, 'builder reconnected before its old connection closed');
      log.info({ event: 'connected', builder: e.name, address: e.address, instance: e.instance, projects: e.projects, uname: e.uname, node: e.node, jobs: e.jobs }, 'builder connected');
      return;
    case 'builder-down':
      log.info({ event: 'disconnected', builder: e.name, address: e.address, reason: e.reason, open: e.open.length }, 'builder disconnected');
      return;
    case 'projects':
      log.info({ event: 'projects', builder: e.name, projects: e.projects }, 'builder projects changed');
      return;
    case 'replay':
      log.info({ event: 'replay', builder: e.builder, ids: e.sent, superseded: e.superseded, lost: e.lost, refused: e.refused }, 'replayed missed suggestions');
      return;
    case 'delivery':
      log.debug({ event: 'delivery', id: e.id, seq: e.seq, builder: e.builder, state: e.state }, 'delivery');
      return;
    case 'queued':
      log.info({ event: 'queued', id: e.id, project: e.project, attempt: e.attempt, ahead: e.ahead }, 'suggestion queued: no matching builder is free');
      return;
    case 'dispatched':
      log.info({ event: 'dispatched', id: e.id, project: e.project, builder: e.builder, attempt: e.attempt, waitedMs: e.waitedMs }, 'suggestion dispatched');
      return;
    case 'overdue':
      log.warn({ event: 'overdue', id: e.id, builder: e.builder, project: e.project, branch: e.branch, startedAt: e.startedAt, usualMs: e.usualMs }, `build overdue: running for more than twice its usual ${e.usualMs} ms`);
      return;
    case 'notice':
      log[e.level]({ event: e.event, ...e.fields }, e.message);
      return;
    case 'notification':
      if (e.outcome === 'sent') log.info({ event: 'notified', id: e.id, sink: e.sink, attempts: e.attempts }, 'notification sent');
      else log.warn({ event: e.outcome === 'failed' ? 'notify-failed' : 'notify-given-up', id: e.id, sink: e.sink, attempts: e.attempts, error: e.error }, e.outcome === 'failed' ? 'notification not sent, will try again' : 'notification given up');
      return;
    default:
      return; // started and output are not logged; reports are, below
  }
}

/** The running log subscriber: `flush` settles once every report logged so far is marked logged in the record. */
export interface EventLog {
  flush(): Promise<void>;
}

/**
 * Logs every event, and every report exactly once: a report stored but not marked logged (the master died between
 * the commit and the mark) is logged at start unless the end of the log file already has it. Without a log file
 * (stdout) there is nothing to look at: such a report is logged again, with `"note":"recovered"`.
 */
export async function logEvents(store: Store, events: EventBus, log: Logger, file: string | undefined): Promise<EventLog> {
  const unlogged = await store.unlogged();
  if (unlogged.length) {
    const already = file ? reportsInTail(file) : new Set<string>();
    for (const r of unlogged) if (!already.has(key(r))) logReport(log, r, 'recovered');
    await store.markLogged(unlogged);
  }
  let marks: ReportKey[] = [];
  let marking: Promise<void> = Promise.resolve();
  const mark = (): void => {
    const batch = marks;
    marks = [];
    if (!batch.length) return;
    // At worst these are checked against the log file again at the next start.
    marking = marking.then(() => store.markLogged(batch)).catch((err: Error) => log.error({ event: 'store-failed', error: err.message }, 'could not mark reports as logged'));
  };
  events.on((e) => {
    if (e.type !== 'report') return line(log, e);
    logReport(log, e.report, e.replaced ? 'replaced' : undefined);
    marks.push({ builder: e.report.builder, id: e.report.id });
    if (marks.length === 1) setImmediate(mark);
  });
  return {
    flush: () => {
      mark();
      return marking;
    },
  };
}
