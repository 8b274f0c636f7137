// Keeping every build's whole output: the master's events written into log files, each finished and noted in the
// record when its report is in, and the retention that removes old logs but never the ones a red streak needs.
import type { EventBus } from '../master/events.js';
import { LogFiles } from '../store/logFiles.js';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { LogReader, PrunePlan, StoredReport, Store } from '../store/store.js';

/** Logs compressed at once: each is a zlib stream on the thread pool; more would only compete for the same cores. */
const FINISHING_AT_ONCE = 2;
/** How often retention runs (and once shortly after start). */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const FIRST_PRUNE_MS = 60 * 1000;
/** Logs removed per pass; a backlog larger than this goes in the next passes. */
const PRUNE_BATCH = 10_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface FullLogsOptions {
  dir: string;
  /** The most of one build's output kept (head and tail beyond it). */
  maxBytes: number;
  /** Logs older than this many days are removed (the protected ones never); 0: kept for ever. */
  keepDays: number;
  now?: () => number;
}

export class FullLogs implements LogReader {
  readonly files: LogFiles;
  private readonly now: () => number;
  private readonly waiting: StoredReport[] = [];
  private finishing = 0;
  private readonly idle = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private failed = false;

  constructor(private readonly store: Store, private readonly events: EventBus, private readonly options: FullLogsOptions) {
    this.files = new LogFiles(options.dir, options.maxBytes);
    this.now = options.now ?? Date.now;
    events.on((e) => {
      switch (e.type) {
        case 'output':
          return this.guard(() => this.files.append(e.id, e.builder, e.data));
        case 'report':
          return this.finish(e.report);
        default:
      }
    });
  }

  /** Finishes what the last master left half written (builds whose report came in before it stopped) and starts retention. */
  async start(): Promise<void> {
    for (const { id, builder } of this.files.unfinished()) {
      const report = await this.store.history.report(id, builder);
      if (report) this.finish(report);
    }
    if (this.options.keepDays > 0) {
      const pass = (): void => void this.prune(false).catch((err: unknown) => this.events.notice('warn', 'prune-failed', `removing old logs failed: ${(err as Error).message}`));
      const first = setTimeout(() => {
        pass();
        this.timer = setInterval(pass, PRUNE_EVERY_MS);
        this.timer.unref();
      }, FIRST_PRUNE_MS);
      first.unref();
      this.timer = first;
    }
  }

  read(id: string, builder: string): Readable | undefined {
    return this.files.read(id, builder);
  }

  sofar(id: string, builder: string): Readable | undefined {
    const whole = this.files.whole(id, builder);
    if (!whole) return undefined;
    // The length is taken now: what is appended later reaches the reader as live pieces, not twice.
    return whole.bytes === 0 ? Readable.from([]) : createReadStream(whole.path, { start: 0, end: whole.bytes - 1 });
  }

  /** Removes (or with `dryRun` lists) the logs older than --keep-logs days that no project × branch × builder still needs. */
  async prune(dryRun: boolean): Promise<PrunePlan> {
    const before = this.options.keepDays > 0 ? this.now() - this.options.keepDays * DAY_MS : -Infinity;
    const logs = this.options.keepDays > 0 ? await this.store.expiredLogs(before, PRUNE_BATCH) : [];
    if (!dryRun && logs.length > 0) {
      for (const l of logs) await this.files.remove(l.id, l.builder);
      await this.store.forgetLogs(logs);
      this.events.notice('info', 'logs-pruned', `removed ${logs.length} logs older than ${this.options.keepDays} days`, { logs: logs.length });
    }
    return { before, logs, storedBytes: logs.reduce((n, l) => n + l.storedBytes, 0), dryRun };
  }

  /** Resolves once every log being finished is finished (the master stops). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    while (this.finishing > 0 || this.waiting.length > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    this.files.closeAll();
  }

  private finish(report: StoredReport): void {
    this.waiting.push(report);
    this.next();
  }

  private next(): void {
    while (this.finishing < FINISHING_AT_ONCE && this.waiting.length > 0) {
      const r = this.waiting.shift()!;
      this.finishing++;
      void this.files.finish(r.id, r.builder, r, this.now())
        .then((entry) => entry && this.store.noteLog(entry))
        .catch((err: unknown) => this.events.notice('warn', 'log-failed', `cannot keep the log of ${r.id} on ${r.builder}: ${(err as Error).message}`, { id: r.id, builder: r.builder }))
        .finally(() => {
          this.finishing--;
          this.next();
          if (this.finishing > 0 || this.waiting.length > 0) return;
          for (const f of this.idle) f();
          this.idle.clear();
        });
    }
  }

  /** A write that fails (a full disk) is told once, not once per piece of output; the build itself goes on. */
  private guard(write: () => void): void {
    try {
      write();
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.events.notice('warn', 'log-failed', `cannot write build output to ${this.options.dir}: ${(err as Error).message}`);
      this.failed = true;
    }
  }
}
