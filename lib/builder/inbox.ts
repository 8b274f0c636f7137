// The builder's inbox: every order it receives is on disk before it says so, with whether its build began, and every
// finished build's report until the master acknowledges it.
import { closeSync, fdatasync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BuildOrder, ReportFields } from '../protocol/messages.js';
import { ID_RULE, TOKEN_ID_RULE } from '../protocol/names.js';

/** A finished build's report with its kept output, as kept until acknowledged and sent. */
export interface SpooledReport extends ReportFields {
  output: string;
}

/** An order the inbox holds: received, perhaps begun (and with which process), perhaps skipped (waiting for the master's ack). */
export interface Held {
  order: BuildOrder;
  /** The record (master database) it came from. */
  store: string;
  begun: boolean;
  /** When it began (by this machine's clock). */
  begunAt?: number;
  pid?: number;
  skipped: boolean;
}

type Line =
  | { t: 'order'; s: string; o: BuildOrder }
  | { t: 'synced'; s: string; seq: number }
  | { t: 'begin'; id: string; at?: number }
  | { t: 'pid'; id: string; pid: number }
  | { t: 'skip'; id: string }
  | { t: 'report'; r: SpooledReport }
  | { t: 'done'; id: string };

/** Where a report's line is in the journal file. */
interface Place { pos: number; len: number }

/** The journal is rewritten with only what is still held when this many lines name finished orders. */
const COMPACT_AFTER = 2000;

/** Checks a journal line read back from disk; anything else is a torn or foreign line and is skipped. */
function parse(text: string): Line | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return check(v);
}

/** The same check on a value: what parse() would accept once it is written and read back. */
function check(v: unknown): Line | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const l = v as Record<string, unknown>;
  const id = (x: unknown): x is string => typeof x === 'string' && ID_RULE.test(x);
  switch (l.t) {
    case 'order': {
      const o = l.o as Record<string, unknown> | undefined;
      const ok = typeof l.s === 'string' && TOKEN_ID_RULE.test(l.s) && o && id(o.id) && Number.isSafeInteger(o.seq)
        && typeof o.project === 'string' && typeof o.branch === 'string' && (o.revision === undefined || typeof o.revision === 'string');
      return ok ? (l as Line) : undefined;
    }
    case 'synced':
      return typeof l.s === 'string' && TOKEN_ID_RULE.test(l.s) && Number.isSafeInteger(l.seq) ? (l as Line) : undefined;
    case 'pid':
      return id(l.id) && Number.isSafeInteger(l.pid) && (l.pid as number) > 1 ? (l as Line) : undefined;
    case 'begin':
      return id(l.id) && (l.at === undefined || Number.isSafeInteger(l.at)) ? (l as Line) : undefined;
    case 'report': {
      // The master checks every field when it is sent; here only what the builder itself relies on.
      const r = l.r as Record<string, unknown> | undefined;
      const ok = r && id(r.id) && typeof r.project === 'string' && typeof r.branch === 'string' && typeof r.verdict === 'string'
        && typeof r.output === 'string' && Number.isSafeInteger(r.exitCode);
      return ok ? (l as Line) : undefined;
    }
    case 'skip': case 'done':
      return id(l.id) ? (l as Line) : undefined;
    default:
      return undefined;
  }
}

/**
 * An append-only journal (`inbox.log`) replayed at start. Lines that must survive a crash of the machine (an order
 * received, a build about to begin, a build's report) are fsynced, many at once: writes that arrive while one is on
 * its way go together in the next. Others (a pid, a skip, done) need only survive a crash of clientd, which the page
 * cache does. Reports are not kept in memory: the journal holds them, and each is read back when it is sent again.
 */
export class Inbox {
  private readonly held = new Map<string, Held>();
  /** Reports waiting for the master's ack, oldest first: where each is in the journal. */
  private readonly reports = new Map<string, Place>();
  /** Ids of orders being written: a second copy arriving meanwhile is not new. */
  private readonly incoming = new Set<string>();
  private cursorOf: { store: string; seq: number } | undefined;
  /** How many held orders are skipped: asked after every ack, so counted, not found by a pass over what is held. */
  private skipped = 0;
  private fd: number;
  /** The journal's length in bytes: where the next line goes. */
  private size = 0;
  private finished = 0;
  private queue: Array<{ lines: Line[]; sync: boolean; done: (err?: Error) => void }> = [];
  private writing = false;

