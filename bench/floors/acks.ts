// The floor for durable throughput: a minimal server that greets, welcomes and acknowledges every report line, storing nothing.
import { createServer } from 'node:net';

const server = createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => undefined);
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    let out = '';
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i)) as { type: string; id?: string };
      buf = buf.slice(i + 1);
      if (m.type === 'hello') out += '{"type":"welcome","protocol":2,"heartbeatMs":10000}\n';
      else if (m.type === 'report') out += JSON.stringify({ type: 'ack', id: m.id }) + '\n';
    }
    if (out) s.write(out);
  });
  s.write('{"type":"greeting","protocol":2,"server":"ackfloor","nonce":"n","store":"00000000000000000000000000000000"}\n');
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send!({ port: typeof a === 'object' && a ? a.port : 0 });
});
process.on('disconnect', () => process.exit(0));
