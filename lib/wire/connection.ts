// A peer connection speaking guarded NDJSON: validated messages in, JSON lines out (an output message's bytes raw
// after its line), heartbeats, and bounded buffers.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { MAX_LINE_BYTES, MAX_NESTING, MAX_PAYLOAD_BYTES, PAYLOAD_TYPES, PROTOCOL_VERSION } from '../protocol/limits.js';
import type { Validator } from '../protocol/validator.js';
import { LineFramer } from './framing.js';
import type { BudgetHolder, InputBudget } from './inputBudget.js';
import { nestsTooDeep } from './nesting.js';

/** What a plain connection says when its peer starts a TLS handshake. */
export const PLAIN_PEER_SPOKE_TLS = 'the client speaks TLS, and this master serves no TLS: give the master --tls-cert and --tls-key, or drop --tls and --tls-ca on the client';

/** Messages of one connection handled in one turn of the event loop; the rest wait for the next, so one busy peer cannot starve the others. */
const MESSAGES_PER_TURN = 64;

/** Outgoing bytes a peer may leave unread before it is cut off as too slow. */
const MAX_UNREAD_BYTES = 32 * 1024 * 1024;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; problem: string; fatal?: boolean; ref?: string };

/** Message types whose `protocol` field is checked before the schema, so a newer peer hears about the version, not a field. */
const VERSIONED = new Set(['hello', 'greeting']);

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A line decoded to a JSON object with a `type`, or what is wrong with it. */
type Decoded = { ok: true; value: Record<string, unknown> & { type: string } } | { ok: false; problem: string; fatal?: boolean; ref?: string };

function refOf(value: object): { ref?: string } {
  const ref = (value as { ref?: unknown }).ref;
  return typeof ref === 'string' && ref.length <= 64 ? { ref } : {};
}

/** Decodes one line to an object with a type, checking the protocol version of the messages that carry one. */
function decodeLine(line: Buffer, speaker: string): Decoded {
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return { ok: false, problem: 'line is not valid UTF-8' };
  }
  if (nestsTooDeep(line)) return { ok: false, problem: `line nests deeper than ${MAX_NESTING} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `line is not valid JSON (${(err as Error).message.split('\n')[0]})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'message must be a JSON object' };
  }
  const { type, protocol } = value as { type?: unknown; protocol?: unknown };
  if (typeof type !== 'string') return { ok: false, problem: 'message has no "type" string', ...refOf(value) };
  if (VERSIONED.has(type) && protocol !== PROTOCOL_VERSION) {
    const theirs = typeof protocol === 'number' ? `protocol version ${protocol} is not supported` : `${type} has no numeric protocol version`;
    return { ok: false, fatal: true, problem: `${theirs}; ${speaker} speaks version ${PROTOCOL_VERSION}` };
  }
  return { ok: true, value: value as Record<string, unknown> & { type: string } };
}

function check<T>(value: Record<string, unknown> & { type: string }, validate: Validator<T>): ParseResult<T> {
  const result = validate(value);
  return result.ok ? result : { ...result, ...refOf(value) };
}

/** Decodes and validates one line (of a message without a payload); never throws. */
export function parseLine<T>(line: Buffer, validate: Validator<T>, speaker = 'this side'): ParseResult<T> {
  const d = decodeLine(line, speaker);
  return d.ok ? check(d.value, validate) : d;
}

/** One timer per tick length for all connections, instead of one per connection (10,000 builders, 10,000 timers). */
class HeartbeatTimers {
  private readonly groups = new Map<number, { timer: NodeJS.Timeout; members: Set<{ beat(): void }> }>();

  add(tickMs: number, c: { beat(): void }): void {
    let g = this.groups.get(tickMs);
    if (!g) {
      const members = new Set<{ beat(): void }>();
      const timer = setInterval(() => { for (const m of members) m.beat(); }, tickMs);
      timer.unref();
      g = { timer, members };
      this.groups.set(tickMs, g);
    }
    g.members.add(c);
  }

  remove(tickMs: number, c: { beat(): void }): void {
    const g = this.groups.get(tickMs);
    if (!g) return;
    g.members.delete(c);
    if (g.members.size === 0) {
      clearInterval(g.timer);
      this.groups.delete(tickMs);
    }
  }
}

const beats = new HeartbeatTimers();

export interface ConnectionOptions {
  /** Idle time after which we ping; a peer silent for three of these is dead. 0 turns heartbeats off. */
  heartbeatMs: number;
  maxLineBytes?: number;
  /** Who we are, in a protocol version mismatch message ("this master"). */
  speaker?: string;
  /** Deliver pings as messages instead of answering them here: the master answers only peers that said hello. */
  passPings?: boolean;
  /** Counts this connection's unfinished input against a budget shared with other connections. */
  budget?: InputBudget;
  /** The first line must be a hello: one that does not even hold the bytes `"hello"` is refused unparsed, and reading stops. */
  helloFirst?: boolean;
}

