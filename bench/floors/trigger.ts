// The round-trip floor's trigger, started fresh each time as simplebb-suggest --wait is: sends one branch to the
// bare relay and exits once N answers have come back (exit 1 if any build failed).
// Usage: node trigger.js PORT N
import { connect } from 'node:net';

const [port, n] = process.argv.slice(2).map(Number) as [number, number];
const s = connect(port, '127.0.0.1', () => s.write('main\n'));
s.setNoDelay(true);
let seen = 0;
let failed = false;
let buf = '';
s.on('data', (d: Buffer) => {
  buf += d.toString();
  let i: number;
  while ((i = buf.indexOf('\n')) >= 0) {
    failed ||= !buf.startsWith('0 ');
    buf = buf.slice(i + 1);
    if (++seen === n) process.exit(failed ? 1 : 0);
  }
});
setTimeout(() => process.exit(124), 60_000).unref();
