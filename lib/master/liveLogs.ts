// The output of builds that run now, as the master hears it live: the last part of each kept in memory, and
// readers told of each new piece until the report comes, so a log can be followed like `tail -f`.
import type { EventBus } from './events.js';

/** Bytes of a running build's output kept for readers who come in the middle (the oldest are let go beyond it). */
const KEEP_BYTES = 1024 * 1024;
/** How long a finished build's entry stays, so that output arriving after its report does not start another. */
const LINGER_MS = 10_000;
/** Running builds followed at once; beyond it the oldest is dropped (its readers get the end). */
const MAX_LOGS = 10_000;

export type LiveReader = (piece: { data: Buffer } | { end: 'report' | 'gone' }) => void;

interface Live { chunks: Buffer[]; bytes: number; dropped: number; readers: Set<LiveReader>; ended: boolean }

export class LiveLogs {
  private readonly logs = new Map<string, Live>();

  constructor(events: EventBus) {
    events.on((e) => {
      switch (e.type) {
        case 'started':
          this.open(e.id, e.builder);
          return;
        case 'output': {
          const log = this.logs.get(key(e.id, e.builder)) ?? this.open(e.id, e.builder);
          if (log.ended) return;
          log.chunks.push(e.data);
          log.bytes += e.data.length;
          while (log.bytes > KEEP_BYTES && log.chunks.length > 1) {
            const first = log.chunks.shift()!;
            log.bytes -= first.length;
            log.dropped += first.length;
          }
          for (const r of log.readers) r({ data: e.data });
          return;
        }
        case 'report':
          this.end(e.report.id, e.report.builder, 'report');
          return;
        case 'builder-down':
          for (const [k, log] of this.logs) if (k.endsWith(`\0${e.name}`) && !log.ended) this.end(k.slice(0, k.indexOf('\0')), e.name, 'gone');
          return;
        default:
      }
    });
  }

  /** Whether this build runs now (its output can be followed). */
  running(id: string, builder: string): boolean {
    const log = this.logs.get(key(id, builder));
    return log !== undefined && !log.ended;
  }

  /**
   * Follows a running build's output: what is kept so far (and how many bytes before it were let go) comes back
   * at once, then `reader` gets each new piece, then the end. Undefined when no such build runs; `stop` stops it.
   */
  follow(id: string, builder: string, reader: LiveReader): { kept: Buffer[]; dropped: number; stop: () => void } | undefined {
    const log = this.logs.get(key(id, builder));
    if (!log || log.ended) return undefined;
    log.readers.add(reader);
    return { kept: [...log.chunks], dropped: log.dropped, stop: () => log.readers.delete(reader) };
  }

  private open(id: string, builder: string): Live {
    const k = key(id, builder);
    let log = this.logs.get(k);
    if (log && !log.ended) return log;
    if (this.logs.size >= MAX_LOGS) {
      const [oldest] = this.logs.keys();
      this.end(oldest!.slice(0, oldest!.indexOf('\0')), oldest!.slice(oldest!.indexOf('\0') + 1), 'gone');
      this.logs.delete(oldest!);
    }
    log = { chunks: [], bytes: 0, dropped: 0, readers: new Set(), ended: false };
    this.logs.set(k, log);
    return log;
  }

  private end(id: string, builder: string, why: 'report' | 'gone'): void {
    const k = key(id, builder);
    const log = this.logs.get(k);
    if (!log || log.ended) return;
    log.ended = true;
    for (const r of log.readers) r({ end: why });
    log.readers.clear();
    log.chunks = [];
    setTimeout(() => { if (this.logs.get(k) === log) this.logs.delete(k); }, LINGER_MS).unref();
  }
}

function key(id: string, builder: string): string {
  return `${id}\0${builder}`;
}
