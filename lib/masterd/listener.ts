// The master's TCP (or TLS) listener: accepts connections within the per-address limit and hands each to the relay as a Peer.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { EventBus } from '../master/events.js';
import { NoticeLimit } from '../master/noticeLimit.js';
import type { Peer } from '../master/peer.js';
import type { Relay } from '../master/relay.js';
import { validateToMaster, type FromMaster, type ToMaster } from '../protocol/messages.js';
import { Connection } from '../wire/connection.js';
import { InputBudget } from '../wire/inputBudget.js';

export interface ListenerConfig {
  host: string;
  port: number;
  heartbeatMs: number;
  helloTimeoutMs: number;
  /** Connections one IP address may hold at once. */
  maxConnsPerAddress: number;
  /** Bytes of unfinished lines all connections may hold together; beyond it the oldest holders are cut, unauthenticated ones first. */
  maxInputBytes?: number;
  /** Serve TLS with this certificate and key (PEM) instead of plain TCP. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface Listening {
  readonly port: number;
  /** Stops accepting and ends every connection politely; resolves when all are closed or `timeoutMs` has passed (then they are destroyed). */
  close(timeoutMs: number): Promise<void>;
}

/** Adapts one socket connection to the relay's Peer. */
class SocketPeer implements Peer {
  readonly address: string;
  constructor(readonly conn: Connection<ToMaster, FromMaster>) {
    this.address = conn.socket.remoteAddress ?? 'unknown';
  }
  get remote(): string { return this.conn.remote; }
  get backlog(): number { return this.conn.backlog; }
  trust(): void { this.conn.trusted = true; }
  pause(): void { this.conn.socket.pause(); }
  resume(): void { this.conn.socket.resume(); }
  cork(): void { this.conn.socket.cork(); }
  uncork(): void { this.conn.socket.uncork(); }
  send(message: FromMaster): boolean { return this.conn.send(message); }
  sendLine(line: string): boolean { return this.conn.sendLine(line); }
  close(reason: string, error?: string, code?: string): void {
    this.conn.close(reason, error !== undefined ? { type: 'error', message: error, ...(code ? { code } : {}) } : undefined);
  }
}

/** Connections in their TLS handshake at once, from all addresses: beyond it a new one is closed at once. */
const MAX_HANDSHAKING = 1024;
/** The longest a TLS handshake may take (at most the hello timeout): a loopback one takes ~2 ms, across the world ~0.5 s. */
const HANDSHAKE_TIMEOUT_MS = 3000;
/** The default of maxInputBytes. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

export async function listen(config: ListenerConfig, relay: Relay, events: EventBus): Promise<Listening> {
  const sockets = new Set<Socket>();
  // Refusals are logged at a limited rate per address: a flood of connections must not become a flood of log lines.
  const notices = new NoticeLimit(events);
  const budget = new InputBudget(config.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
  const perAddress = new Map<string, number>();
  let handshaking = 0;
  /** The raw TCP sockets whose TLS handshake is not done yet. */
  const inHandshake = new WeakSet<Socket>();
  let drained: (() => void) | undefined;
  /**
   * Counts a TCP connection against its address's limit when it is accepted (for TLS: before the handshake, so a
   * flood of handshakes cannot get around it); false, after `refuse`, when the address is over its limit.
   */
  const admit = (socket: Socket, refuse: (address: string) => void): boolean => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (perAddress.get(address) ?? 0) + 1;
    if (count > config.maxConnsPerAddress) {
      notices.warn(address, 'too-many-connections', 'connection refused: per-address limit', { address, limit: config.maxConnsPerAddress });
      socket.on('error', () => undefined);
      refuse(address);
      return false;
    }
    perAddress.set(address, count);
    socket.once('close', () => {
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    return true;
  };
  const accept = (socket: Socket): void => {
    // A TLS socket's handshake is done: its TCP socket (Node's _parent) no longer counts as handshaking.
    const raw = (socket as Socket & { _parent?: Socket })._parent;
    if (raw && inHandshake.delete(raw)) handshaking--;
    if (!config.tls && !admit(socket, (address) => {
      socket.end(JSON.stringify({ type: 'error', message: `too many connections from ${address} (limit ${config.maxConnsPerAddress})` }) + '\n');
      setTimeout(() => socket.destroy(), 1000).unref();
    })) return;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) drained?.();
    });
    const conn = new Connection<ToMaster, FromMaster>(socket, validateToMaster, { heartbeatMs: config.heartbeatMs, speaker: 'this master', passPings: true, budget, helloFirst: true });
    const peer = new SocketPeer(conn);
    conn.on('message', (m) => relay.message(peer, m));
    conn.on('invalid', (problem, fatal, ref) => relay.invalid(peer, problem, fatal, ref));
    conn.on('close', (reason) => relay.closed(peer, reason));
    relay.connected(peer);
  };
  let server: Server;
  const handshakeMs = Math.min(config.helloTimeoutMs, HANDSHAKE_TIMEOUT_MS);
  if (config.tls) {
    const tlsServer = createTlsServer({ cert: config.tls.cert, key: config.tls.key, handshakeTimeout: handshakeMs, minVersion: 'TLSv1.2' }, accept);
    tlsServer.on('tlsClientError', (err, socket) => {
      // The two usual causes in words: a plain client (it waits for a greeting, so the handshake never starts) or
      // a plain line where the handshake should be.
      const error = /timeout/i.test(err.message) ? `no TLS handshake within ${handshakeMs / 1000} s: the client may not use TLS (give it --tls or --tls-ca)`
        : /disconnected before secure TLS/i.test(err.message) ? 'the client closed the connection without a TLS handshake: it may not use TLS (give it --tls or --tls-ca)'
        : /wrong version|http request|unknown protocol|packet length/i.test(err.message) ? 'the client does not speak TLS (it sent plain text): give it --tls or --tls-ca'
          : err.message;
      notices.warn(socket.remoteAddress ?? 'unknown', 'tls-error', 'TLS handshake failed', { address: socket.remoteAddress ?? 'unknown', error });
      // Node leaves the socket open after a failed or timed-out handshake; it must not hold a connection slot.
      socket.destroy();
    });
    // Counted at TCP accept, before the handshake: per address, and all handshakes together.
    tlsServer.on('connection', (raw: Socket) => {
      if (handshaking >= MAX_HANDSHAKING) {
        notices.warn('handshakes', 'too-many-handshakes', 'connection refused: too many TLS handshakes at once', { address: raw.remoteAddress ?? 'unknown', limit: MAX_HANDSHAKING });
        raw.on('error', () => undefined);
        raw.destroy();
        return;
      }
      if (!admit(raw, () => raw.destroy())) return;
      inHandshake.add(raw);
      handshaking++;
      raw.once('close', () => { if (inHandshake.delete(raw)) handshaking--; });
    });
    server = tlsServer;
  } else {
    server = createTcpServer(accept);
  }
  server.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => events.notice('error', 'server-error', 'server error', { error: err.message }));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  return {
    port,
    close: (timeoutMs) => new Promise<void>((resolve) => {
      server.close();
      if (sockets.size === 0) return resolve();
      const hard = setTimeout(() => {
        for (const s of sockets) s.destroy();
        resolve();
      }, timeoutMs);
      hard.unref();
      drained = () => {
        clearTimeout(hard);
        resolve();
      };
      for (const s of sockets) s.end();
    }),
  };
}
