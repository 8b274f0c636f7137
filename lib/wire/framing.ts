// Guarded newline-delimited framing: splits bytes into lines, and raw payloads a line announces, and refuses any line
// (or payload) longer than the limit, however it is chunked.

/** A payload comes in one or more pieces, in order; `more` is true on every piece but its last. */
export type FrameEvent = { kind: 'line'; line: Buffer } | { kind: 'payload'; data: Buffer; more: boolean } | { kind: 'overflow'; bytes: number };

/**
 * Told each event in order. For a line it answers how many raw bytes follow it (0 or nothing: none), or false to stop
 * reading (the connection is closing); for a payload's piece, false to stop.
 */
export type FrameSink = (event: FrameEvent) => number | false | void;

/** Splits a byte stream into lines and payloads; a line, payload or unfinished tail over `maxLineBytes` yields an overflow, after which nothing more is read. */
export class LineFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the announced payload still to come. */
  private payloadLeft = 0;
  private overflowed = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk of lines only; returns them, in order, ending with an overflow event if one occurred. */
  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    this.feed(chunk, (e) => { events.push(e); });
    return events;
  }

  /** Feeds a chunk, telling `sink` each complete line and payload in it as it is found. */
  feed(chunk: Buffer, sink: FrameSink): void {
    if (this.overflowed) return;
    let start = 0;
    while (start < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - start);
        const piece = chunk.subarray(start, start + take);
        start += take;
        this.payloadLeft -= take;
        // Told piece by piece, as each chunk brings it, never joined (output is a stream of bytes: where a piece ends
        // means nothing): a view of the chunk (a socket hands each read in a buffer of its own, never reused), or a
        // copy when it is a small part of it, which would otherwise keep the whole chunk alive for as long as a slow
        // follower's queue or the live log holds it.
        const data = piece.length * 4 < chunk.length ? Buffer.from(piece) : piece;
        if (sink({ kind: 'payload', data, more: this.payloadLeft > 0 }) === false) return;
        continue;
      }
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const lineBytes = this.pendingBytes + (nl - start);
      if (lineBytes > this.maxLineBytes + 1) return this.overflow(sink, lineBytes);
      let line: Buffer;
      if (this.pendingBytes === 0) line = chunk.subarray(start, nl);
      else {
        this.pending.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.pending, lineBytes);
        this.pending = [];
        this.pendingBytes = 0;
      }
      start = nl + 1;
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineBytes) return this.overflow(sink, line.length);
      if (line.length === 0) continue;
      const follows = sink({ kind: 'line', line });
      if (follows === false) return;
      if (follows && follows > 0) {
        if (follows > this.maxLineBytes) return this.overflow(sink, follows);
        this.payloadLeft = follows;
      }
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.pendingBytes + rest > this.maxLineBytes + 1) return this.overflow(sink, this.pendingBytes + rest);
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += rest;
    }
  }

  /** Bytes of an unfinished line or payload held so far. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Drops what is held and reads nothing more (the connection is closing). */
  drop(): void {
    this.overflowed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.payloadLeft = 0;
  }

  private overflow(sink: FrameSink, bytes: number): void {
    this.drop();
    sink({ kind: 'overflow', bytes });
  }
}
