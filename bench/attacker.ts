// The attacker of the abuse benchmark (bench/abuse.ts): one flood at a time against a master, bounded in connections
// and time, in a process of its own so that its work does not share an event loop with the round trips being timed.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { proof } from '../lib/protocol/auth.js';
import { lineSplitter } from './lines.js';

/** A flood: what it sends, to which port, from which loopback addresses. */
export type Flood =
  /** `conns` connections sending ping lines padded with `padBytes` of nested brackets before any hello, reconnecting. */
  | { kind: 'junk'; port: number; from: string; conns: number; padBytes: number }
  /** Plain TCP connections to a TLS port that never send a ClientHello: up to `hold` open at once, reopened when closed. */
  | { kind: 'handshakes'; port: number; from: string; hold: number }
  /** `perAddress` connections from each address, each sending one line of `minBytes`–`maxBytes` with no newline. */
  | { kind: 'unfinished'; port: number; from: string[]; perAddress: number; minBytes: number; maxBytes: number }
  /** Authenticated suggesters keeping `window` suggestions in flight each, for distinct branches; a new connection when rate-limited. */
  | { kind: 'suggestions'; port: number; from: string; conns: number; window: number; token: string; project: string }
  /** Authenticated suggesters writing lines the master refuses (`received`, and suggestions over the rate) as fast as it reads. */
  | { kind: 'refused'; port: number; from: string; conns: number; token: string; project: string };

export type AttackCmd =
  | { cmd: 'start'; flood: Flood; maxMs: number; maxOpens: number; masterPid: number; rssGuardBytes: number }
  | { cmd: 'stats' }
  | { cmd: 'stop' };

/** What the attacker saw, from its side of the sockets. */
export interface AttackStats {
  ms: number;
  /** Connection attempts, those that failed, and connected ones the master closed. */
  opened: number;
  connectFailed: number;
  closedByMaster: number;
  open: number;
  peakOpen: number;
  bytesSent: number;
  linesSent: number;
  accepted: number;
  rateLimited: number;
  refused: number;
  otherErrors: number;
  firstError?: string;
  /** The flood stopped itself: its time, its connection budget, or the master's memory passed the guard. */
  stoppedBy?: 'time' | 'opens' | 'rss-guard';
}

const fresh = (): AttackStats => ({
  ms: 0, opened: 0, connectFailed: 0, closedByMaster: 0, open: 0, peakOpen: 0, bytesSent: 0, linesSent: 0,
  accepted: 0, rateLimited: 0, refused: 0, otherErrors: 0,
});

let stats = fresh();
let running = false;
let t0 = 0;
let t1 = 0;
let maxOpens = Infinity;
let timers: NodeJS.Timeout[] = [];
const sockets = new Set<Socket>();
/** Sockets this side ended (a new bucket, the end of the flood): their close is not the master's doing. */
const ours = new WeakSet<Socket>();
let writtenByClosed = 0;
let pending = 0;


function noteError(message: string): void {
  stats.otherErrors++;
  stats.firstError ??= message.slice(0, 160);
}

/** Opens one connection from `from`; `again` runs when it closes while the flood goes on (at once, or after 50 ms if it never connected). */
function dial(from: string, port: number, onConnect: (sock: Socket) => void, again: () => void): void {
  if (!running) return;
  if (stats.opened >= maxOpens) return halt('opens');
  stats.opened++;
  pending++;
  const sock = connect({ host: '127.0.0.1', port, localAddress: from });
  sockets.add(sock);
  let connected = false;
  sock.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) stats.firstError ??= `connect: ${err.code ?? err.message}`;
  });
  sock.once('connect', () => {
    connected = true;
    pending--;
    stats.open++;
    stats.peakOpen = Math.max(stats.peakOpen, stats.open);
    sock.setNoDelay(true);
    onConnect(sock);
  });
  sock.once('close', () => {
    sockets.delete(sock);
    writtenByClosed += sock.bytesWritten;
    if (connected) {
      stats.open--;
      if (!ours.has(sock)) stats.closedByMaster++;
    } else {
      pending--;
      stats.connectFailed++;
    }
    if (!running) return;
    // dial() itself does nothing once the flood is over, so these need no clearing.
    if (connected) setImmediate(again);
    else setTimeout(again, 50);
  });
}

function end(sock: Socket): void {
  ours.add(sock);
  sock.destroy();
}

/** Dials, says hello as a suggester with the token's proof, and hands over every line after the welcome. */
function suggester(f: { port: number; from: string; token: string }, ready: (sock: Socket) => void, onLine: (sock: Socket, line: string) => void, again: () => void): void {
  dial(f.from, f.port, (sock) => {
    let welcomed = false;
    sock.on('data', lineSplitter((l) => {
      if (l.startsWith('{"type":"ping"')) {
        const t = (JSON.parse(l) as { t?: number }).t;
        sock.write(JSON.stringify({ type: 'pong', ...(t !== undefined ? { t } : {}) }) + '\n');
        return;
      }
      if (welcomed) return onLine(sock, l);
      const m = JSON.parse(l) as { type: string; nonce?: string; message?: string };
      if (m.type === 'greeting') sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester', auth: proof(f.token, m.nonce ?? '', 'suggester') }) + '\n');
      else if (m.type === 'welcome') {
        welcomed = true;
        ready(sock);
      } else noteError(`handshake: ${m.message ?? l}`);
    }));
  }, again);
}

