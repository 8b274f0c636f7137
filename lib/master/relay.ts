// The relay: takes connection events and decides what to send, store and log. Sockets, timers and disk stay outside.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { FailureThrottle, verifyProof } from '../protocol/auth.js';
import {
  MAX_LISTED_BUILDERS, MAX_REPORT_CHUNKS, PROTOCOL_VERSION, REPORT_KEEP_BYTES, versionProblem,
  type FromMaster, type Hello, type Report, type ReportFields, type SuggestRequest, type ToMaster, type Uname,
} from '../protocol/messages.js';
import type { Store, StoredReport, StoreOutcome } from '../store/sqlite.js';
import { TokenBucket } from '../common/ratelimit.js';
import { VERSION } from '../common/version.js';

/** One connected peer as the relay sees it. */
export interface Peer {
  /** ADDRESS:PORT, for logs. */
  readonly remote: string;
  /** The peer's IP address alone, for per-address limits. */
  readonly address: string;
  /** Bytes sent to the peer that it has not read yet. */
  readonly backlog: number;
  /** Holds writes back until uncork(), so a batch of acks leaves in one packet (optional). */
  cork?(): void;
  uncork?(): void;
  send(message: FromMaster): boolean;
  /** Sends a message already encoded by encode(): the fan-out encodes an order once for all builders. */
  sendLine(line: string): boolean;
  /** Sends an error line (when given) and closes. */
  close(reason: string, error?: string): void;
}

export interface RelayOptions {
  heartbeatMs: number;
  /** How long a builder may be gone and still get the suggestions it missed. */
  replayWindowMs: number;
  helloTimeoutMs: number;
  /** The shared secret builders prove they know; none: builders need no proof. */
  builderToken?: string;
  /** The shared secret suggesters prove they know; none: suggesters need no proof. */
  suggestToken?: string;
  /** Suggestions per second one connection may make, and how many at once. */
  suggestRate: number;
  suggestBurst: number;
}

/** Invalid lines logged per connection; the rest are answered but not logged. */
export const MAX_LOGGED_INVALID = 10;
/** A follower this far behind gets no more live output until it catches up (the gap is marked); it is not cut off. */
export const MAX_FOLLOW_BACKLOG = 4 * 1024 * 1024;
/** Live output (UTF-16 code units) forwarded to a waiting suggester per build and builder; beyond it the report still has the output. */
export const MAX_FORWARDED_OUTPUT = 64 * 1024 * 1024;
/** Characters of kept output one report may carry (first and last 512 KiB plus the cut line). */
export const MAX_REPORT_OUTPUT_CHARS = 2 * REPORT_KEEP_BYTES + 4096;

interface Build { project: string; branch: string; revision?: string }

interface BuilderState {
  role: 'builder';
  peer: Peer;
  name: string;
  uname: Uname;
  node: string;
  projects: Set<string>;
  ignoreUnknown: boolean;
  /** Builds sent to this builder and not yet reported. */
  holds: Map<string, Build>;
  /** report-output chunks received for the report that follows them. */
  partial?: { id: string; chunks: string[]; chars: number };
}

interface SuggesterState { role: 'suggester'; peer: Peer; name: string; bucket: TokenBucket }
interface Pending { role: 'pending'; peer: Peer; timer?: NodeJS.Timeout; nonce: string }
type PeerState = BuilderState | SuggesterState | Pending;

/** A suggestion whose builders have not all reported yet, and who is waiting for it. */
interface InFlight extends Build {
  id: string;
  from?: SuggesterState;
  follow: boolean;
  waitingFor: Set<string>;
  /** Live output bytes forwarded per builder. */
  forwarded: Map<string, number>;
  /** Live output characters skipped per builder because the follower was reading too slowly. */
  skipped: Map<string, number>;
}

/** One message as the line a Peer's sendLine() takes. */
export function encode(message: FromMaster): string {
  return JSON.stringify(message) + '\n';
}

