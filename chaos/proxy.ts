// A TCP proxy between one builder and the master that the chaos schedule can cut (sever) or silence (blackhole).
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A proxied connection; a dead one (caught in a blackhole) never carries another byte, as a real TCP connection would not. */
interface Pair { client: Socket; upstream?: Socket; dead: boolean }

/** Forwards 127.0.0.1:port to the master's port, byte for byte, until told to cut or blackhole the link. */
export class LinkProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private holeUntil = 0;
  port = 0;

  constructor(private readonly masterPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  private get blackholed(): boolean {
    return Date.now() < this.holeUntil;
  }

  /** Drops every connection at once (both ends see a reset). */
  sever(): void {
    for (const p of this.pairs) this.drop(p);
  }

  /**
   * For `ms`, nothing passes either way and no close is passed on: both ends see silence, as on a dead network.
   * When it ends, the connections it held are dropped (the network is back; the old connections are gone).
   */
  blackhole(ms: number): void {
    this.holeUntil = Date.now() + ms;
    for (const p of this.pairs) p.dead = true;
    setTimeout(() => {
      for (const p of this.pairs) if (p.dead) this.drop(p);
    }, ms).unref();
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise((r) => this.server?.close(r));
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, dead: this.blackholed };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      if (!pair.dead) this.drop(pair);
    });
    // Connections made during a blackhole hang, unanswered, until it ends.
    if (pair.dead) return;
    const upstream = connect({ host: '127.0.0.1', port: this.masterPort });
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      if (!pair.dead) this.drop(pair);
    });
    client.on('data', (d: Buffer) => {
      if (!pair.dead) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!pair.dead) client.write(d);
    });
  }

  private drop(p: Pair): void {
    this.pairs.delete(p);
    p.client.destroy();
    p.upstream?.destroy();
  }
}
