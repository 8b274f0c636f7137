// Scenario 7: abuse. The legitimate round trip (a fresh `simplebb-suggest --wait` through a real master to one real
// clientd running a trivial script, with both tokens on) idle and while each of five floods runs against the master
// (bench/attacker.ts, a process of its own), each phase on a fresh master and builder; the figures are ratios against
// the idle rows of the same run, nothing is asserted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builderToken as ownToken } from '../lib/protocol/auth.js';
import type { AttackCmd, AttackStats, Flood } from './attacker.js';
import { ask } from './ipc.js';
import { DIST, fmt, nodeScript, percentile, readLog, rss, sleep, startMaster, stop, table, tempDir, until, ROOT_OK, type BenchMaster } from './common.js';

/** masterd's default --max-conns-per-address, given explicitly: startMaster lifts it for the other scenarios. */
const CAP = 256;
const KiB = 1024;
const MiB = 1024 * 1024;

/** One master with both tokens (and TLS, for flood 2), one clientd, and the legitimate suggester's command line. */
interface Farm { master: BenchMaster; builder: ChildProcess; dir: string; suggestToken: string; legit: string[] }

/** How long and how often: a phase makes `rounds` round trips, one every `everyMs`, for at most `maxMs`. */
interface Pace { rounds: number; everyMs: number; maxMs: number; rampMs: number; waitS: number; killMs: number }

interface Round { ms: number; ok: boolean; why?: string }

interface Phase {
  name: string;
  tls: boolean;
  rounds: Round[];
  after?: Round;
  masterExit?: string;
  peakRssBytes: number;
  /** The master's open files before the flood, and at most during it. */
  baseFds: number;
  peakFds: number;
  floodMs: number;
  logBytes: number;
  dataBytes: number;
  attack?: AttackStats;
}

/** The soft limit on open files this process (and so every process it starts) has. */
function fdLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return /^\d+$/.test(out) ? Number(out) : Infinity;
}

function memAvailable(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 4 * 1024 * MiB;
}

function bytesUnder(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? bytesUnder(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  } catch {
    // gone or unreadable: counts as nothing
  }
  return n;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'master.crt');
  const key = join(dir, 'master.key');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`bench: openssl could not make a certificate: ${(r.stderr ?? r.error?.message ?? '').trim()}`);
  chmodSync(key, 0o600);
  return { cert, key };
}

async function startFarm(tls: boolean, pace: Pace): Promise<Farm> {
  const dir = tempDir('simplebb-abuse-');
  const builderSecret = join(dir, 'builder.secret');
  const builderToken = join(dir, 'builder.token');
  const suggestTokenFile = join(dir, 'suggest.token');
  const suggestToken = randomBytes(16).toString('hex');
  const secret = randomBytes(16).toString('hex');
  writeFileSync(builderSecret, secret + '\n', { mode: 0o600 });
  writeFileSync(builderToken, ownToken(secret, 'abuse') + '\n', { mode: 0o600 }); // as `simplebb-masterd token builder abuse` prints it
  writeFileSync(suggestTokenFile, suggestToken + '\n', { mode: 0o600 });
  const pem = tls ? selfSigned(dir) : undefined;
  // The defaults of the limits, spelled out after the ones startMaster lifts (the last one given wins).
  const master = await startMaster(['--builder-token-file', builderSecret, '--suggest-token-file', suggestTokenFile,
    '--max-conns-per-address', String(CAP), '--suggest-rate', '20', '--suggest-burst', '1000',
    ...(pem ? ['--tls-cert', pem.cert, '--tls-key', pem.key] : [])], {}, dir);
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  writeFileSync(join(scripts, 'foo'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(scripts, 'foo'), 0o755);
  const ca = pem ? ['--tls-ca', pem.cert] : [];
  // --ignore-unknown: suggestions for projects it has no script for (floods 4 and 5) are not sent to it at all.
  const builder = nodeScript(join(DIST, 'clientd.js'), ['--master', `127.0.0.1:${master.port}`, '--name', 'abuse', '--scripts', scripts,
    '--work', join(dir, 'work'), '--state', join(dir, 'state'), '--log', join(dir, 'builder.log'), '--token-file', builderToken,
    '--ignore-unknown', ...ca, ...ROOT_OK]);
  await until('the builder to connect', () => readLog(master.log).some((l) => l.event === 'connected'), 30_000, 50);
  const legit = [join(DIST, 'suggest.js'), '-H', '127.0.0.1', '-p', String(master.port), '--token-file', suggestTokenFile, ...ca,
    '--wait', '--timeout', String(pace.waitS), '--connect-timeout', '5', 'foo', 'main'];
  return { master, builder, dir, suggestToken, legit };
}

/** One legitimate round trip: a fresh suggester until the builder's verdict; killed (by its PID) if it outlives `killMs`. */
function round(args: string[], killMs: number): Promise<Round> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-400); });
    const timer = setTimeout(() => c.kill('SIGKILL'), killMs);
    c.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, ok: false, why: e.message });
    });
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const last = err.trim().split('\n').at(-1) ?? '';
      resolve(code === 0 ? { ms, ok: true } : { ms, ok: false, why: signal ? `killed after ${killMs} ms` : `exit ${code}: ${last}` });
    });
  });
}

