// The master daemon: a TCP (or TLS) listener that feeds connections to the relay, per-address limits, and orderly shutdown.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { Relay, type Peer, type RelayOptions } from '../master/relay.js';
import { validateToMaster, type FromMaster as FromMasterT, type ToMaster as ToMasterT } from '../protocol/messages.js';
import { Store } from '../store/sqlite.js';
import { Connection } from '../wire/connection.js';

export interface MasterConfig extends RelayOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Connections one IP address may hold at once. */
  maxConnsPerAddress: number;
  /** Serve TLS with this certificate and key (PEM) instead of plain TCP. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface RunningMaster {
  readonly port: number;
  readonly host: string;
  /** Stops accepting, stores what was received, closes connections politely. Resolves within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Adapts one socket connection to the relay's Peer. */
class SocketPeer implements Peer {
  readonly address: string;
  constructor(readonly conn: Connection<ToMasterT, FromMasterT>) {
    this.address = conn.socket.remoteAddress ?? 'unknown';
  }
  get remote(): string { return this.conn.remote; }
  get backlog(): number { return this.conn.backlog; }
  cork(): void { this.conn.socket.cork(); }
  uncork(): void { this.conn.socket.uncork(); }
  send(message: FromMasterT): boolean { return this.conn.send(message); }
  sendLine(line: string): boolean { return this.conn.sendLine(line); }
  close(reason: string, error?: string): void {
    this.conn.close(reason, error !== undefined ? { type: 'error', message: error } : undefined);
  }
}

export async function startMaster(config: MasterConfig, log: Logger): Promise<RunningMaster> {
  // SIMPLEBB_BENCH_SYNC is for the durable-throughput benchmark only: it weakens the promise that an acked report is on disk.
  const sync = process.env.SIMPLEBB_BENCH_SYNC;
  const store = new Store(config.dataDir, sync === 'NORMAL' || sync === 'OFF' ? sync : 'FULL');
  if (sync === 'NORMAL' || sync === 'OFF') log.warn({ event: 'bench-sync', synchronous: sync }, `SIMPLEBB_BENCH_SYNC=${sync}: acknowledged reports may be lost on a crash`);
  const relay = new Relay(store, log, config);
  const sockets = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const accept = (socket: Socket): void => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (perAddress.get(address) ?? 0) + 1;
    if (count > config.maxConnsPerAddress) {
      log.warn({ event: 'too-many-connections', address, limit: config.maxConnsPerAddress }, 'connection refused: per-address limit');
      socket.on('error', () => undefined);
      socket.end(JSON.stringify({ type: 'error', message: `too many connections from ${address} (limit ${config.maxConnsPerAddress})` }) + '\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    perAddress.set(address, count);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    const conn = new Connection<ToMasterT, FromMasterT>(socket, validateToMaster, { heartbeatMs: config.heartbeatMs, speaker: 'this master' });
    const peer = new SocketPeer(conn);
    conn.on('message', (m) => relay.message(peer, m));
    conn.on('invalid', (problem, fatal, ref) => relay.invalid(peer, problem, fatal, ref));
    conn.on('close', (reason) => relay.closed(peer, reason));
    relay.connected(peer);
  };
  let server: Server;
  if (config.tls) {
    const tlsServer = createTlsServer({ cert: config.tls.cert, key: config.tls.key, handshakeTimeout: config.helloTimeoutMs, minVersion: 'TLSv1.2' }, accept);
    tlsServer.on('tlsClientError', (err, socket) => {
      log.warn({ event: 'tls-error', address: socket.remoteAddress, error: err.message }, 'TLS handshake failed');
      // Node leaves the socket open after a failed or timed-out handshake; it must not hold a connection slot.
      socket.destroy();
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
  server.on('error', (err) => log.error({ event: 'server-error', error: err.message }, 'server error'));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const seen = setInterval(() => relay.tick(), 10_000);
  seen.unref();
  log.info({
    event: 'listening', host: config.host, port, data: config.dataDir, tls: Boolean(config.tls),
    builderAuth: config.builderToken !== undefined, suggestAuth: config.suggestToken !== undefined,
  }, 'simplebb-masterd listening');

  let stopped: Promise<void> | undefined;
  const stop = (timeoutMs = 4000): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      clearInterval(seen);
      server.close();
      relay.stop();
      for (const s of sockets) s.end();
      const done = (): void => {
        clearTimeout(hard);
        clearInterval(poll);
        relay.flush();
        store.close();
        log.info({ event: 'stopped' }, 'simplebb-masterd stopped');
        resolve();
      };
      const hard = setTimeout(() => {
        for (const s of sockets) s.destroy();
        done();
      }, timeoutMs);
      const poll = setInterval(() => {
        if (sockets.size === 0) done();
      }, 20);
      hard.unref();
    });
    return stopped;
  };
  return { port, host: config.host, stop };
}