  /** `source` is the journal as read at open, for copying its reports into the rewritten one. */
  private constructor(private readonly file: string, lines: Array<{ line: Line; at: Place }>, source: Buffer) {
    for (const { line, at } of lines) this.apply(line, at);
    this.fd = this.rewrite((at) => source.subarray(at.pos, at.pos + at.len));
  }

  /** Reads the journal in `dir` (a torn last line from a crash is ignored) and compacts it. */
  static open(dir: string): { inbox: Inbox; skipped: number } {
    const file = join(dir, 'inbox.log');
    let bytes = Buffer.alloc(0);
    try {
      bytes = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const lines: Array<{ line: Line; at: Place }> = [];
    let skipped = 0;
    for (let pos = 0; pos < bytes.length;) {
      const nl = bytes.indexOf(10, pos);
      // Every line is written with its newline: a last one without is torn, whatever it parses as (a report cut
      // just before its newline would otherwise be copied without one, and the next line glued to it).
      if (nl === -1) {
        skipped++;
        break;
      }
      if (nl > pos) {
        const line = parse(bytes.toString('utf8', pos, nl));
        if (line) lines.push({ line, at: { pos, len: nl + 1 - pos } });
        else skipped++;
      }
      pos = nl + 1;
    }
    return { inbox: new Inbox(file, lines, bytes), skipped };
  }

  /** How far this inbox has everything from record `store` (its newest order or `synced`), if it has anything from it. */
  cursor(store: string): number | undefined {
    return this.cursorOf?.store === store ? this.cursorOf.seq : undefined;
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  /** Orders held, in the order of the master's log. */
  pending(): Held[] {
    return [...this.held.values()].sort((a, b) => a.order.seq - b.order.seq);
  }

  /** Orders still to confirm as skipped to the master. */
  skips(): string[] {
    return this.pending().filter((h) => h.skipped).map((h) => h.order.id);
  }

  /** How many orders are still to confirm as skipped (skips().length, without sorting what is held). */
  get skipCount(): number {
    return this.skipped;
  }

  /** The orders new to this inbox (neither held nor being written); they count as being written until receive() ends. */
  fresh(orders: BuildOrder[]): BuildOrder[] {
    return orders.filter((o) => {
      if (this.held.has(o.id) || this.incoming.has(o.id)) return false;
      this.incoming.add(o.id);
      return true;
    });
  }

  /**
   * Writes received orders (and, after a catch-up, how far the builder is synced) and fsyncs. `begins` are orders
   * whose builds start right away: their begin goes in the same write, saving a second fsync before the spawn.
   */
  async receive(orders: BuildOrder[], store: string, synced?: number, begins: ReadonlyMap<string, number> = new Map()): Promise<void> {
    const lines: Line[] = orders.map((o): Line => ({ t: 'order', s: store, o: { ...o, type: 'suggest' } }));
    for (const [id, at] of begins) lines.push({ t: 'begin', id, at });
    if (synced !== undefined) lines.push({ t: 'synced', s: store, seq: synced });
    try {
      if (lines.length) await this.write(lines, true);
    } finally {
      for (const o of orders) this.incoming.delete(o.id);
    }
  }

  /** Whether the inbox has noted that this order's build began. */
  begun(id: string): boolean {
    return this.held.get(id)?.begun ?? false;
  }

  /** Durably notes that the build is about to start: after a crash it is never started again. */
  begin(id: string, at: number): Promise<void> {
    return this.write([{ t: 'begin', id, at }], true);
  }

  pid(id: string, pid: number): Promise<void> {
    return this.write([{ t: 'pid', id, pid }], false);
  }

  noteSkipped(id: string): Promise<void> {
    return this.write([{ t: 'skip', id }], false);
  }

  /** Durably keeps a finished build's report (or several, from an older spool) until done(). */
  keep(...reports: SpooledReport[]): Promise<void> {
    // What could not be read back at the next start is refused now, not kept and lost then.
    for (const r of reports) if (!check({ t: 'report', r })) return Promise.reject(new Error(`report ${String(r.id)} is not one the journal can keep`));
    return reports.length ? this.write(reports.map((r) => ({ t: 'report', r })), true) : Promise.resolve();
  }

  /** Whether `r` is a report this journal can keep and read back (spool.ts checks an earlier release's files with it). */
  static keepable(r: unknown): r is SpooledReport {
    return check({ t: 'report', r }) !== undefined;
  }

  /** Whether a report for this id waits for the master's ack. */
  reported(id: string): boolean {
    return this.reports.has(id);
  }

  /** Ids of the reports waiting for an ack, oldest first. */
  reportIds(): string[] {
    return [...this.reports.keys()];
  }

  /** How many reports wait for an ack. */
  get reportCount(): number {
    return this.reports.size;
  }

  /** A waiting report, read back from the journal; undefined if there is none or it cannot be read. */
  report(id: string): SpooledReport | undefined {
    const at = this.reports.get(id);
    if (!at) return undefined;
    try {
      const line = parse(this.read(at).toString('utf8'));
      return line?.t === 'report' && line.r.id === id ? line.r : undefined;
    } catch {
      return undefined;
    }
  }

  /** The order (and its report, if any) is finished with: the report is acknowledged, or the skip is. */
  done(id: string): Promise<void> {
    return this.write([{ t: 'done', id }], false);
  }

  /** Closes the journal: a write still queued, or one asked for later, fails instead of reaching a reused descriptor. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    if (this.writing) return; // drain() closes it once its write and fdatasync are done
    try { closeSync(fd); } catch { /* closed */ }
  }