/** Sorts a line the master sent an authenticated suggester. */
function tally(line: string): 'accepted' | 'rate' | 'refused' | 'other' {
  if (line.includes('"type":"accepted"')) return 'accepted';
  if (line.includes('"type":"error"')) {
    if (line.includes('rate limit')) return 'rate';
    if (line.includes('may not send')) return 'refused';
  }
  return 'other';
}

function start(f: Flood): void {
  switch (f.kind) {
    case 'junk': {
      const n = Math.floor(f.padBytes / 2);
      const line = Buffer.from(`{"type":"ping","t":0,"pad":${'['.repeat(n)}${']'.repeat(n)}}\n`);
      const one = (): void => dial(f.from, f.port, (sock) => {
        sock.resume();
        const pump = (): void => {
          while (running && !sock.destroyed) {
            stats.linesSent++;
            if (!sock.write(line)) return;
          }
        };
        sock.on('drain', pump);
        pump();
      }, one);
      for (let i = 0; i < f.conns; i++) one();
      return;
    }
    case 'handshakes': {
      // At most 256 connects in flight, so the flood opens as fast as the master accepts rather than all at once.
      const top = (): void => {
        while (running && stats.open + pending < f.hold && pending < 256 && stats.opened < maxOpens) {
          dial(f.from, f.port, (sock) => {
            sock.resume();
            top();
          }, top);
        }
      };
      top();
      return;
    }
    case 'unfinished': {
      const prefix = Buffer.from('{"type":"hello","protocol":2,"role":"suggester","pad":"');
      const filler = Buffer.alloc(f.maxBytes, 'x');
      const one = (from: string): void => dial(from, f.port, (sock) => {
        sock.resume();
        const size = f.minBytes + Math.floor(Math.random() * (f.maxBytes - f.minBytes));
        sock.write(prefix);
        sock.write(filler.subarray(0, size - prefix.length));
        stats.linesSent++;
      }, () => one(from));
      // Address by address, a few hundred connects at a time.
      f.from.forEach((from, i) => timers.push(setTimeout(() => {
        for (let k = 0; k < f.perAddress; k++) one(from);
      }, i * 20)));
      return;
    }
    case 'suggestions': {
      let next = 0;
      const one = (): void => suggester(f, (sock) => {
        for (let k = 0; k < f.window; k++) send(sock);
      }, (sock, l) => {
        switch (tally(l)) {
          case 'accepted':
            stats.accepted++;
            return send(sock);
          case 'rate':
            // Its bucket is empty: a new connection starts with a full one.
            stats.rateLimited++;
            if (!ours.has(sock)) end(sock);
            return;
          default:
            return noteError(l);
        }
      }, one);
      const send = (sock: Socket): void => {
        if (!running || sock.destroyed) return;
        stats.linesSent++;
        sock.write(JSON.stringify({ type: 'suggest', project: f.project, branch: `flood-${next++}` }) + '\n');
      };
      for (let i = 0; i < f.conns; i++) one();
      return;
    }
    case 'refused': {
      const pair = `{"type":"received","seq":1}\n{"type":"suggest","project":"${f.project}","branch":"refused"}\n`;
      const batch = Buffer.from(pair.repeat(64));
      const one = (): void => suggester(f, (sock) => {
        const pump = (): void => {
          while (running && !sock.destroyed) {
            stats.linesSent += 128;
            if (!sock.write(batch)) return;
          }
        };
        sock.on('drain', pump);
        pump();
      }, (_sock, l) => {
        switch (tally(l)) {
          case 'accepted': stats.accepted++; return;
          case 'rate': stats.rateLimited++; return;
          case 'refused': stats.refused++; return;
          default: return noteError(l);
        }
      }, one);
      for (let i = 0; i < f.conns; i++) one();
      return;
    }
  }
}

function current(): AttackStats {
  let written = writtenByClosed;
  for (const s of sockets) written += s.bytesWritten;
  return { ...stats, ms: (running ? Date.now() : t1) - t0, bytesSent: written };
}

/** Stops the flood: no more connects or writes, every socket destroyed. */
function halt(why?: AttackStats['stoppedBy']): void {
  if (!running) return;
  running = false;
  t1 = Date.now();
  if (why) stats.stoppedBy = why;
  for (const t of timers) clearTimeout(t);
  timers = [];
  for (const s of sockets) end(s);
}

function masterRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function handle(c: AttackCmd): Promise<unknown> {
  switch (c.cmd) {
    case 'start': {
      if (running) throw new Error('a flood is already running');
      stats = fresh();
      writtenByClosed = 0;
      maxOpens = c.maxOpens;
      running = true;
      t0 = Date.now();
      timers.push(setTimeout(() => halt('time'), c.maxMs));
      const guard = setInterval(() => {
        if (!running) return clearInterval(guard);
        if (masterRss(c.masterPid) > c.rssGuardBytes) halt('rss-guard');
      }, 100);
      timers.push(guard);
      start(c.flood);
      return { ok: true };
    }
    case 'stats':
      return current();
    case 'stop': {
      halt();
      for (const end = Date.now() + 5000; sockets.size > 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      return current();
    }
  }
}

process.on('message', (c: AttackCmd) => {
  handle(c).then((r) => process.send!(r), (err: Error) => process.send!({ error: err.message }));
});
process.on('disconnect', () => process.exit(0));
