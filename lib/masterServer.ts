// The master daemon: a TCP listener that feeds connections to the relay, and its orderly shutdown.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Relay, type Peer } from './master.js';
import { ToMaster, type FromMaster as FromMasterT, type ToMaster as ToMasterT } from './protocol.js';
import { Store } from './store.js';
import { Connection } from './wire.js';

export interface MasterConfig {
  host: string;
  port: number;
  dataDir: string;
  heartbeatMs: number;
  replayWindowMs: number;
  helloTimeoutMs: number;
}

export interface RunningMaster {
  readonly port: number;
  readonly host: string;
  /** Stops accepting, stores what was received, closes connections politely. Resolves within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Adapts one socket connection to the relay's Peer. */
class SocketPeer implements Peer {
  constructor(readonly conn: Connection<ToMasterT, FromMasterT>) {}
  get remote(): string { return this.conn.remote; }
  send(message: FromMasterT): boolean { return this.conn.send(message); }
  close(reason: string, error?: string): void {
    this.conn.close(reason, error !== undefined ? { type: 'error', message: error } : undefined);
  }
}

export async function startMaster(config: MasterConfig, log: Logger): Promise<RunningMaster> {
  const store = new Store(config.dataDir);
  const relay = new Relay(store, log, config);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const conn = new Connection<ToMasterT, FromMasterT>(socket, ToMaster, { heartbeatMs: config.heartbeatMs, speaker: 'this master' });
    const peer = new SocketPeer(conn);
    conn.on('message', (m) => relay.message(peer, m));
    conn.on('invalid', (problem, fatal, ref) => relay.invalid(peer, problem, fatal, ref));
    conn.on('close', (reason) => relay.closed(peer, reason));
    relay.connected(peer);
  });
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
  log.info({ event: 'listening', host: config.host, port, data: config.dataDir }, 'simplebb-masterd listening');

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
