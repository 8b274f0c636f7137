// The round-trip floor's relay: the least a Node master can do. A builder connects and says "builder"; a trigger
// connects and sends one line, which goes to every builder; each builder's answer goes back to the trigger.
// No authentication, storage, validation or logging.
import { createServer, type Socket } from 'node:net';

const builders = new Set<Socket>();
let trigger: Socket | undefined;

const server = createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => undefined);
  s.once('data', (first: Buffer) => {
    if (first.toString().startsWith('builder')) {
      builders.add(s);
      s.on('data', (d: Buffer) => trigger?.write(d));
      s.on('close', () => builders.delete(s));
      return;
    }
    trigger = s;
    for (const b of builders) b.write(first);
  });
});
// The relay tells the bench its port over IPC once listening, then answers each message with the builders connected.
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  process.on('message', () => process.send!({ port, builders: builders.size }));
  process.send!({ port, builders: 0 });
});
process.on('disconnect', () => process.exit(0));