/** A line's outcome waiting for its turn: a message to validate and deliver, or a problem to tell. */
type Queued = { value: Record<string, unknown> & { type: string } } | { problem: string; fatal: boolean; ref: string | undefined };

export interface ConnectionEvents<T> {
  message: [T];
  /** A bad line: what is wrong, whether the connection can no longer be used (the owner should close it), and the line's `ref` if it had one. */
  invalid: [string, boolean, string | undefined];
  close: [string];
}

/** One socket, framed and validated; emits 'message', 'invalid' (one line's problem) and 'close' (why, once). */
export class Connection<In, Out extends { type: string }> extends EventEmitter<ConnectionEvents<In>> implements BudgetHolder {
  readonly remote: string;
  /** Set once the peer has authenticated: the input budget cuts such connections last. */
  trusted = false;
  /** Lines read and not yet handled, oldest first (at most MESSAGES_PER_TURN handled per turn). */
  private queue: Queued[] = [];
  private draining = false;
  /** Whether reading is paused because the queue is not yet worked off. */
  private pausedForQueue = false;
  private firstLine = true;
  private readonly framer: LineFramer;
  private lastHeard = Date.now();
  private lastSent = Date.now();
  private tickMs = 0;
  private closed = false;
  private closing = false;
  private closeReason = '';
  /** Messages parsed while delivery is held (between a handshake and its owner attaching handlers). */
  private held: In[] | undefined;
  private heardAny = false;
  /** A message whose line announced a payload, waiting for its bytes. */
  private awaiting: (Record<string, unknown> & { type: string }) | undefined;