  private apply(l: Line, at?: Place): void {
    switch (l.t) {
      case 'order':
        if (!this.held.has(l.o.id)) this.held.set(l.o.id, { order: l.o, store: l.s, begun: false, skipped: false });
        this.advance(l.s, l.o.seq);
        return;
      case 'synced':
        this.advance(l.s, l.seq);
        return;
      case 'report':
        if (at) {
          this.reports.delete(l.r.id); // a newer copy goes to the end
          this.reports.set(l.r.id, at);
        }
        return;
      case 'begin': case 'pid': case 'skip': {
        const h = this.held.get(l.id);
        if (!h) return;
        if (l.t === 'begin') {
          h.begun = true;
          if (l.at !== undefined) h.begunAt = l.at;
        }
        else if (l.t === 'pid') h.pid = l.pid;
        else if (!h.skipped) {
          h.skipped = true;
          this.skipped++;
        }
        return;
      }
      case 'done': {
        if (this.held.get(l.id)?.skipped) this.skipped--;
        const had = this.held.delete(l.id);
        if (this.reports.delete(l.id) || had) this.finished++;
        return;
      }
    }
  }

  /** A newer record replaces the cursor; within one record it only moves forward. */
  private advance(store: string, seq: number): void {
    if (this.cursorOf?.store !== store) this.cursorOf = { store, seq };
    else this.cursorOf.seq = Math.max(this.cursorOf.seq, seq);
  }

  /** What is held, as journal lines (reports apart); the cursor comes last, so an order of an older record read back cannot replace it. */
  private snapshot(): Line[] {
    const lines: Line[] = [];
    for (const h of this.pending()) {
      lines.push({ t: 'order', s: h.store, o: h.order });
      if (h.begun) lines.push({ t: 'begin', id: h.order.id, ...(h.begunAt !== undefined ? { at: h.begunAt } : {}) });
      if (h.pid !== undefined) lines.push({ t: 'pid', id: h.order.id, pid: h.pid });
      if (h.skipped) lines.push({ t: 'skip', id: h.order.id });
    }
    if (this.cursorOf) lines.push({ t: 'synced', s: this.cursorOf.store, seq: this.cursorOf.seq });
    return lines;
  }