/** Samples a process's resident memory and open files every 100 ms, keeping the peaks. */
function watch(pid: number): { base: number; stop: () => { rss: number; fds: number } } {
  let peakRss = 0;
  let peakFds = 0;
  const tick = (): void => {
    try {
      const r = rss(pid);
      if (Number.isFinite(r)) peakRss = Math.max(peakRss, r);
      peakFds = Math.max(peakFds, readdirSync(`/proc/${pid}/fd`).length);
    } catch {
      // the process is gone
    }
  };
  tick();
  const base = peakFds;
  const t = setInterval(tick, 100);
  return { base, stop: () => { clearInterval(t); tick(); return { rss: peakRss, fds: peakFds }; } };
}

async function runPhase(name: string, tls: boolean, flood: ((farm: Farm) => Flood) | undefined, pace: Pace, guardBytes: number): Promise<Phase> {
  const farm = await startFarm(tls, pace);
  const proc = farm.master.proc;
  const pid = proc.pid!;
  let attacker: ChildProcess | undefined;
  try {
    for (let i = 0; i < 2; i++) await round(farm.legit, pace.killMs); // warm-up
    const sampler = watch(pid);
    const log0 = sizeOf(farm.master.log);
    const data0 = bytesUnder(join(farm.dir, 'data'));
    const f0 = performance.now();
    if (flood) {
      attacker = nodeScript(join(DIST, 'bench', 'attacker.js'), [], { ipc: true });
      const start: AttackCmd = { cmd: 'start', flood: flood(farm), maxMs: pace.rampMs + pace.maxMs + 10_000, maxOpens: 200_000, masterPid: pid, rssGuardBytes: guardBytes };
      await ask(attacker, start, 10_000);
      await sleep(pace.rampMs);
    }
    const rounds: Round[] = [];
    const r0 = performance.now();
    for (let i = 0; i < pace.rounds && performance.now() - r0 < pace.maxMs; i++) {
      const due = r0 + i * pace.everyMs;
      if (performance.now() < due) await sleep(due - performance.now());
      rounds.push(await round(farm.legit, pace.killMs));
    }
    // An attacker too busy to answer still ends below, by its PID; the phase then has no attack figures.
    const attack = attacker ? await ask<AttackStats>(attacker, { cmd: 'stop' } satisfies AttackCmd, 15_000).catch(() => undefined) : undefined;
    const floodMs = performance.now() - f0;
    const logBytes = sizeOf(farm.master.log) - log0;
    const dataBytes = bytesUnder(join(farm.dir, 'data')) - data0;
    const alive = proc.exitCode === null && proc.signalCode === null;
    const hwm = alive ? rss(pid, true) : NaN;
    const peak = sampler.stop();
    // Did it come back? One more round trip once the flood is over.
    const after = flood && alive ? await round(farm.legit, pace.killMs) : undefined;
    const masterExit = alive ? undefined : `master exited (${proc.exitCode ?? proc.signalCode})`;
    return { name, tls, rounds, ...(after ? { after } : {}), ...(masterExit ? { masterExit } : {}), peakRssBytes: Number.isFinite(hwm) ? hwm : peak.rss, baseFds: sampler.base, peakFds: peak.fds, floodMs, logBytes, dataBytes, ...(attack ? { attack } : {}) };
  } finally {
    if (attacker) await stop(attacker);
    await stop(farm.builder);
    await stop(proc);
    rmSync(farm.dir, { recursive: true, force: true });
  }
}

const n0 = (x: number): string => fmt(x, 0);
const perS = (x: number, ms: number): string => `${n0(x / (ms / 1000))}/s`;

/** What a flood did, in words, for the notes column. */
function notes(p: Phase): string {
  const a = p.attack;
  const out: string[] = [];
  const logRate = `log ${fmt(p.logBytes / (p.floodMs / 1000) / KiB, 1)} KiB/s`;
  if (!a) out.push(...(p.name.startsWith('idle') ? [] : ['the attacker gave no figures']), logRate);
  else {
    switch (p.name[0]) {
      case '1': out.push(`${n0(a.opened)} conns (${perS(a.opened, a.ms)}), ${n0(a.closedByMaster)} closed by master`); break;
      case '2': out.push(`${n0(a.opened)} opened, ${n0(a.closedByMaster)} closed by master, ≤${n0(a.peakOpen)} open at once at the attacker`); break;
      case '3': out.push(`${n0(a.opened)} opened, ≤${n0(a.peakOpen)} open at once at the attacker, ${fmt(a.bytesSent / MiB, 0)} MiB sent`); break;
      case '4': out.push(`${n0(a.accepted)} accepted (${perS(a.accepted, a.ms)}), ${n0(a.rateLimited)} rate-limited, ${n0(a.opened)} conns, db +${fmt(p.dataBytes / MiB, 1)} MiB`); break;
      case '5': out.push(`${n0(a.refused)} received refused + ${n0(a.rateLimited)} over the rate (${perS(a.refused + a.rateLimited, a.ms)}), ${n0(a.accepted)} accepted`); break;
    }
    // What the master itself holds: its open files beyond those it had before the flood.
    out.push(`master held ≤${n0(p.peakFds - p.baseFds)} sockets`, logRate);
    if (a.stoppedBy && a.stoppedBy !== 'time') out.push(`flood stopped by ${a.stoppedBy}`);
    if (a.otherErrors) out.push(`${n0(a.otherErrors)} other answers`);
  }
  if (p.masterExit) out.push(p.masterExit.toUpperCase());
  else if (p.after) out.push(p.after.ok ? `after: ok ${fmt(p.after.ms, 0)} ms` : `after: FAILED (${p.after.why})`);
  return out.join('; ');
}

