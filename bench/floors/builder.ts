// The round-trip floor's builder: connects to the bare relay, runs SCRIPT with the branch of every line it is sent
// (output collected, as a builder reports it) and answers one line with the exit code and the output's size.
// Usage: node builder.js PORT SCRIPT
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

const [port, script] = process.argv.slice(2) as [string, string];
const s = connect(Number(port), '127.0.0.1', () => s.write('builder\n'));
s.setNoDelay(true);
let buf = '';
s.on('data', (d: Buffer) => {
  buf += d.toString();
  let i: number;
  while ((i = buf.indexOf('\n')) >= 0) {
    const branch = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const c = spawn(script, [branch], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    c.stdout.on('data', (o: Buffer) => { bytes += o.length; });
    c.stderr.on('data', (o: Buffer) => { bytes += o.length; });
    c.on('close', (code) => s.write(`${code} ${bytes}\n`));
  }
});
s.on('close', () => process.exit(0));
