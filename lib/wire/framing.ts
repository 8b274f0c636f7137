// Guarded newline-delimited framing: splits bytes into lines and refuses any line longer than the limit, however it is chunked.

export type FrameEvent = { kind: 'line'; line: Buffer } | { kind: 'overflow'; bytes: number };

/** Splits a byte stream into lines; a line (or an unfinished tail) over `maxLineBytes` yields an overflow, after which nothing more is read. */
export class LineFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk; returns the complete lines in it, in order, ending with an overflow event if one occurred. */
  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    if (this.overflowed) return events;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const lineBytes = this.pendingBytes + (nl - start);
      if (lineBytes > this.maxLineBytes + 1) return this.overflow(events, lineBytes);
      let line: Buffer;
      if (this.pendingBytes === 0) line = chunk.subarray(start, nl);
      else {
        this.pending.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.pending, lineBytes);
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineBytes) return this.overflow(events, line.length);
      if (line.length > 0) events.push({ kind: 'line', line });
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.pendingBytes + rest > this.maxLineBytes + 1) return this.overflow(events, this.pendingBytes + rest);
      // Copy: the socket may reuse the chunk's memory, and a small tail should not pin a large chunk.
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += rest;
    }
    return events;
  }

  /** Bytes of an unfinished line held so far. */
  get buffered(): number {
    return this.pendingBytes;
  }

  private overflow(events: FrameEvent[], bytes: number): FrameEvent[] {
    this.overflowed = true;
    this.pending = [];
    this.pendingBytes = 0;
    events.push({ kind: 'overflow', bytes });
    return events;
  }
}