export async function abuse(quick: boolean): Promise<unknown> {
  const pace: Pace = quick
    ? { rounds: 10, everyMs: 250, maxMs: 6_000, rampMs: 750, waitS: 5, killMs: 8_000 }
    : { rounds: 40, everyMs: 250, maxMs: 20_000, rampMs: 2_000, waitS: 10, killMs: 15_000 };
  // The attacker's sockets, and the master's, stay well below the open-file limit every process here inherits.
  const room = fdLimit() - 500;
  const hold = Math.min(5000, room);
  const perAddress = Math.min(CAP - 6, room);
  const unfinished = Math.min(2000, room);
  const addresses = Array.from({ length: Math.ceil(unfinished / perAddress) }, (_, i) => `127.0.0.${10 + i}`);
  // A flood stops itself if the master's memory passes this, so the bench cannot take the machine down with it.
  const guardBytes = Math.min(8 * 1024 * MiB, memAvailable() / 2);

  const floods: Array<[string, boolean, ((farm: Farm) => Flood) | undefined]> = [
    ['idle', false, undefined],
    ['idle, TLS master', true, undefined],
    ['1. pre-hello junk', false, (f) => ({ kind: 'junk', port: f.master.port, from: '127.0.0.2', conns: 8, padBytes: 100 * KiB })],
    ['2. TLS handshakes', true, (f) => ({ kind: 'handshakes', port: f.master.port, from: '127.0.0.3', hold })],
    ['3. unfinished input', false, (f) => ({ kind: 'unfinished', port: f.master.port, from: addresses, perAddress, minBytes: 512 * KiB, maxBytes: MiB - KiB })],
    ['4. suggestion flood', false, (f) => ({ kind: 'suggestions', port: f.master.port, from: '127.0.0.4', conns: 8, window: 32, token: f.suggestToken, project: 'noscript' })],
    ['5. refused messages', false, (f) => ({ kind: 'refused', port: f.master.port, from: '127.0.0.5', conns: 4, token: f.suggestToken, project: 'noscript' })],
  ];
  const phases: Phase[] = [];
  for (const [name, tls, flood] of floods) phases.push(await runPhase(name, tls, flood, pace, guardBytes));

  const stat = (p: Phase): { p50: number; p99: number; ok: number } => {
    const ms = p.rounds.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), ok: ms.length };
  };
  const idle = stat(phases[0]!);
  const idleTls = stat(phases[1]!);
  const rows = phases.map((p): Array<string | number> => {
    const s = stat(p);
    const base = p.tls ? idleTls : idle;
    return [p.name, String(p.rounds.length), s.p50, s.p99, s.p50 / base.p50, s.p99 / base.p99, String(p.rounds.length - s.ok), p.peakRssBytes / MiB, notes(p)];
  });
  table(`7. Abuse: a fresh simplebb-suggest --wait through the master to 1 clientd (trivial script, both tokens on), one round every ${pace.everyMs} ms,\n`
    + `   up to ${pace.rounds} rounds or ${pace.maxMs / 1000} s, idle and while each flood runs (each phase on a fresh master; flood 2 against the TLS master,\n`
    + `   compared with its idle row); p50/p99 over the rounds that succeeded (p99 of so few is about the slowest); peak RSS = the master's VmHWM; per-address cap ${CAP}, suggest rate 20/s, burst 1000`,
    ['flood', 'rounds', 'p50 ms', 'p99 ms', 'p50 ×idle', 'p99 ×idle', 'failed rounds', 'master peak RSS MiB', 'notes'],
    rows);
  for (const p of phases) {
    const failed = p.rounds.filter((r) => !r.ok);
    if (failed.length) console.log(`  ${p.name}: ${failed.length} failed round(s), first: ${failed[0]!.why}`);
  }
  return {
    pace, cap: CAP, guardBytes,
    phases: phases.map((p) => ({ ...p, ...stat(p), failed: p.rounds.length - stat(p).ok, notes: notes(p), rounds: p.rounds.map((r) => (r.ok ? Math.round(r.ms * 10) / 10 : { ms: Math.round(r.ms), why: r.why })) })),
  };
}
