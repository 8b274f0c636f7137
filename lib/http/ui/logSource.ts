// Where a page reads a build's log from: the whole log the master keeps on disk once it is finished (else the
// report's kept output), or while it runs, its output so far and then each piece as the master hears it.
import { Readable } from 'node:stream';
import type { LiveLogs } from '../../master/liveLogs.js';
import type { History } from '../../store/history.js';
import type { LogReader, StoredReport } from '../../store/store.js';

export interface LogSources {
  history: History;
  live?: LiveLogs;
  logs?: LogReader;
}

/** Live pieces a reader may have waiting (while it sends what is on disk, or a slow client) before it is cut off. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** A finished build's log: its bytes in order, and whether it is the whole log the master keeps or the report's output. */
export async function finishedLog(s: LogSources, report: StoredReport): Promise<{ pieces: AsyncIterable<Buffer>; whole: boolean }> {
  const entry = await s.history.log(report.id, report.builder);
  const stream = entry ? s.logs?.read(report.id, report.builder) : undefined;
  if (stream) return { pieces: stream as AsyncIterable<Buffer>, whole: true };
  return { pieces: Readable.from([Buffer.from(report.output)]), whole: false };
}

export type RunningEnd = 'report' | 'gone' | 'now';

export interface RunningLog {
  /** The offset of the first byte given: 0, or the bytes of output not kept for live readers. */
  start: number;
  /** The output from `start`: what is there now, then (when following) each new piece until the build ends. */
  pieces: AsyncIterable<Buffer>;
  /** Why the pieces ended (once they have): its report came, its builder went away, or (not following) caught up. */
  ended(): RunningEnd | undefined;
  /** Stops reading (the client went away); the pieces end. */
  stop(): void;
}

/**
 * A running build's output as the master has it: the part on disk and the live pieces taken in the same turn, so
 * the file ends exactly where the first live piece begins. With `follow` false it ends at what is there now.
 * Undefined when no such build runs.
 */
export function runningLog(s: LogSources, id: string, builder: string, follow: boolean): RunningLog | undefined {
  if (!s.live) return undefined;
  const queue: Array<Buffer | RunningEnd> = [];
  let queued = 0;
  let overflow = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const following = s.live.follow(id, builder, (piece) => {
    if ('data' in piece) {
      queued += piece.data.length;
      if (queued > MAX_QUEUED_BYTES) overflow = true;
      else queue.push(piece.data);
    } else queue.push(piece.end);
    wake?.();
  });
  if (!following) return undefined;
  const sofar = s.logs?.sofar(id, builder);
  let ended: RunningEnd | undefined;
  const stop = (): void => {
    stopped = true;
    following.stop();
    sofar?.destroy();
    wake?.();
  };
  async function* pieces(): AsyncGenerator<Buffer> {
    try {
      if (sofar) for await (const c of sofar as AsyncIterable<Buffer>) yield c;
      else yield* following!.kept;
      for (;;) {
        while (queue.length > 0) {
          const p = queue.shift()!;
          if (typeof p === 'string') return void (ended = p);
          queued -= p.length;
          yield p;
        }
        if (overflow) throw new Error('the reader fell too far behind the build');
        if (!follow) return void (ended = 'now');
        if (stopped) return;
        await new Promise<void>((resolve) => { wake = resolve; });
        wake = undefined;
      }
    } finally {
      stop();
    }
  }
  return { start: sofar ? 0 : following.dropped, pieces: pieces(), ended: () => ended, stop };
}
