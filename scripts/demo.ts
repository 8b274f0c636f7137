// `npm run demo`: a master and a builder on free loopback ports with the example buildscripts in a temp dir; two suggestions; the results.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLog } from '../lib/common/log.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(dist, '..');
const dir = mkdtempSync(join(tmpdir(), 'simplebb-demo-'));
const children: ChildProcess[] = [];

function start(prog: string, args: string[]): ChildProcess {
  const c = spawn(process.execPath, [join(dist, `${prog}.js`), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  return c;
}

async function until<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function run(args: string[]): Promise<number> {
  console.log(`\n$ simplebb-suggest ${args.join(' ')}`);
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(dist, 'suggest.js'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('exit', (code) => { console.log(`(exit ${code})`); res(code ?? 1); });
  });
}

async function main(): Promise<number> {
  const scripts = join(dir, 'buildscripts');
  cpSync(join(root, 'examples', 'buildscripts'), scripts, { recursive: true });
  const serverLog = join(dir, 'server.log');
  start('masterd', ['--port', '0', '--http', '127.0.0.1:0', '--data', join(dir, 'master'), '--log', serverLog]);
  const port = await until('the master to listen', () => readLog(serverLog).find((l) => l.event === 'listening')?.port as number | undefined);
  console.log(`master listening on 127.0.0.1:${port}, files in ${dir}`);
  const builderLog = join(dir, 'builder.log');
  start('clientd', ['--master', `127.0.0.1:${port}`, '--name', 'demo-builder', '--scripts', scripts, '--work', join(dir, 'work'), '--spool', join(dir, 'spool'), '--log', builderLog,
    // clientd refuses to run builds as root; the demo's builds are the two example scripts in a temp dir.
    ...(process.getuid?.() === 0 ? ['--allow-root'] : [])]);
  await until('the builder to connect', () => (readLog(serverLog).some((l) => l.event === 'connected') ? true : undefined));
  console.log('builder demo-builder connected with scripts: foo, bar');
  const foo = await run(['-p', String(port), 'foo', 'master', '--follow']);
  const bar = await run(['-p', String(port), 'bar', 'dev', '--wait']);
  await until('both reports', () => (readLog(serverLog).filter((l) => l.event === 'report').length >= 2 ? true : undefined));
  console.log('\nserver.log, one JSON line per report:');
  for (const r of readLog(serverLog).filter((l) => l.event === 'report')) {
    const { uname, ...rest } = r;
    console.log(JSON.stringify({ ...rest, uname: `${(uname as { type: string }).type} ${(uname as { release: string }).release}` }));
  }
  const api = readLog(serverLog).find((l) => l.event === 'http-listening')?.url as string;
  console.log(`\n$ simplebb status --url ${api}`);
  const status = await new Promise<number>((res) => {
    const c = spawn(process.execPath, [join(dist, 'simplebb.js'), 'status', '--url', api], { stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('exit', (code) => res(code ?? 1));
  });
  const ok = foo === 0 && bar === 1 && status === 0;
  console.log(ok ? '\ndemo ok: foo succeeded, bar failed as it should' : '\ndemo FAILED: unexpected exit codes');
  console.log(`the board: ${api}/ (the API: ${api}/api/v1/reports, docs/API.md; a badge: ${api}/badge/foo.svg)`);
  if (ok && keep) {
    console.log(`\n--keep: the demo farm keeps running (master 127.0.0.1:${port}, board ${api}/); open it in a browser, or try\n  node dist/simplebb.js history --url ${api}\n  node dist/suggest.js -p ${port} foo master --wait\nCtrl-C stops it.`);
    await new Promise<void>((res) => {
      process.once('SIGINT', () => res());
      process.once('SIGTERM', () => res());
    });
  }
  return ok ? 0 : 1;
}

const keep = process.argv.includes('--keep');

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error((err as Error).message);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