  /** Bytes of the current journal. */
  private read(at: Place): Buffer {
    const buf = Buffer.allocUnsafe(at.len);
    let got = 0;
    while (got < at.len) {
      const n = readSync(this.fd, buf, got, at.len - got, at.pos + got);
      if (n === 0) throw new Error('journal shorter than expected');
      got += n;
    }
    return buf;
  }

  /**
   * Writes what is held to a new journal (temp file, fsync, rename, fsync of the dir) and returns it open for
   * appending and reading: the descriptor is opened before the rename, so it is the new journal's or, on failure,
   * nothing changed and the old one goes on. Reports are copied line for line from `source` (the old journal).
   */
  private rewrite(source: (at: Place) => Buffer): number {
    const tmp = `${this.file}.tmp`;
    rmSync(tmp, { force: true }); // left by a crash mid-rewrite
    const fd = openSync(tmp, 'a+', 0o600);
    const moved = new Map<string, Place>();
    let size = 0;
    try {
      const put = (buf: Buffer): void => {
        for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
        size += buf.length;
      };
      for (const [id, at] of this.reports) {
        moved.set(id, { pos: size, len: at.len });
        put(source(at));
      }
      const text = this.snapshot().map((l) => JSON.stringify(l) + '\n').join('');
      if (text) put(Buffer.from(text));
      fsyncSync(fd);
      renameSync(tmp, this.file);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    // From the rename on, fd is the journal: a failure to sync the dir must not close it (that would leave this
    // inbox writing to the replaced file). The rename reaches the disk with the next sync of the dir, or the OS's.
    try {
      const dir = openSync(dirname(this.file), 'r');
      try { fsyncSync(dir); } finally { closeSync(dir); }
    } catch { /* see above */ }
    for (const [id, at] of moved) this.reports.set(id, at);
    this.size = size;
    this.finished = 0;
    return fd;
  }

  /** Rewrites the journal; a failure leaves the old one in use (the lines are in it) and is tried again later. */
  private compact(): void {
    try {
      const fd = this.rewrite((at) => this.read(at));
      closeSync(this.fd);
      this.fd = fd;
    } catch {
      this.finished = Math.floor(this.finished / 2); // not at every write; the journal stays whole meanwhile
    }
  }

  private write(lines: Line[], sync: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ lines, sync, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.writing) void this.drain();
    });
  }

  /**
   * Writes everything queued in one write (and one fsync if any of it asked for one), until the queue is empty.
   * The write itself is synchronous (into the page cache: microseconds, and no hand-off to a thread); the fsync is not,
   * so builds' output keeps flowing while it waits for the disk.
   */
  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      let error: Error | undefined;
      const fd = this.fd;
      const start = this.size;
      if (fd < 0) {
        for (const b of batch) b.done(new Error('the inbox journal is closed'));
        continue;
      }
      try {
        const placed: Array<{ line: Line; at: Place }> = [];
        const texts: string[] = [];
        let pos = start;
        for (const b of batch) {
          for (const line of b.lines) {
            const text = JSON.stringify(line) + '\n';
            const len = Buffer.byteLength(text);
            placed.push({ line, at: { pos, len } });
            texts.push(text);
            pos += len;
          }
        }
        const buf = Buffer.from(texts.join(''));
        for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
        this.size = pos;
        if (batch.some((b) => b.sync)) await new Promise<void>((res, rej) => fdatasync(fd, (err) => (err ? rej(err) : res())));
        for (const { line, at } of placed) this.apply(line, at);
        if (this.fd >= 0 && this.finished >= COMPACT_AFTER && this.finished > this.held.size + this.reports.size) this.compact();
      } catch (err) {
        error = err as Error;
        // Not confirmed, so not kept: and a write cut short (a full disk) must not glue a torn line to the next one.
        try {
          ftruncateSync(fd, start);
          this.size = start;
        } catch { /* the next open skips the torn line */ }
      }
      if (this.fd < 0) {
        // close() came while this batch was being written: it is on disk (or failed); now the descriptor goes.
        try { closeSync(fd); } catch { /* closed */ }
      }
      for (const b of batch) b.done(error);
    }
    this.writing = false;
  }
}
