// The physical floor for fan-out: a minimal Node TCP server that writes one line to every connected socket when triggered.
import { createServer, type Socket } from 'node:net';

const payload = process.argv[2] ?? '{"type":"suggest"}';
const line = Buffer.from(payload + '\n');
const sockets = new Set<Socket>();
let trigger: Socket | undefined;

const server = createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => undefined);
  s.once('data', (d) => {
    // The first connection to say "trigger" is the driver; each "go" line fans the payload out.
    if (d.toString().startsWith('trigger')) {
      trigger = s;
      sockets.delete(s);
      s.on('data', () => { for (const t of sockets) t.write(line); });
    }
  });
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send!({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('disconnect', () => { trigger?.destroy(); process.exit(0); });
