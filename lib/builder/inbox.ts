// The builder's inbox: every order it receives is on disk before it says so, with whether its build began, until it is done.
import { closeSync, fdatasync, fsyncSync, openSync, readFileSync, renameSync, rmSync, write, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BuildOrder } from '../protocol/messages.js';
import { ID_RULE, TOKEN_ID_RULE } from '../protocol/names.js';

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
  | { t: 'done'; id: string };

/** Writes the whole buffer at the end of an O_APPEND descriptor, however many calls it takes. */
async function writeAll(fd: number, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length;) {
    off += await new Promise<number>((res, rej) => write(fd, buf, off, buf.length - off, null, (err, n) => (err ? rej(err) : res(n))));
  }
}

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
    case 'skip': case 'done':
      return id(l.id) ? (l as Line) : undefined;
    default:
      return undefined;
  }
}

/**
 * An append-only journal (`inbox.log`) replayed at start. Lines that must survive a crash of the machine (an order
 * received, a build about to begin) are fsynced, many at once: writes that arrive while one is on its way go
 * together in the next. Others (a pid, done) need only survive a crash of clientd, which the page cache does.
 */
export class Inbox {
  private readonly held = new Map<string, Held>();
  /** Ids of orders being written: a second copy arriving meanwhile is not new. */
  private readonly incoming = new Set<string>();
  private cursorOf: { store: string; seq: number } | undefined;
  private fd: number;
  private finished = 0;
  private queue: Array<{ lines: Line[]; sync: boolean; done: (err?: Error) => void }> = [];
  private writing = false;

  private constructor(private readonly file: string, lines: Line[]) {
    for (const l of lines) this.apply(l);
    this.fd = this.rewrite();
  }

  /** Reads the journal in `dir` (a torn last line from a crash is ignored) and compacts it. */
  static open(dir: string): { inbox: Inbox; skipped: number } {
    const file = join(dir, 'inbox.log');
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const lines: Line[] = [];
    let skipped = 0;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      const l = parse(raw);
      if (l) lines.push(l);
      else skipped++;
    }
    return { inbox: new Inbox(file, lines), skipped };
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

  /** The order is finished with: its report is acknowledged (or its skip is). */
  done(id: string): Promise<void> {
    return this.write([{ t: 'done', id }], false);
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
  }

  private apply(l: Line): void {
    switch (l.t) {
      case 'order':
        if (!this.held.has(l.o.id)) this.held.set(l.o.id, { order: l.o, store: l.s, begun: false, skipped: false });
        this.advance(l.s, l.o.seq);
        return;
      case 'synced':
        this.advance(l.s, l.seq);
        return;
      case 'begin': case 'pid': case 'skip': {
        const h = this.held.get(l.id);
        if (!h) return;
        if (l.t === 'begin') {
          h.begun = true;
          if (l.at !== undefined) h.begunAt = l.at;
        }
        else if (l.t === 'pid') h.pid = l.pid;
        else h.skipped = true;
        return;
      }
      case 'done':
        if (this.held.delete(l.id)) this.finished++;
        return;
    }
  }

  /** A newer record replaces the cursor; within one record it only moves forward. */
  private advance(store: string, seq: number): void {
    if (this.cursorOf?.store !== store) this.cursorOf = { store, seq };
    else this.cursorOf.seq = Math.max(this.cursorOf.seq, seq);
  }

  /** What is held, as journal lines; the cursor comes last, so an order of an older record read back cannot replace it. */
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

  /**
   * Writes what is held to a new journal (temp file, fsync, rename, fsync of the dir) and returns it open for
   * appending: the descriptor is opened before the rename, so it is the new journal's or, on failure, nothing
   * changed and the old one goes on.
   */
  private rewrite(): number {
    const tmp = `${this.file}.tmp`;
    rmSync(tmp, { force: true }); // left by a crash mid-rewrite
    const fd = openSync(tmp, 'a', 0o600);
    try {
      const text = this.snapshot().map((l) => JSON.stringify(l) + '\n').join('');
      if (text) writeSync(fd, text);
      fsyncSync(fd);
      renameSync(tmp, this.file);
      const dir = openSync(dirname(this.file), 'r');
      try { fsyncSync(dir); } finally { closeSync(dir); }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.finished = 0;
    return fd;
  }

  /** Rewrites the journal; a failure leaves the old one in use (the lines are in it) and is tried again later. */
  private compact(): void {
    try {
      const fd = this.rewrite();
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

  /** Writes everything queued in one write (and one fsync if any of it asked for one), until the queue is empty. */
  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      let error: Error | undefined;
      try {
        const text = batch.flatMap((b) => b.lines).map((l) => JSON.stringify(l) + '\n').join('');
        const fd = this.fd;
        // Asynchronous, so builds' output keeps flowing meanwhile; one descriptor opened O_APPEND keeps each write whole.
        await writeAll(fd, Buffer.from(text));
        if (batch.some((b) => b.sync)) await new Promise<void>((res, rej) => fdatasync(fd, (err) => (err ? rej(err) : res())));
        for (const b of batch) for (const l of b.lines) this.apply(l);
        if (this.finished >= COMPACT_AFTER && this.finished > this.held.size) this.compact();
      } catch (err) {
        error = err as Error;
      }
      for (const b of batch) b.done(error);
    }
    this.writing = false;
  }
}
