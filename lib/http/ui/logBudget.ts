// How much of a log one page shows: its head as it comes, then (for a log beyond the budget) only its tail, the
// middle left out at line ends and counted in bytes and lines, so the page can say what it left out and number on.

/** Text of a log one page renders: beyond it, its first and last halves (a 100,000-line log of 80-column lines fits). */
export const PAGE_LOG_BYTES = 8 * 1024 * 1024;

const NEWLINE = 0x0a;

export interface Skipped {
  /** Bytes left out of the middle (0: none; the tail follows the head). */
  bytes: number;
  /** Newlines in what was left out: the tail's first line is numbered on by these. */
  lines: number;
}

/** The line ends in `b`. */
export function newlines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(NEWLINE); i >= 0; i = b.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/**
 * Splits a stream of bytes into a head shown at once (up to `headBytes`, ending at a line end when one is within
 * it) and, once past it, a tail of at most `tailBytes` kept until the end (starting after a line end when one is in it).
 */
export class LogBudget {
  private headLeft: number;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private skippedBytes = 0;
  private skippedLines = 0;
  /** The head's last line, while its end has not come. */
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the head shown. */
  private shown = 0;

  constructor(headBytes: number, private readonly tailMax: number) {
    this.headLeft = headBytes;
  }

  /** Whether the head is done (what comes now goes to the tail). */
  get past(): boolean {
    return this.headLeft < 0;
  }

  /** The part of `chunk` to show now: whole lines of the head (a line's start waits for its end), nothing once past it. */
  push(chunk: Buffer): Buffer {
    if (this.headLeft < 0) {
      this.keep(chunk);
      return chunk.subarray(0, 0);
    }
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = data.subarray(0, 0);
    if (data.length <= this.headLeft) {
      const upTo = data.lastIndexOf(NEWLINE) + 1;
      this.pending = data.subarray(upTo);
      this.headLeft -= upTo;
      this.shown += upTo;
      return data.subarray(0, upTo);
    }
    // The head ends here: at the last line end within the budget, or mid-line when no line end fits at all.
    const nl = this.headLeft > 0 ? data.lastIndexOf(NEWLINE, this.headLeft - 1) : -1;
    const cut = nl >= 0 ? nl + 1 : this.shown > 0 ? 0 : this.headLeft;
    this.headLeft = -1;
    this.keep(data.subarray(cut));
    return data.subarray(0, cut);
  }

  /** At the end: what was left out, and the tail to show after the mark (or right after the head when nothing was). */
  end(): { skipped: Skipped; tail: Buffer } {
    // A head that never ran out ends with its last line, newline or not.
    let tail = Buffer.concat([this.pending, ...this.tail]);
    this.pending = Buffer.alloc(0);
    this.tail = [];
    if (this.skippedBytes > 0) {
      // The tail starts on a line of its own when it holds a line end.
      const nl = tail.indexOf(NEWLINE);
      if (nl >= 0 && nl < tail.length - 1) {
        this.skippedBytes += nl + 1;
        this.skippedLines++;
        tail = tail.subarray(nl + 1);
      }
    }
    return { skipped: { bytes: this.skippedBytes, lines: this.skippedLines }, tail };
  }

  private keep(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > this.tailMax) {
      const first = this.tail[0]!;
      const over = this.tailBytes - this.tailMax;
      const gone = over >= first.length ? first : first.subarray(0, over);
      if (gone === first) this.tail.shift();
      else this.tail[0] = first.subarray(over);
      this.tailBytes -= gone.length;
      this.skippedBytes += gone.length;
      this.skippedLines += newlines(gone);
    }
  }
}
