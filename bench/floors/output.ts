// The output floor: the least Node can do to carry a build's output from its pipe to a master and on to a follower.
// `relay`: listens; a connection that first says "follower" gets every byte the builder connections send.
// `builder PORT SCRIPT`: runs SCRIPT, writes each chunk of its stdout to the relay (pausing the pipe while the
// socket is full, as clientd does), and prints how long the script ran in ms.
// `follower PORT`: reads everything and writes it to its stdout.
// No framing, validation, capture or logging.
import { spawn } from 'node:child_process';
import { connect, createServer, type NetConnectOpts, type Socket } from 'node:net';

const [mode, portArg, script] = process.argv.slice(2);
const port = Number(portArg);

if (mode === 'relay') {
  const followers = new Set<Socket>();
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => undefined);
    s.once('data', (first: Buffer) => {
      if (first.toString().startsWith('follower')) {
        followers.add(s);
        s.on('close', () => followers.delete(s));
        return;
      }
      const forward = (d: Buffer): void => { for (const f of followers) f.write(d); };
      forward(first);
      s.on('data', forward);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.on('message', () => process.send!({ port: typeof a === 'object' && a ? a.port : 0, followers: followers.size }));
    process.send!({ port: typeof a === 'object' && a ? a.port : 0, followers: 0 });
  });
  process.on('disconnect', () => process.exit(0));
} else if (mode === 'follower') {
  const s = connect(port, '127.0.0.1', () => s.write('follower\n'));
  s.on('data', (d: Buffer) => process.stdout.write(d));
  s.on('error', () => process.exit(1));
} else if (mode === 'builder' && script) {
  const s = connect({ port, host: '127.0.0.1', writableHighWaterMark: 1024 * 1024 } as NetConnectOpts, () => {
    const t0 = performance.now();
    const child = spawn(script, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!s.write(chunk)) {
        child.stdout.pause();
        s.once('drain', () => child.stdout.resume());
      }
    });
    child.stderr.resume();
    child.on('close', () => {
      const ms = performance.now() - t0;
      s.end(() => { process.stdout.write(`${ms}\n`); process.exit(0); });
    });
  });
  s.on('error', (err) => { process.stderr.write(`output floor: ${err.message}\n`); process.exit(1); });
} else {
  process.stderr.write('usage: output.js relay | builder PORT SCRIPT | follower PORT\n');
  process.exit(2);
}
