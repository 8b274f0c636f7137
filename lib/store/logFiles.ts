// Each build's whole output on disk beside the record: appended as the master hears it, cut to a head and a tail
// beyond a size, compressed when the build ends, read back as a stream.
import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { makeDir } from '../common/files.js';
import type { LogEntry } from './store.js';

/** Suffixes of a build's files: the head as written, two tail segments taking turns beyond the head, the finished log. */
const PART = '.part';
const TAILS = ['.tail0', '.tail1'] as const;
const DONE = '.log.gz';
/** Where running builds' files are, apart from the finished logs: a start lists only these (ids have no dot). */
const RUNNING = '.running';
/** Running builds whose files stay open; beyond it the least recently written is closed (and reopened when it writes). */
const MAX_OPEN_FILES = 256;
/** Bytes copied at a time when a finished log is put together. */
const COPY_BYTES = 1024 * 1024;

/** The size a finished build's output had and how it was kept. */
export interface FinishedOutput {
  /** Bytes the build wrote, as its report says. */
  outputBytes: number;
  /** The report's kept output, and how many bytes it cut from the middle (0: it is the whole output). */
  output: string;
  outputCut: number;
}

interface Writing {
  fd: number | undefined;
  /** Bytes in the head file. */
  head: number;
  /** Beyond the head: which tail segment is written now and how many bytes each holds. */
  tail: { now: 0 | 1; bytes: [number, number] } | undefined;
  /** Bytes of output heard (marks not counted). */
  heard: number;
  /** Bytes written to the files (the head, the tail and what the tail let go). */
  written: number;
}

export class LogFiles {
  private readonly writing = new Map<string, Writing>();
  /** Bytes the head may hold; beyond it output goes to the tail segments, each holding a quarter of the limit. */
  private readonly headMax: number;
  private readonly segMax: number;

  constructor(readonly dir: string, readonly maxBytes: number) {
    makeDir(dir, 'the log dir');
    this.headMax = Math.floor(maxBytes / 2);
    this.segMax = Math.max(1, Math.floor(maxBytes / 4));
  }

  /**
   * Appends a piece of a running build's output (synchronously: a reader who looks next finds it in the file).
   * A builder that was away sends what it held meanwhile when it is back, so pieces come in the build's order.
   */
  append(id: string, builder: string, data: Buffer): void {
    const w = this.state(id, builder);
    w.heard += data.length;
    this.write(id, builder, w, data);
  }

  /** Bytes of the log so far when all of it is in the head file (a follower can read it whole), else undefined. */
  whole(id: string, builder: string): { path: string; bytes: number } | undefined {
    const w = this.writing.get(key(id, builder));
    return w && !w.tail ? { path: this.path(id, builder, PART), bytes: w.head } : undefined;
  }

  /** Builds whose output is being written, found on disk (at start: what the last master left). */
  unfinished(): Array<{ id: string; builder: string }> {
    const out: Array<{ id: string; builder: string }> = [];
    const running = join(this.dir, RUNNING);
    for (const id of safeList(running)) {
      for (const f of safeList(join(running, id))) if (f.endsWith(PART)) out.push({ id, builder: f.slice(0, -PART.length) });
    }
    return out;
  }