/** Ids sortable by time and unique across restarts: base-36 milliseconds and 12 random hex digits. */
export function newSuggestionId(now: number): string {
  return `${now.toString(36)}-${randomBytes(6).toString('hex')}`;
}

export class Relay {
  private readonly peers = new Map<Peer, PeerState>();
  private readonly builders = new Map<string, BuilderState>();
  private readonly inFlight = new Map<string, InFlight>();
  private batch: Array<{ report: StoredReport; from?: BuilderState }> = [];
  private flushScheduled = false;
  private stopping = false;
  private readonly throttle = new FailureThrottle();
  /** Builders that disconnected this turn, and when: written together with one fsync. */
  private readonly seenPending = new Map<string, number>();
  private readonly invalidCounts = new WeakMap<Peer, number>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: RelayOptions,
    private readonly now: () => number = Date.now,
  ) {
    // Reports stored but never logged: the master died between the two.
    const unlogged = store.unlogged();
    for (const r of unlogged) this.logReport(r, 'recovered');
    if (unlogged.length) store.markLogged(unlogged);
  }

  get builderCount(): number {
    return this.builders.size;
  }

  connected(peer: Peer): void {
    const state: Pending = { role: 'pending', peer, nonce: randomBytes(16).toString('hex') };
    this.peers.set(peer, state);
    const greet = (): void => {
      if (this.peers.get(peer) !== state) return;
      state.timer = setTimeout(() => {
        this.log.warn({ event: 'hello-timeout', address: peer.remote }, 'no hello in time');
        peer.close('no hello', `no hello within ${this.options.helloTimeoutMs / 1000} s`);
      }, this.options.helloTimeoutMs);
      state.timer.unref();
      peer.send({ type: 'greeting', protocol: PROTOCOL_VERSION, server: `simplebb-masterd/${VERSION}`, nonce: state.nonce });
    };
    // An address that keeps failing to authenticate waits longer and longer for its greeting.
    const delay = this.throttle.delayMs(peer.address);
    if (delay > 0) setTimeout(greet, delay).unref();
    else greet();
  }

  /** A line that could not be read: answered with one error line; `fatal` when the connection can no longer be read. */
  invalid(peer: Peer, problem: string, fatal: boolean, ref?: string): void {
    const state = this.peers.get(peer);
    const count = (this.invalidCounts.get(peer) ?? 0) + 1;
    this.invalidCounts.set(peer, count);
    // Logged for the first few lines of a connection only: junk must not turn into an unbounded log.
    if (count <= MAX_LOGGED_INVALID) this.log.warn({ event: 'invalid', address: peer.remote, problem }, 'invalid line');
    else if (count === MAX_LOGGED_INVALID + 1) this.log.warn({ event: 'invalid', address: peer.remote, problem: 'more invalid lines from this connection are not logged' }, 'invalid line');
    // Before its hello a peer has no business sending anything else: one error line, then closed.
    if (fatal || state?.role === 'pending') peer.close(problem, problem);
    else peer.send({ type: 'error', message: problem, ...(ref !== undefined ? { ref } : {}) });
  }

  message(peer: Peer, msg: ToMaster): void {
    const state = this.peers.get(peer);
    if (!state) return;
    if (state.role === 'pending') {
      if (msg.type !== 'hello') return peer.close('no hello', `expected a hello message first, got ${msg.type}`);
      return this.hello(state, msg);
    }
    if (msg.type === 'hello') return void peer.send({ type: 'error', message: 'hello was already received' });
    if (state.role === 'suggester') {
      if (msg.type === 'suggest') return this.suggest(state, msg);
      return void peer.send({ type: 'error', message: `a suggester may not send ${msg.type}` });
    }
    switch (msg.type) {
      case 'projects':
        state.projects = new Set(msg.projects);
        this.log.info({ event: 'projects', builder: state.name, projects: msg.projects }, 'builder projects changed');
        return;
      case 'started': return this.started(state, msg.id, msg.startedAt);
      case 'output': return this.output(state, msg.id, msg.stream, msg.data);
      case 'report-output': return this.reportOutput(state, msg.id, msg.data);
      case 'report': return this.report(state, msg);
      case 'skipped': return this.skipped(state, msg.id);
      default: return void peer.send({ type: 'error', message: `a builder may not send ${msg.type}` });
    }
  }

  closed(peer: Peer, reason: string): void {
    const state = this.peers.get(peer);
    if (!state) return;
    this.peers.delete(peer);
    if (state.role === 'pending') return clearTimeout(state.timer);
    if (state.role === 'suggester') {
      for (const f of this.inFlight.values()) if (f.from === state) f.from = undefined;
      return;
    }
    if (this.builders.get(state.name) !== state) return; // replaced by a newer connection of the same builder
    this.builders.delete(state.name);
    const at = this.now();
    this.seenSoon(state.name, at);
    this.log.info({ event: 'disconnected', builder: state.name, address: peer.remote, reason, holds: state.holds.size }, 'builder disconnected');
    if (this.stopping) return;
    for (const [id, b] of state.holds) {
      this.enqueue({
        builder: state.name, id, ...b, exitCode: -1, verdict: 'lost',
        message: `builder ${state.name} disconnected during the build (${reason})`,
        durationMs: 0, uname: state.uname, node: state.node, output: '', outputBytes: 0, outputCut: 0, receivedAt: at,
      });
    }
  }

  /** Records when every connected builder was last seen, so replay after a master crash starts from about the right time. */
  tick(): void {
    const at = this.now();
    this.recordSeen([...this.builders.keys()].map((n) => [n, at]));
  }

  /** Disconnects come in bursts (a network blip drops thousands): their times are written together, once per turn of the event loop. */
  private seenSoon(name: string, at: number): void {
    this.seenPending.set(name, at);
    if (this.seenPending.size > 1) return;
    setImmediate(() => {
      const entries = [...this.seenPending];
      this.seenPending.clear();
      this.recordSeen(entries);
    });
  }

  private recordSeen(entries: Array<[string, number]>): void {
    try {
      this.store.buildersSeen(entries);
    } catch (err) {
      this.log.error({ event: 'store-failed', error: (err as Error).message }, 'could not record builders as seen');
    }
  }

  /** Stops treating disconnects as lost builds, stores what was received, and records builders as seen now. */
  stop(): void {
    this.stopping = true;
    this.flush();
    const at = this.now();
    this.recordSeen([...[...this.builders.keys()].map((n): [string, number] => [n, at]), ...this.seenPending]);
    this.seenPending.clear();
  }

  private hello(state: Pending, msg: Hello): void {
    const { peer } = state;
    clearTimeout(state.timer);
    const versionErr = versionProblem(msg.protocol);
    if (versionErr) return peer.close('protocol version', versionErr); // normally caught before the schema, in parseLine
    const token = msg.role === 'builder' ? this.options.builderToken : this.options.suggestToken;
    if (token !== undefined && !verifyProof(token, state.nonce, msg.role, msg.auth)) {
      this.throttle.record(peer.address);
      this.log.warn({ event: 'auth-failed', address: peer.remote, role: msg.role, builder: msg.name }, 'authentication failed');
      return peer.close('authentication failed', 'authentication failed');
    }
    if (token !== undefined) this.throttle.succeeded(peer.address);
    if (msg.role === 'suggester') {
      this.peers.set(peer, { role: 'suggester', peer, name: peer.remote, bucket: new TokenBucket(this.options.suggestRate, this.options.suggestBurst) });
      peer.send({ type: 'welcome', protocol: PROTOCOL_VERSION, heartbeatMs: this.options.heartbeatMs });
      return;
    }
    if (!msg.name || !msg.uname || msg.node === undefined) {
      return peer.close('bad hello', 'a builder hello needs name, uname and node');
    }
    const previous = this.builders.get(msg.name);
    const builder: BuilderState = {
      role: 'builder', peer, name: msg.name, uname: msg.uname, node: msg.node,
      projects: new Set(msg.projects ?? []), ignoreUnknown: msg.ignoreUnknown ?? false,
      holds: previous ? previous.holds : new Map(),
    };
    if (previous) {
      this.log.warn({ event: 'replaced', builder: msg.name, old: previous.peer.remote, address: peer.remote }, 'builder reconnected before its old connection closed');
      this.peers.delete(previous.peer);
      previous.peer.close('replaced', 'replaced by a newer connection with the same builder name');
    }
    this.peers.set(peer, builder);
    this.builders.set(msg.name, builder);
    peer.send({ type: 'welcome', protocol: PROTOCOL_VERSION, heartbeatMs: this.options.heartbeatMs });
    this.log.info({
      event: 'connected', builder: msg.name, address: peer.remote, projects: [...builder.projects],
      uname: msg.uname, node: msg.node, jobs: msg.jobs ?? 1,
    }, 'builder connected');
    const known = new Set(msg.running ?? []);
    // Orders the old connection held that the builder no longer knows (they died with the link, or with a clientd
    // that restarted before we noticed): sent again, so they are built rather than held forever.
    const resent: string[] = [];
    for (const [id, b] of builder.holds) {
      if (known.has(id)) continue;
      peer.send({ type: 'suggest', id, ...b, replayed: true });
      resent.push(id);
    }
    if (resent.length) this.log.info({ event: 'replay', builder: builder.name, ids: resent, held: true }, 're-sent orders the old connection held');
    this.replay(builder, known);
  }

  /** Sends a returning builder the suggestions it missed while away, newest per project and branch. */
  private replay(builder: BuilderState, known: Set<string>): void {
    const now = this.now();
    const since = this.seenPending.get(builder.name) ?? this.store.lastSeen(builder.name);
    if (since === undefined || now - since > this.options.replayWindowMs) return;
    const newest = new Map<string, { id: string } & Build>();
    for (const s of this.store.missedSince(builder.name, since, now)) {
      if (known.has(s.id) || builder.holds.has(s.id) || !builder.projects.has(s.project)) continue;
      newest.set(`${s.project}\0${s.branch}`, s);
    }
    for (const s of newest.values()) {
      builder.holds.set(s.id, { project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}) });
      builder.peer.send({ type: 'suggest', id: s.id, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}), replayed: true });
    }
    if (newest.size) this.log.info({ event: 'replay', builder: builder.name, ids: [...newest.values()].map((s) => s.id) }, 'replayed missed suggestions');
  }

  private suggest(from: SuggesterState, msg: SuggestRequest): void {
    if (!from.bucket.take()) {
      this.log.warn({ event: 'rate-limited', address: from.peer.remote }, 'suggestion refused: rate limit');
      from.peer.send({ type: 'error', message: `rate limit: at most ${this.options.suggestRate} suggestions per second (burst ${this.options.suggestBurst})`, ...(msg.ref !== undefined ? { ref: msg.ref } : {}) });
      return;
    }
    const now = this.now();
    let id = newSuggestionId(now);
    while (this.inFlight.has(id)) id = newSuggestionId(now);
    const build: Build = { project: msg.project, branch: msg.branch, ...(msg.revision ? { revision: msg.revision } : {}) };
    const order = encode({ type: 'suggest', id, ...build });
    const names: string[] = [];
    for (const b of this.builders.values()) {
      if (b.ignoreUnknown && !b.projects.has(msg.project)) continue;
      b.holds.set(id, build);
      b.peer.sendLine(order);
      names.push(b.name);
    }
    // Recorded after the fan-out, so builders do not wait for the fsync; only replay to absent builders depends on it.
    try {
      this.store.addSuggestion({ id, ...build, from: from.name, createdAt: now });
    } catch (err) {
      this.log.error({ event: 'store-failed', id, error: (err as Error).message }, 'could not record the suggestion');
    }
    if (names.length) this.inFlight.set(id, { id, ...build, from, follow: msg.follow ?? false, waitingFor: new Set(names), forwarded: new Map(), skipped: new Map() });
    from.peer.send({
      type: 'accepted', ...(msg.ref !== undefined ? { ref: msg.ref } : {}), id, ...build,
      count: names.length, builders: names.length > MAX_LISTED_BUILDERS ? names.slice(0, MAX_LISTED_BUILDERS) : names,
    });
    this.log.info({ event: 'suggestion', id, ...build, from: from.name, builders: names }, 'suggestion relayed');
  }

  private started(b: BuilderState, id: string, startedAt: number): void {
    const f = this.inFlight.get(id);
    if (f?.from && f.waitingFor.has(b.name)) f.from.peer.send({ type: 'started', id, builder: b.name, startedAt });
  }

  private output(b: BuilderState, id: string, stream: 'stdout' | 'stderr', data: string): void {
    const f = this.inFlight.get(id);
    if (!f?.from || !f.follow || !f.waitingFor.has(b.name)) return;
    const sent = f.forwarded.get(b.name) ?? 0;
    if (sent > MAX_FORWARDED_OUTPUT) return;
    if (f.from.peer.backlog > MAX_FOLLOW_BACKLOG) {
      f.skipped.set(b.name, (f.skipped.get(b.name) ?? 0) + data.length);
      return;
    }
    const skipped = f.skipped.get(b.name);
    if (skipped) {
      f.skipped.delete(b.name);
      f.from.peer.send({ type: 'output', id, builder: b.name, stream, data: `\n[simplebb: ${skipped} characters of live output skipped: the follower was reading too slowly; the report keeps the first and last part]\n` });
    }
    f.forwarded.set(b.name, sent + data.length);
    if (sent + data.length > MAX_FORWARDED_OUTPUT) {
      data = `\n[simplebb: live output past ${MAX_FORWARDED_OUTPUT} characters is not forwarded; the report keeps its first and last part]\n`;
    }
    f.from.peer.send({ type: 'output', id, builder: b.name, stream, data });
  }

  /** The builder will not build this (no script, and it ignores unknown projects): nothing is stored or logged, but a waiter hears of it. */
  private skipped(b: BuilderState, id: string): void {
    const build = b.holds.get(id);
    if (!build) return;
    b.holds.delete(id);
    this.log.debug({ event: 'skipped', id, builder: b.name }, 'builder skipped a suggestion');
    const f = this.inFlight.get(id);
    if (!f || !f.waitingFor.delete(b.name)) return;
    f.from?.peer.send({
      type: 'report', id, builder: b.name, ...build, exitCode: -1, verdict: 'no-script',
      message: `${b.name} has no build script named ${build.project} and ignores unknown projects`,
      durationMs: 0, uname: b.uname, node: b.node, outputBytes: 0, outputCut: 0,
    });
    if (f.waitingFor.size === 0) this.inFlight.delete(id);
  }

  private reportOutput(b: BuilderState, id: string, data: string): void {
    if (!b.partial || b.partial.id !== id) b.partial = { id, chunks: [], chars: 0 };
    b.partial.chars += data.length;
    if (b.partial.chunks.length >= MAX_REPORT_CHUNKS || b.partial.chars > MAX_REPORT_OUTPUT_CHARS) {
      b.partial = undefined;
      b.peer.close('report too large', `a report may carry at most ${MAX_REPORT_CHUNKS} report-output chunks and ${MAX_REPORT_OUTPUT_CHARS} characters of output`);
      return;
    }
    b.partial.chunks.push(data);
  }

  private report(b: BuilderState, msg: Report): void {
    const chunks = b.partial && b.partial.id === msg.id ? b.partial.chunks : [];
    b.partial = undefined;
    if (msg.verdict === 'lost') {
      b.peer.send({ type: 'error', message: `report ${msg.id}: verdict lost is the master's to give, not a builder's` });
      return;
    }
    if (chunks.length !== msg.outputChunks) {
      b.peer.send({ type: 'error', message: `report ${msg.id} announced ${msg.outputChunks} output chunks but ${chunks.length} came before it` });
      return;
    }
    const made = b.holds.get(msg.id) ?? this.store.suggestion(msg.id);
    const mismatch = made && (made.project !== msg.project || made.branch !== msg.branch || (made.revision ?? undefined) !== (msg.revision ?? undefined));
    if (!made || mismatch) {
      // Made up, or from before the master's data was wiped: acknowledged so it is not sent forever, but not stored.
      const why = made ? 'does not match that suggestion\'s project, branch and revision' : 'no such suggestion';
      this.log.warn({ event: 'unknown-report', builder: b.name, id: msg.id, why }, 'report refused');
      b.peer.send({ type: 'error', message: `report ${msg.id}: ${why}; not stored` });
      b.peer.send({ type: 'ack', id: msg.id });
      return;
    }
    const { type: _t, outputChunks: _c, ...fields } = msg;
    const report: StoredReport = { ...(fields as ReportFields), builder: b.name, output: chunks.join(''), receivedAt: this.now() };
    this.enqueue(report, b);
  }

  /** Group commit: reports that arrive in one turn of the event loop share one transaction and one fsync. */
  private enqueue(report: StoredReport, from?: BuilderState): void {
    this.batch.push({ report, ...(from ? { from } : {}) });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Stores the batch, then logs, acknowledges and tells waiters. Acks go out only after the commit. */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    if (!batch.length) return;
    this.batch = [];
    let outcomes: StoreOutcome[];
    try {
      outcomes = this.store.storeReports(batch.map((e) => e.report));
    } catch (err) {
      // Not stored, so not acknowledged: the builders keep their spooled reports and send them again.
      this.log.error({ event: 'store-failed', error: (err as Error).message, reports: batch.length }, 'could not store reports');
      // Our own `lost` verdicts have no one to resend them: try them again shortly.
      const lost = batch.filter((e) => e.report.verdict === 'lost');
      if (lost.length) setTimeout(() => { for (const e of lost) this.enqueue(e.report); }, 1000).unref();
      return;
    }
    const logged: StoredReport[] = [];
    const corked = new Set<Peer>();
    batch.forEach(({ report, from }, i) => {
      if (from && !corked.has(from.peer)) {
        corked.add(from.peer);
        from.peer.cork?.();
      }
      const outcome = outcomes[i];
      if (outcome !== 'duplicate') {
        this.logReport(report, outcome === 'replaced' ? 'replaced-lost' : undefined);
        logged.push(report);
      }
      if (from && report.verdict !== 'lost') from.peer.send({ type: 'ack', id: report.id });
      const holder = this.builders.get(report.builder);
      if (report.verdict !== 'lost') holder?.holds.delete(report.id);
      if (outcome !== 'duplicate') this.tellWaiter(report);
    });
    for (const p of corked) p.uncork?.();
    if (logged.length) {
      try {
        this.store.markLogged(logged);
      } catch (err) {
        // At worst these are logged once more after a restart.
        this.log.error({ event: 'store-failed', error: (err as Error).message }, 'could not mark reports as logged');
      }
    }
  }

  private tellWaiter(report: StoredReport): void {
    const f = this.inFlight.get(report.id);
    if (!f || !f.waitingFor.delete(report.builder)) return;
    const { output: _o, receivedAt: _r, ...fields } = report;
    f.from?.peer.send({ type: 'report', ...fields });
    if (f.waitingFor.size === 0) this.inFlight.delete(report.id);
  }

  private logReport(r: StoredReport, note?: string): void {
    this.log.info({
      event: 'report', id: r.id, project: r.project, branch: r.branch, revision: r.revision, builder: r.builder,
      exitCode: r.exitCode, signal: r.signal, verdict: r.verdict, message: r.message, durationMs: r.durationMs,
      uname: r.uname, node: r.node, outputBytes: r.outputBytes, outputCut: r.outputCut, output: r.output, note,
    }, 'report');
  }
}

