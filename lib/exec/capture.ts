// A build's kept output: the first and the last N bytes, interleaved as produced, with a line saying how much was cut.
import { REPORT_KEEP_BYTES } from '../protocol/limits.js';

export class OutputCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(private readonly keep: number = REPORT_KEEP_BYTES) {}

  add(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.keep) {
      const take = Math.min(this.keep - this.headBytes, chunk.length);
      this.head.push(Buffer.from(chunk.subarray(0, take)));
      this.headBytes += take;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    if (chunk.length >= this.keep) {
      this.tail = [Buffer.from(chunk.subarray(chunk.length - this.keep))];
      this.tailBytes = this.keep;
      return;
    }
    // Held as it came, not copied: each pipe read is a buffer of its own that nothing writes to again, and the tail
    // holds at most `keep` bytes plus one read's worth of them.
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= this.keep) this.tailBytes -= this.tail.shift()!.length;
  }

  /** All bytes seen. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes left out of the kept output. */
  get cut(): number {
    return Math.max(0, this.total - this.headBytes - Math.min(this.tailBytes, this.keep));
  }

  /** The kept output as text, with a visible line where bytes were cut. */
  text(): string {
    let tail = Buffer.concat(this.tail);
    if (tail.length > this.keep) tail = tail.subarray(tail.length - this.keep);
    const head = Buffer.concat(this.head).toString('utf8');
    const cut = this.cut;
    if (cut === 0) return head + tail.toString('utf8');
    return `${head}\n[simplebb: ${cut} bytes of output cut here; kept the first and last ${this.keep} bytes]\n${tail.toString('utf8')}`;
  }
}
