// Putting a fastify app on an address, as the master's HTTP listeners do: the wire's per-address connection cap
// counted at accept, the listen, and the URL that the log line announces.
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Listens on host:port with at most `maxConnsPerAddress` connections from one address; resolves to the URL and port. */
export async function serveApp(app: FastifyInstance, host: string, port: number, maxConnsPerAddress: number, tls: boolean): Promise<{ url: string; port: number }> {
  const perAddress = new Map<string, number>();
  app.server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const n = (perAddress.get(address) ?? 0) + 1;
    if (n > maxConnsPerAddress) return void socket.destroy();
    perAddress.set(address, n);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  await app.listen({ host, port, backlog: 1024 });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`, port: bound };
}