  /**
   * Puts a finished build's log together and compresses it. The master's own copy when it heard all of it; else
   * the report's kept output when that is whole; else what it heard, with a last line saying how much it missed
   * (output a builder could not hold while it was away, or that was in flight when a connection broke).
   */
  async finish(id: string, builder: string, report: FinishedOutput, now: number): Promise<LogEntry | undefined> {
    const k = key(id, builder);
    const w = this.writing.get(k) ?? this.found(id, builder);
    this.close(k);
    this.writing.delete(k);
    const files = { head: this.path(id, builder, PART), tails: TAILS.map((t) => this.path(id, builder, t)) };
    const heardAll = w !== undefined && w.heard === report.outputBytes;
    // A master-given verdict (lost, superseded) says 0 bytes: what was heard is then all there is.
    if (!heardAll && report.outputCut === 0 && report.outputBytes >= (w?.heard ?? 0)) {
      if (report.outputBytes === 0 && !w) return undefined;
      const whole = Buffer.from(report.output);
      return this.store(id, builder, Readable.from([whole]), { bytes: whole.length, cut: 0, missing: 0 }, now, files);
    }
    if (!w) return undefined;
    const tails = w.tail ? this.tailOrder(w) : [];
    const tailKept = tails.reduce((n, s) => n + s.bytes, 0);
    const cut = w.tail ? Math.max(0, w.written - w.head - tailKept) : 0;
    const cutMark = w.tail ? Buffer.from(`\n[simplebb: ${cut} bytes cut here; the master keeps the first and last part of a build's output up to --max-log-bytes ${this.maxBytes}]\n`) : undefined;
    const missing = Math.max(0, report.outputBytes - w.heard);
    const endMark = missing > 0 ? Buffer.from(`\n[simplebb: the master heard ${w.heard} of the ${report.outputBytes} bytes this build wrote: ${missing} are missing (the builder was away longer than it could hold its output); the report's kept output has the first and last part]\n`) : undefined;
    const pieces = this.pieces(files.head, tails.map((s) => ({ path: files.tails[s.seg]!, bytes: s.bytes })), cutMark, endMark);
    return this.store(id, builder, pieces, { bytes: w.head + tailKept + (cutMark?.length ?? 0) + (endMark?.length ?? 0), cut, missing }, now, files);
  }

