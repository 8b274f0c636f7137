// `node dist/scripts/transcript.js`: records the wire between the real programs through a logging proxy, for docs/PROTOCOL.md §9.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLog } from '../lib/common/log.js';
import { builderToken, proof } from '../lib/protocol/auth.js';
import { MAX_LINE_BYTES } from '../lib/protocol/limits.js';
import { LineFramer } from '../lib/wire/framing.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'simplebb-transcript-'));
const BUILDER_TOKEN = 'builder-token-for-the-transcript-0123';
const SUGGEST_TOKEN = 'suggest-token-for-the-transcript-4567';
/** Builder b1's own token, derived from the builder secret as `simplebb-masterd token builder b1` prints it. */
const B1_TOKEN = builderToken(BUILDER_TOKEN, 'b1');
const t0 = Date.now();
const lines: string[] = [];
const children: ChildProcess[] = [];
let conns = 0;
let masterPort = 0;

function say(text: string): void {
  lines.push(text);
}

/** A proxy that records every line each way, per connection; `role` names the client side (B or S). */
async function tap(role: 'B' | 'S'): Promise<number> {
  const server = createServer((client: Socket) => {
    const c = `c${++conns}`;
    const up = connect({ host: '127.0.0.1', port: masterPort });
    // Lines as they are; the raw bytes after an output line (PROTOCOL.md §1.1a) shown as a JSON string, marked "+ N raw bytes".
    const record = (dir: string) => {
      const framer = new LineFramer(MAX_LINE_BYTES);
      const at = (): string => `${c.padEnd(4)} ${String(Date.now() - t0).padStart(6)} ${dir}`;
      return (d: Buffer): void => framer.feed(d, (e) => {
        if (e.kind === 'payload') return void say(`${at()}  + ${e.data.length} raw bytes: ${JSON.stringify(e.data.toString())}`);
        if (e.kind !== 'line') return;
        const line = e.line.toString();
        say(`${at()}  ${line}`);
        const m = JSON.parse(line) as { type?: string; bytes?: number };
        return m.type === 'output' ? m.bytes : 0;
      });
    };
    const fromClient = record(`${role}→M`);
    const fromMaster = record(`M→${role}`);
    client.on('data', (d: Buffer) => { fromClient(d); up.write(d); });
    up.on('data', (d: Buffer) => { fromMaster(d); client.write(d); });
    client.on('end', () => { say(`${c.padEnd(4)} ${String(Date.now() - t0).padStart(6)} ${role}→M  (end of stream)`); up.end(); });
    up.on('end', () => { say(`${c.padEnd(4)} ${String(Date.now() - t0).padStart(6)} M→${role}  (end of stream)`); client.end(); });
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return (server.address() as { port: number }).port;
}

function run(prog: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const c = spawn(process.execPath, [join(DIST, `${prog}.js`), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return c;
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`transcript: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw suggester that sends bad lines one at a time and records each answer (`->` sent, `<-` received). */
async function rawErrors(port: number): Promise<void> {
  const sock = connect({ host: '127.0.0.1', port });
  let buf = '';
  let closed = false;
  const got: string[] = [];
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      got.push(buf.slice(0, i));
      say(`<- ${buf.slice(0, i)}`);
      buf = buf.slice(i + 1);
    }
  });
  sock.on('close', () => { closed = true; say('<- (end of stream)'); });
  const answered = async (n: number): Promise<void> => { await until('an answer', () => got.length >= n || closed); };
  await answered(1);
  const nonce = (JSON.parse(got[0]!) as { nonce: string }).nonce;
  const send = async (line: string, shown = line, answers = 1): Promise<void> => {
    const before = got.length;
    say(`-> ${shown}`);
    sock.write(line + '\n');
    if (answers) await answered(before + answers);
    else await sleep(100);
  };
  await send(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester', auth: proof(SUGGEST_TOKEN, nonce, 'suggester') }));
  await send('not json');
  await send('[1,2]');
  await send('{"x":1,"ref":"r1"}');
  await send('{"type":"frob"}');
  await send('{"type":"suggest","ref":"7","project":"../x","branch":"main"}');
  await send('{"type":"suggest","ref":"8","project":"foo","branch":"main","revision":"xyz"}');
  await send('{"type":"received","seq":3}');
  await send('{"type":"hello","protocol":2,"role":"suggester"}');
  await send('{"type":"ping","t":5}');
  await send('{"type":"hello","protocol":1,"role":"suggester"}', undefined, 2);
  sock.destroy();
}
const tokens = { SIMPLEBB_BUILDER_TOKEN: BUILDER_TOKEN, SIMPLEBB_SUGGEST_TOKEN: SUGGEST_TOKEN };
const masterLog = join(dir, 'server.log');
let master: ChildProcess | undefined;
let listening = 0;

async function startMaster(port: number): Promise<void> {
  master = run('masterd', ['--port', String(port), '--http', 'off', '--data', join(dir, 'data'), '--log', masterLog], tokens);
  const want = ++listening;
  masterPort = await until('the master', () => readLog(masterLog).filter((l) => l.event === 'listening')[want - 1]?.port as number | undefined);
}

async function suggest(port: number, args: string[]): Promise<string> {
  const c = run('suggest', ['-p', String(port), ...args], { SIMPLEBB_SUGGEST_TOKEN: SUGGEST_TOKEN });
  let out = '';
  c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((r) => c.on('exit', r));
  return `${out}(exit ${code})\n`;
}

function builderArgs(name: string, port: number, extra: string[] = []): string[] {
  return ['--master', `127.0.0.1:${port}`, '--name', name, '--scripts', join(dir, `scripts-${name}`), '--work', join(dir, `work-${name}`),
    '--state', join(dir, `state-${name}`), '--log', join(dir, `${name}.log`), '--reconnect-base', '1', '--reconnect-max', '2',
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []), ...extra];
}

function scripts(name: string, files: Record<string, string>): void {
  mkdirSync(join(dir, `scripts-${name}`), { recursive: true });
  for (const [f, body] of Object.entries(files)) {
    writeFileSync(join(dir, `scripts-${name}`, f), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, `scripts-${name}`, f), 0o755);
  }
}

try {
  await startMaster(0);
  const port = masterPort;
  const bTap = await tap('B');
  const sTap = await tap('S');
  const gate = join(dir, 'gate');
  const gate2 = join(dir, 'gate2');
  scripts('b1', {
    foo: 'echo "It works"', slow: `echo "building $1"\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho done`,
    slower: `echo "building $1"\nwhile [ ! -e ${gate2} ]; do sleep 0.05; done`,
  });

  say('### A session');
  let b1 = run('clientd', builderArgs('b1', bTap), { SIMPLEBB_BUILDER_TOKEN: B1_TOKEN });
  await until('b1', () => readLog(masterLog).some((l) => l.event === 'connected'));
  say(await suggest(sTap, ['foo', 'main', '--revision', '0123abcd4567ef89', '--follow']));

  say('### The master is killed during a build and restarted; a suggestion is made before b1 is back');
  const s = suggest(sTap, ['slow', 'main']);
  await until('slow started', () => readLog(join(dir, 'b1.log')).some((l) => l.event === 'started' && l.project === 'slow'));
  say(await s);
  master!.kill('SIGKILL');
  await new Promise((r) => master!.once('exit', r));
  writeFileSync(gate, '');
  await until('slow finished', () => readLog(join(dir, 'b1.log')).some((l) => l.event === 'finished' && l.project === 'slow'));
  await startMaster(port);
  say(await suggest(sTap, ['foo', 'dev']));
  await until('b1 back', () => readLog(masterLog).filter((l) => l.event === 'connected').length >= 2);
  await until('both reports', () => readLog(masterLog).filter((l) => l.event === 'report').length >= 3);
  await sleep(300);

  say('### A second clientd under the name b1, with its own state dir');
  scripts('b1-twin', { foo: 'true' });
  const twin = run('clientd', [...builderArgs('b1', bTap), '--scripts', join(dir, 'scripts-b1-twin'), '--state', join(dir, 'state-twin'), '--log', join(dir, 'twin.log')], { SIMPLEBB_BUILDER_TOKEN: B1_TOKEN });
  await until('the twin refused', () => readLog(join(dir, 'twin.log')).some((l) => String(l.reason ?? '').includes('in use')));
  twin.kill('SIGTERM');
  await sleep(200);

  say('### b1\'s clientd is killed during a build; the next one reports it lost');
  const waiting = suggest(sTap, ['slower', 'main', '--wait']);
  await until('slower started', () => readLog(join(dir, 'b1.log')).some((l) => l.event === 'started' && l.project === 'slower'));
  b1.kill('SIGKILL');
  await new Promise((r) => b1.once('exit', r));
  await sleep(500);
  b1 = run('clientd', builderArgs('b1', bTap), { SIMPLEBB_BUILDER_TOKEN: B1_TOKEN });
  say(await waiting);

  say('### Errors, from a raw client');
  await rawErrors(port);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`tokens: builder secret ${BUILDER_TOKEN} (b1's own token ${B1_TOKEN}), suggest ${SUGGEST_TOKEN}\n\n${lines.join('\n')}\n`);
process.exit(0);