  constructor(
    readonly socket: Socket,
    private readonly validate: Validator<In>,
    private options: ConnectionOptions,
  ) {
    super();
    this.remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown';
    this.framer = new LineFramer(options.maxLineBytes ?? MAX_LINE_BYTES);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.finish(err.code ? `${err.code}: ${err.message}` : err.message));
    socket.on('close', () => this.finish(this.closeReason || 'connection closed by peer'));
    socket.on('end', () => {
      if (!this.closeReason) this.closeReason = 'connection closed by peer';
      socket.end();
    });
    this.setHeartbeat(options.heartbeatMs);
  }

  /** Bytes written but not yet taken by the peer. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  get isOpen(): boolean {
    return !this.closed && !this.closing && !this.socket.destroyed && !this.socket.writableEnded;
  }

  /** Queues incoming messages instead of emitting them, until release(). */
  hold(): void {
    this.held ??= [];
  }

  /** Emits the messages queued since hold(), in order, then resumes normal delivery. */
  release(): void {
    const queued = this.held;
    this.held = undefined;
    for (const m of queued ?? []) {
      if (this.closing || this.closed) return;
      this.emit('message', m);
    }
  }

  /** Sets our own ping interval; each side pings on its own schedule and declares the peer dead after three of its own intervals. */
  setHeartbeat(ms: number): void {
    this.options = { ...this.options, heartbeatMs: ms };
    this.stopTimer();
    if (ms > 0 && !this.closed) {
      this.tickMs = Math.max(50, Math.min(1000, Math.floor(ms / 4)));
      beats.add(this.tickMs, this);
    }
  }

  /**
   * Writes one message; returns false when the socket's buffer is full (wait for 'drain' before writing more). A
   * payload message's `data` (a Buffer) goes raw after its line, announced by `bytes`.
   */
  send(message: Out): boolean {
    const data = (message as { data?: unknown }).data;
    if (PAYLOAD_TYPES.has(message.type) && data instanceof Uint8Array) {
      if (data.length === 0) return true; // nothing to carry, and `bytes: 0` would be a framing error to the peer
      if (!this.writable()) return false;
      // One write of both (cork): the line and its bytes are never apart in the stream.
      this.socket.cork();
      this.socket.write(JSON.stringify({ ...message, data: undefined, bytes: data.length }) + '\n');
      const ok = this.socket.write(data);
      this.socket.uncork();
      return ok;
    }
    return this.sendLine(JSON.stringify(message) + '\n');
  }

  /** Writes a message already encoded as one JSON line (with its newline): one encoding for many peers. */
  sendLine(line: string): boolean {
    if (!this.writable()) return false;
    return this.socket.write(line);
  }

  /** Whether a message may be written now; cuts off a peer that left too much unread. */
  private writable(): boolean {
    if (!this.isOpen) return false;
    if (this.socket.writableLength > MAX_UNREAD_BYTES) {
      this.destroy(`peer left more than ${MAX_UNREAD_BYTES} bytes unread`);
      return false;
    }
    this.lastSent = Date.now();
    return true;
  }

  /** Sends an error line and closes politely; destroys after a bounded wait. */
  close(reason: string, errorLine?: Out): void {
    if (this.closed || this.closing) return;
    this.closeReason = reason;
    if (errorLine) this.send(errorLine);
    this.closing = true;
    this.held = undefined;
    this.framer.drop();
    this.options.budget?.update(this, 0);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.stopTimer();
  }

  /** Drops the connection at once. */
  destroy(reason: string): void {
    if (!this.closeReason) this.closeReason = reason;
    this.socket.destroy();
    this.finish(reason);
  }

  private onData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    // A TLS ClientHello (record type 22, version 3.x) on a plain connection: say so, not "not valid UTF-8".
    if (!this.heardAny && chunk.length >= 2 && chunk[0] === 0x16 && chunk[1] === 0x03) {
      this.heardAny = true;
      this.socket.pause();
      this.emit('invalid', PLAIN_PEER_SPOKE_TLS, true, undefined);
      return;
    }
    this.heardAny = true;
    this.framer.feed(chunk, (ev) => {
      if (this.closed || this.closing) return false;
      if (ev.kind === 'overflow') {
        this.socket.pause();
        this.queue.push({ problem: `line longer than ${this.options.maxLineBytes ?? MAX_LINE_BYTES} bytes`, fatal: true, ref: undefined });
        return false;
      }
      if (ev.kind === 'payload') {
        // A payload that came in several pieces is several messages, each with its piece: the same bytes in the
        // same order, and none of them copied to join them.
        const { bytes: _bytes, ...header } = this.awaiting!;
        if (!ev.more) this.awaiting = undefined;
        this.queue.push({ value: { ...header, type: header.type, data: ev.data } });
        return;
      }
      if (this.firstLine) {
        this.firstLine = false;
        // Before the hello nothing else is parsed at all: a line that cannot be one costs a byte search, not JSON.parse.
        if (this.options.helloFirst && ev.line.indexOf('"hello"') < 0) {
          this.socket.pause();
          this.queue.push({ problem: 'expected a hello message first', fatal: true, ref: undefined });
          return false;
        }
      }
      const decoded = decodeLine(ev.line, this.options.speaker ?? 'this side');
      if (!decoded.ok) {
        this.queue.push({ problem: decoded.problem, fatal: decoded.fatal ?? false, ref: decoded.ref });
        return;
      }
      const value = decoded.value;
      if (PAYLOAD_TYPES.has(value.type)) {
        const bytes = value.bytes;
        // Without a right count the rest of the stream cannot be framed: the connection cannot be used.
        if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_PAYLOAD_BYTES) {
          this.queue.push({ problem: `${value.type} message needs "bytes", an integer from 1 to ${MAX_PAYLOAD_BYTES}`, fatal: true, ref: undefined });
          return false;
        }
        this.awaiting = value;
        return bytes;
      }
      this.queue.push({ value });
    });
    this.options.budget?.update(this, this.framer.buffered);
    this.drain();
  }

  /** Handles up to MESSAGES_PER_TURN queued lines; with more left, pauses reading and goes on in the next turn. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      let n = 0;
      while (this.queue.length && n++ < MESSAGES_PER_TURN) {
        if (this.closed || this.closing) {
          this.queue = [];
          return;
        }
        const item = this.queue.shift()!;
        if ('value' in item) this.deliver(check(item.value, this.validate));
        else this.emit('invalid', item.problem, item.fatal, item.ref);
      }
    } finally {
      this.draining = false;
    }
    if (this.queue.length) {
      if (!this.pausedForQueue) {
        this.pausedForQueue = true;
        this.socket.pause();
      }
      setImmediate(() => this.drain());
    } else if (this.pausedForQueue) {
      this.pausedForQueue = false;
      if (!this.closed && !this.closing) this.socket.resume();
    }
  }

  /** Cut for the input budget: what it holds is dropped and the peer is told why (fatal: the owner closes it). */
  shed(why: string): void {
    this.framer.drop();
    this.options.budget?.update(this, 0);
    this.socket.pause();
    this.queue = [];
    this.emit('invalid', why, true, undefined);
  }

  private deliver(parsed: ParseResult<In>): void {
    if (!parsed.ok) {
      this.emit('invalid', parsed.problem, parsed.fatal ?? false, parsed.ref);
      return;
    }
    const msg = parsed.message as { type?: unknown; t?: unknown };
    if (msg.type === 'ping' && !this.options.passPings) {
      this.send({ type: 'pong', t: typeof msg.t === 'number' ? msg.t : undefined } as unknown as Out);
      return;
    }
    if (msg.type === 'pong') return;
    if (this.held) this.held.push(parsed.message);
    else this.emit('message', parsed.message);
  }

  /** Called by the shared heartbeat timer. */
  beat(): void {
    const now = Date.now();
    const ms = this.options.heartbeatMs;
    if (now - this.lastHeard > 3 * ms) {
      this.destroy(`no word from peer for ${Math.round((now - this.lastHeard) / 1000)} s (heartbeat)`);
      return;
    }
    if (now - this.lastSent >= ms) this.send({ type: 'ping', t: now } as unknown as Out);
  }

  private stopTimer(): void {
    if (this.tickMs) beats.remove(this.tickMs, this);
    this.tickMs = 0;
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.framer.drop();
    this.options.budget?.update(this, 0);
    this.stopTimer();
    this.emit('close', reason);
  }
}