  /** A finished log, decompressed as it is read; undefined when none is kept. */
  read(id: string, builder: string): Readable | undefined {
    const file = this.path(id, builder, DONE);
    if (!existsSync(file)) return undefined;
    const out = new PassThrough();
    pipeline(createReadStream(file), createGunzip(), out).catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  /** Removes a finished log (and its suggestion's directory once empty). */
  async remove(id: string, builder: string): Promise<void> {
    await rm(this.path(id, builder, DONE), { force: true });
    try { rmdirSync(join(this.dir, id)); } catch { /* other builders' logs are there */ }
  }

  /** Closes every open file (the master stops; the logs stay as they are for the next start to finish). */
  closeAll(): void {
    for (const k of this.writing.keys()) this.close(k);
  }

  private async store(id: string, builder: string, from: Readable, size: { bytes: number; cut: number; missing: number }, now: number,
    files: { head: string; tails: string[] }): Promise<LogEntry> {
    const done = this.path(id, builder, DONE);
    makeDir(join(this.dir, id), 'the log dir');
    const temp = `${done}.tmp`;
    await pipeline(from, createGzip(), createWriteStream(temp, { mode: 0o600 }) as Writable);
    renameSync(temp, done);
    for (const f of [files.head, ...files.tails]) rmSync(f, { force: true });
    try { rmdirSync(join(this.dir, RUNNING, id)); } catch { /* other builders of it still run, or it was never there */ }
    return { id, builder, bytes: size.bytes, storedBytes: statSync(done).size, cut: size.cut, missing: size.missing, finishedAt: now };
  }

  /** The tail segments oldest first: the one not written now (if it holds anything), then the one written now. */
  private tailOrder(w: Writing): Array<{ seg: 0 | 1; bytes: number }> {
    const t = w.tail!;
    const other = (1 - t.now) as 0 | 1;
    return [{ seg: other, bytes: t.bytes[other] }, { seg: t.now, bytes: t.bytes[t.now] }].filter((s) => s.bytes > 0);
  }

  /** The head, a cut mark, the tail segments and an end mark, in order, as one stream. */
  private pieces(head: string, tails: Array<{ path: string; bytes: number }>, cutMark: Buffer | undefined, endMark: Buffer | undefined): Readable {
    async function* gen(): AsyncGenerator<Buffer> {
      yield* chunks(head, Infinity);
      if (cutMark) yield cutMark;
      for (const t of tails) yield* chunks(t.path, t.bytes);
      if (endMark) yield endMark;
    }
    return Readable.from(gen());
  }

  private state(id: string, builder: string): Writing {
    const k = key(id, builder);
    let w = this.writing.get(k);
    if (!w) {
      makeDir(join(this.dir, RUNNING, id), 'the log dir');
      w = this.found(id, builder) ?? { fd: undefined, head: 0, tail: undefined, heard: 0, written: 0 };
      this.writing.set(k, w);
    } else {
      // Most recently written last: the first in the map is the one to close when too many are open.
      this.writing.delete(k);
      this.writing.set(k, w);
    }
    return w;
  }

  /** A log the last master was writing when it stopped: what it holds (the builder sends what it printed meanwhile). */
  private found(id: string, builder: string): Writing | undefined {
    const head = statOf(this.path(id, builder, PART));
    if (!head) return undefined;
    const segs = TAILS.map((t) => statOf(this.path(id, builder, t)));
    const bytes: [number, number] = [segs[0]?.size ?? 0, segs[1]?.size ?? 0];
    // The segment written last is the one written now.
    const tail = segs[0] || segs[1] ? { now: ((segs[1]?.mtimeMs ?? -1) > (segs[0]?.mtimeMs ?? -1) ? 1 : 0) as 0 | 1, bytes } : undefined;
    const kept = head.size + bytes[0] + bytes[1];
    return { fd: undefined, head: head.size, tail, heard: kept, written: kept };
  }

  private write(id: string, builder: string, w: Writing, data: Buffer): void {
    w.written += data.length;
    let at = 0;
    if (!w.tail && w.head < this.headMax) {
      const n = Math.min(data.length, this.headMax - w.head);
      this.writeTo(id, builder, w, PART, data.subarray(0, n));
      w.head += n;
      at = n;
      if (at === data.length) return;
    }
    if (!w.tail) {
      // The head is full (in this piece or an earlier one): its file is closed, the tail's opened from here on.
      this.close(key(id, builder));
      w.tail = { now: 0, bytes: [0, 0] };
    }
    const t = w.tail;
    while (at < data.length) {
      if (t.bytes[t.now] >= this.segMax) {
        // The older segment is let go: the tail keeps between one and two segments of the newest output.
        this.close(key(id, builder));
        t.now = (1 - t.now) as 0 | 1;
        rmSync(this.path(id, builder, TAILS[t.now]), { force: true });
        t.bytes[t.now] = 0;
      }
      const n = Math.min(data.length - at, this.segMax - t.bytes[t.now]);
      this.writeTo(id, builder, w, TAILS[t.now], data.subarray(at, at + n));
      t.bytes[t.now] += n;
      at += n;
    }
  }

  private writeTo(id: string, builder: string, w: Writing, suffix: string, data: Buffer): void {
    const fd = this.openFile(id, builder, w, suffix);
    for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
  }

  private openFile(id: string, builder: string, w: Writing, suffix: string): number {
    if (w.fd !== undefined) return w.fd;
    if (this.openCount() >= MAX_OPEN_FILES) for (const [k, other] of this.writing) if (other.fd !== undefined) { this.close(k); break; }
    w.fd = openSync(this.path(id, builder, suffix), 'a', 0o600);
    // The file as found may be longer than what was counted (a piece written as the last master died): trust the file.
    const size = fstatSync(w.fd).size;
    if (suffix === PART) w.head = size;
    else if (w.tail) w.tail.bytes[w.tail.now] = size;
    return w.fd;
  }

  private openCount(): number {
    let n = 0;
    for (const w of this.writing.values()) if (w.fd !== undefined) n++;
    return n;
  }

  private close(k: string): void {
    const w = this.writing.get(k);
    if (w?.fd === undefined) return;
    try { closeSync(w.fd); } catch { /* already closed */ }
    w.fd = undefined;
  }

  /** A finished log beside its suggestion's others; a running build's files under .running/. */
  private path(id: string, builder: string, suffix: string): string {
    return suffix === DONE ? join(this.dir, id, `${builder}${suffix}`) : join(this.dir, RUNNING, id, `${builder}${suffix}`);
  }
}

function key(id: string, builder: string): string {
  return `${id}\0${builder}`;
}

function statOf(file: string): { size: number; mtimeMs: number } | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A file's first `limit` bytes, a megabyte at a time (nothing when it is not there). */
async function* chunks(file: string, limit: number): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    let left = limit;
    while (left > 0) {
      const buf = Buffer.alloc(Math.min(COPY_BYTES, left));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      left -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
