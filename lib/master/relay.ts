// The master's decisions: takes connection events, answers peers and emits events; the record, sockets and timers stay behind ports.
import { randomBytes } from 'node:crypto';
import { builderToken, verifyProof } from '../protocol/auth.js';
import { MAX_LISTED_BUILDERS, MAX_REPLAY, PROTOCOL_VERSION } from '../protocol/limits.js';
import { withScripts, type Labels } from '../protocol/labels.js';
import { matches, MAX_SELECTOR_CHARS, parseSelector, type Selector } from '../protocol/selector.js';
import { versionProblem, type Hello, type SuggestRequest, type ToMaster, type Uname } from '../protocol/messages.js';
import { isOpen, type Store, type StoredReport, type StoredSuggestion } from '../store/store.js';
import { TokenBucket } from '../common/ratelimit.js';
import { VERSION } from '../common/version.js';
import { planCancel, type CancelPart, type CancelStep } from './cancel.js';
import { CancelsOwed } from './cancelsOwed.js';
import { GroupCommit } from './commits.js';
import type { EventBus } from './events.js';
import { newSuggestionId } from './ids.js';
import { ReportIntake } from './intake.js';
import type { Order } from './dispatch.js';
import { Dispatcher, oneOrder } from './dispatcher.js';
import { Ledger } from './ledger.js';
import { encode, type Peer } from './peer.js';
import { planReplay } from './replay.js';
import { Roster, type BuilderSession } from './roster.js';
import { noMatchMessage, target, type Candidate, type Targeting } from './targeting.js';
import { FailureThrottle } from './throttle.js';
import { NoticeLimit } from './noticeLimit.js';
import { Watchers } from './watchers.js';

export interface RelayOptions {
  heartbeatMs: number;
  /** How long a builder may be away and still get the suggestions it missed; after that its open builds are lost. */
  replayWindowMs: number;
  helloTimeoutMs: number;
  /** The master's builder secret: each builder proves it knows the token derived from it for its name; none: builders need no proof. */
  builderToken?: string;
  /** Also let builders prove the builder secret itself: any of them may then speak under any name. */
  sharedBuilderToken?: boolean;
  /** The secret suggesters prove they know; none: suggesters need no proof. */
  suggestToken?: string;
  /** Suggestions per second one IP address may make (all its connections together), and how many at once. */
  suggestRate: number;
  suggestBurst: number;
  /**
   * Why a suggestion's `notify` (mail its summary to this address) is refused now, or undefined when a mail sink for
   * it is configured; absent: always refused (no --notify file). Asked per suggestion: the notify file may change.
   */
  notifyRefusal?: () => string | undefined;
}

/** A `one` order waiting in the queue, as `simplebb queue` and `where` show it. */
export interface QueuedView {
  suggestion: StoredSuggestion;
  attempt: number;
  queuedAt: number;
  /** Orders of its project before it. */
  ahead: number;
  /** Builders an earlier attempt was lost with. */
  tried: string[];
  /** Why it waits, in words. */
  why: string;
}

/** One of the suggestions an `each LABEL` made: the one for `value`, of `of`. */
interface EachGroup { label: string; value: string; of: number }

/** Why `notify` is refused by a master without a --notify file: a request for mail is never silently dropped. */
const NO_NOTIFY_FILE = 'this master mails no one: it was started without --notify FILE (with "suggesterMail" naming a mail sink, docs/NOTIFICATIONS.md)';

/** What cancelling did: per builder, what was done; or why nothing was (unknown id 404, nothing left to cancel 409). */
export type CancelOutcome =
  | { ok: true; id: string; steps: CancelStep[]; finished: Array<{ builder: string; verdict?: string }>; dequeued?: boolean }
  | { ok: false; status: 400 | 404 | 409 | 503; error: string };

/** Addresses whose suggestion buckets are remembered; beyond it the least recently used is forgotten (it was full again long ago). */
const MAX_BUCKETS = 10_000;
/** Parsed selectors remembered (replay matches each returning builder against the suggestions it missed). */
const MAX_PARSED = 1000;
/** How many times a `one` build lost with its builder is offered to another one, unless the suggestion says. */
const DEFAULT_RETRIES = 2;
/** Replayed orders sent per turn of the event loop: one builder's catch-up must not hold up everyone else's messages. */
const REPLAY_BATCH = 100;

interface SuggesterSession { role: 'suggester'; peer: Peer; name: string; bucket: TokenBucket }
interface Pending { role: 'pending'; peer: Peer; timer?: NodeJS.Timeout; nonce: string }
type Session = BuilderSession | SuggesterSession | Pending;

const NO_UNAME: Uname = { type: '', release: '', version: '', machine: '', hostname: '' };

export class Relay {
  private readonly peers = new Map<Peer, Session>();
  private readonly roster = new Roster();
  private readonly commits: GroupCommit;
  private readonly ledger: Ledger;
  private readonly intake: ReportIntake;
  private readonly watchers: Watchers;
  private readonly dispatch: Dispatcher;
  private readonly throttle = new FailureThrottle();
  private readonly notices: NoticeLimit;
  /** Suggestion buckets per address, least recently used first. */
  private readonly buckets = new Map<string, TokenBucket>();
  /** The state dir each builder name last came with (from the record, then from hellos). */
  private readonly instances = new Map<string, string | undefined>();
  /** When each builder last connected or went away, as the record has it: at most when its current absence began. */
  private readonly lastSeen = new Map<string, number>();
  /** Ids given out lately, so two suggestions in one millisecond never share one. */
  private readonly recentIds = new Set<string>();
  /** Each builder's labels (with `script:*`) as the record had them at start: matched while it has not said hello since. */
  private readonly recordLabels = new Map<string, Labels>();
  private readonly parsed = new Map<string, Selector>();
  private readonly cancelsOwed = new CancelsOwed();
  private readonly startedAt: number;
  private stopping = false;

  private constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly options: RelayOptions,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    this.notices = new NoticeLimit(events, now);
    this.commits = new GroupCommit(store, events);
    this.ledger = new Ledger(this.commits, events, now);
    this.intake = new ReportIntake(store, this.commits, this.ledger, events, this.notices, now);
    this.intake.onFreeing = (builder, on) => this.dispatch.freeingOf(builder, on);
    // A builder's own `lost` (its clientd died while it ran) is retried like the master's.
    this.intake.onLost = (report, s, attempt) => {
      report.message = (report.message ?? 'lost') + this.retryWords(s, report.builder, attempt);
      this.dispatch.lost(s, report.builder, attempt);
    };
    this.watchers = new Watchers(events);
    this.dispatch = new Dispatcher({
      roster: this.roster, ledger: this.ledger, commits: this.commits, events, now,
      able: (b, s) => b.projects.has(s.project) && this.fits(b, s),
      given: (id, builder) => this.watchers.given(id, builder),
    });
    // A build that ends frees its builder: a queued order may go there.
    events.on((e) => {
      if (e.type === 'report') {
        this.dispatch.built(e.report.builder, e.report.project);
        this.dispatch.schedule();
      } else if (e.type === 'delivery' && e.state === 'skipped') {
        this.dispatch.schedule();
      }
    });
  }

  /** The `one` orders waiting for a builder, project by project in turn, each with why it waits. */
  queued(limit = Number.MAX_SAFE_INTEGER): QueuedView[] {
    return this.dispatch.waiting().slice(0, limit).map((o) => this.viewOf(o));
  }

  /** How many `one` orders wait. */
  get queueSize(): number {
    return this.dispatch.size;
  }

  /** A waiting `one` order, if this suggestion is one. */
  queuedOne(id: string): QueuedView | undefined {
    const o = this.dispatch.get(id);
    return o ? this.viewOf(o) : undefined;
  }

  private viewOf(o: Order): QueuedView {
    return { suggestion: o.suggestion, attempt: o.attempt, queuedAt: o.queuedAt, ahead: this.dispatch.ahead(o.suggestion.id) ?? 0, tried: [...o.tried], why: this.dispatch.why(o) };
  }

  /** How long an away builder's open builds wait for it before they are lost. */
  get replayWindowMs(): number {
    return this.options.replayWindowMs;
  }

  /** A relay over the record as it stands: open deliveries and known builders are read first. */
  static async open(store: Store, events: EventBus, options: RelayOptions, now: () => number = Date.now): Promise<Relay> {
    const relay = new Relay(store, events, options, now);
    const [open, builders, queued] = await Promise.all([store.openDeliveries(), store.builders(), store.queued()]);
    relay.ledger.load(open);
    relay.dispatch.load(queued);
    for (const b of builders) {
      relay.instances.set(b.name, b.instance);
      relay.lastSeen.set(b.name, b.lastSeen);
      if (b.labels) relay.recordLabels.set(b.name, b.labels);
    }
    return relay;
  }

  connected(peer: Peer): void {
    const state: Pending = { role: 'pending', peer, nonce: randomBytes(16).toString('hex') };
    this.peers.set(peer, state);
    const greet = (): void => {
      if (this.peers.get(peer) !== state) return;
      peer.resume?.();
      state.timer = setTimeout(() => {
        this.events.notice('warn', 'hello-timeout', 'no hello in time', { address: peer.remote });
        peer.close('no hello', `no hello within ${this.options.helloTimeoutMs / 1000} s`);
      }, this.options.helloTimeoutMs);
      state.timer.unref();
      peer.send({ type: 'greeting', protocol: PROTOCOL_VERSION, server: `simplebb-masterd/${VERSION}`, nonce: state.nonce, store: this.store.id, check: true, labels: true, notify: true, one: true, cancel: true });
    };
    // An address that keeps failing to authenticate (or sending junk) waits longer and longer for its greeting, and
    // what it sends meanwhile is not read: its connections cost the master nothing while they wait.
    const delay = this.throttle.delayMs(peer.address);
    if (delay > 0) {
      peer.pause?.();
      setTimeout(greet, delay).unref();
    } else {
      greet();
    }
  }

  /** A line that could not be read: answered with one error line; `fatal` when the connection can no longer be read. */
  invalid(peer: Peer, problem: string, fatal: boolean, ref?: string): void {
    const state = this.peers.get(peer);
    // Rate-limited per connection: junk must not turn into an unbounded log.
    this.notices.warn(peer.address, 'invalid', 'invalid line', { address: peer.remote, problem });
    // Before its hello a peer has no business sending anything else: one error line, then closed, and its address
    // waits longer for its next greeting, as after a failed authentication.
    if (state?.role === 'pending') this.throttle.record(peer.address);
    if (fatal || state?.role === 'pending') peer.close(problem, problem);
    else peer.send({ type: 'error', message: problem, ...(ref !== undefined ? { ref } : {}) });
  }

  message(peer: Peer, msg: ToMaster): void {
    const state = this.peers.get(peer);
    if (!state) return;
    if (state.role === 'pending') {
      if (msg.type !== 'hello') {
        this.throttle.record(peer.address);
        return peer.close('no hello', `expected a hello message first, got ${msg.type}`);
      }
      return this.hello(state, msg);
    }
    // Answered only once a peer has said hello: before it, a ping is one line too many, like anything else.
    if (msg.type === 'ping') return void peer.send({ type: 'pong', ...(msg.t !== undefined ? { t: msg.t } : {}) });
    if (msg.type === 'hello') return void peer.send({ type: 'error', message: 'hello was already received' });
    if (state.role === 'suggester') {
      if (msg.type === 'suggest') return void this.suggest(state, msg);
      return void peer.send({ type: 'error', message: `a suggester may not send ${msg.type}` });
    }
    switch (msg.type) {
      case 'projects':
        state.projects = new Set(msg.projects);
        state.view = undefined;
        this.remember(state);
        this.events.emit({ type: 'projects', name: state.name, projects: msg.projects });
        this.dispatch.schedule();
        return;
      case 'labels':
        state.labels = msg.labels;
        state.view = undefined;
        this.remember(state);
        this.events.emit({ type: 'labels', name: state.name, labels: msg.labels });
        this.dispatch.schedule();
        return;
      case 'received':
        return this.ledger.received(state.name, msg.seq, msg.ids);
      case 'started':
        if (this.ledger.started(state.name, msg.id)) this.events.emit({ type: 'started', id: msg.id, builder: state.name, startedAt: msg.startedAt });
        return;
      case 'output':
        // Only for a build this builder owes: output under any other id would be kept (and followed) for nothing.
        if (!this.ledger.get(state.name, msg.id)) return;
        return this.events.emit({ type: 'output', id: msg.id, builder: state.name, stream: msg.stream, data: msg.data });
      case 'report-output':
        return this.intake.chunk(state, msg.id, msg.data);
      case 'report':
        return void this.intake.report(state, msg);
      case 'skipped':
        return void this.skipped(state, msg.id);
      default:
        return void peer.send({ type: 'error', message: `a builder may not send ${msg.type}` });
    }
  }

  closed(peer: Peer, reason: string): void {
    const state = this.peers.get(peer);
    if (!state) return;
    this.peers.delete(peer);
    if (state.role === 'pending') return clearTimeout(state.timer);
    if (state.role === 'suggester') return this.watchers.drop(peer);
    const at = this.now();
    if (!this.roster.remove(state, at, reason)) return; // replaced by a newer connection of the same builder
    this.lastSeen.set(state.name, at);
    this.commits.builder({ name: state.name, lastSeen: at });
    if (this.stopping) return;
    const open = this.ledger.open(state.name).map((o) => ({ id: o.suggestion.id, seq: o.suggestion.seq }));
    this.events.emit({ type: 'builder-down', name: state.name, address: peer.remote, reason, open, windowMs: this.options.replayWindowMs });
    if (this.options.replayWindowMs === 0) this.tick();
  }

  /** Builders away longer than the replay window lose their open builds: `lost` is final now. */
  tick(): void {
    if (this.stopping) return;
    this.notices.flush();
    const now = this.now();
    for (const name of this.ledger.builders()) {
      if (this.roster.get(name)) continue;
      const away = this.roster.awayOf(name);
      const since = away?.since ?? this.startedAt;
      if (now - since < this.options.replayWindowMs) continue;
      const why = away ? `it went away (${away.reason})` : 'the master started';
      for (const o of this.ledger.open(name)) {
        void this.giveVerdict(name, o.suggestion, 'lost',
          `builder ${name} did not come back within the replay window (${this.options.replayWindowMs / 1000} s) after ${why}`, away, o.attempt);
      }
    }
  }

  /** Stops treating disconnects as a builder going away, and waits until everything received is in the record. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.commits.flush();
  }

  /**
   * Cancels suggestion `id`'s builds (or only `builder`'s): a connected builder is told to kill or drop its build and
   * reports it `cancelled`; for one that is offline the master records `cancelled` itself (and tells it when it is
   * back). `by` and `reason` say who cancelled it and why, in each report's message. The decision is planCancel's.
   */
  async cancel(id: string, by: string, options: { builder?: string; reason?: string } = {}): Promise<CancelOutcome> {
    let s: StoredSuggestion | undefined;
    let view;
    try {
      [s, view] = await Promise.all([this.store.suggestion(id), this.store.history.suggestionView(id)]);
    } catch (err) {
      return { ok: false, status: 503, error: `could not read the record: ${(err as Error).message}` };
    }
    if (!s) return { ok: false, status: 404, error: `no such suggestion: ${id}` };
    // The ledger is fresher than the record for open parts (changes wait for the next commit); the record has the rest.
    const parts = new Map<string, CancelPart>();
    for (const d of view?.deliveries ?? []) parts.set(d.builder, { builder: d.builder, state: isOpen(d.state) ? 'reported' : d.state, ...(d.verdict ? { verdict: d.verdict } : {}) });
    for (const name of this.ledger.builders()) {
      const o = this.ledger.get(name, id);
      if (!o) continue;
      const b = this.roster.get(name);
      parts.set(name, { builder: name, state: o.state, ...(b?.live ? { link: { cancels: b.cancels } } : {}) });
    }
    // Builders away within the replay window that would be sent it when back (it was made while they were away).
    const selector = s.on !== undefined ? this.selectorOf(s.on) : undefined;
    // (A `one` suggestion is owed to no one: the dispatcher gives it to a builder.)
    if (!s.one) {
      for (const name of this.targeting(s.project, selector, false, s.builder).later) {
        if (!parts.has(name)) parts.set(name, { builder: name, state: 'owed' });
      }
    }
    // A `one` order still waiting in the dispatch queue (and not for one builder only) is taken out of it.
    const queued = this.dispatch.get(id) !== undefined && options.builder === undefined;
    const plan = planCancel({ id, ...(options.builder !== undefined ? { builder: options.builder } : {}), parts: [...parts.values()], queued });
    // Finished, or never this builder's: there is nothing to cancel (409); an unknown id was answered above (404).
    if (!plan.ok) return { ok: false, status: 409, error: plan.problem };
    const reason = `cancelled by ${by}${options.reason ? `: ${options.reason}` : ''}`;
    const given: Array<Promise<void>> = [];
    for (const step of plan.steps) {
      if (step.action === 'send') this.roster.get(step.builder)?.peer.send({ type: 'cancel', id, reason });
      if (step.action !== 'record') continue;
      // Offline: nothing of it runs there now. One it had on its disk before it went away is cancelled when it is back;
      // one still catching up may yet be sent the order, so it is told right after it.
      if ((step.state !== 'offered' && step.state !== 'owed') || this.roster.get(step.builder)) this.cancelsOwed.owe(step.builder, id, reason);
      given.push(this.giveVerdict(step.builder, s, 'cancelled', `${reason} (builder ${step.builder} was not connected)`, this.roster.awayOf(step.builder)));
    }
    // Out of the queue durably; its waiting suggester hears a made-up `cancelled` (nothing ran, so nothing is stored).
    const dequeued = plan.dequeue ? await this.dispatch.take(id) : false;
    if (dequeued) this.watchers.cancelledQueued(s, `${reason} while it was queued`);
    this.events.notice('info', 'cancel', 'suggestion cancelled', {
      id, by, builders: plan.steps.map((x) => `${x.builder}:${x.action}`), ...(dequeued ? { dequeued: true } : {}), ...(options.reason ? { reason: options.reason } : {}),
    });
    await Promise.all(given);
    return { ok: true, id, steps: plan.steps, finished: plan.finished.map((f) => ({ builder: f.builder, ...(f.verdict ? { verdict: f.verdict } : {}) })), ...(dequeued ? { dequeued } : {}) };
  }

  private hello(state: Pending, msg: Hello): void {
    const { peer } = state;
    clearTimeout(state.timer);
    const versionErr = versionProblem(msg.protocol);
    if (versionErr) return peer.close('protocol version', versionErr); // normally caught before the schema, in parseLine
    const refusal = this.authProblem(state.nonce, msg);
    if (refusal !== undefined) {
      this.throttle.record(peer.address);
      this.events.notice('warn', 'auth-failed', 'authentication failed', { address: peer.remote, role: msg.role, builder: msg.name, ...(refusal ? { why: refusal } : {}) });
      return peer.close('authentication failed', refusal ? `authentication failed: ${refusal}` : 'authentication failed');
    }
    if ((msg.role === 'builder' ? this.options.builderToken : this.options.suggestToken) !== undefined) this.throttle.succeeded(peer.address);
    peer.trust?.();
    if (msg.role === 'suggester') {
      this.peers.set(peer, { role: 'suggester', peer, name: peer.remote, bucket: this.bucketOf(peer.address) });
      peer.send({ type: 'welcome', protocol: PROTOCOL_VERSION, heartbeatMs: this.options.heartbeatMs });
      return;
    }
    if (!msg.name || !msg.instance || !msg.uname || msg.node === undefined) {
      return peer.close('bad hello', 'a builder hello needs name, instance, uname and node');
    }
    const current = this.roster.get(msg.name);
    if (current && current.instance !== msg.instance) {
      // Another clientd (another state dir) under the same name: the one connected keeps it; the newcomer is told why.
      this.events.notice('warn', 'name-in-use', 'builder name in use by another clientd', { builder: msg.name, address: peer.remote, connected: current.peer.remote });
      return peer.close('name in use', `builder name ${msg.name} is in use by another simplebb-clientd, connected from ${current.peer.address}; give each clientd its own --name`, 'name-in-use');
    }
    if (msg.check) {
      // clientd --check: everything a hello is checked for has passed; nothing is registered or recorded.
      peer.send({ type: 'checked', protocol: PROTOCOL_VERSION, connected: current !== undefined });
      return peer.close('checked');
    }
    const known = this.instances.get(msg.name);
    const sameInstance = known === undefined || known === msg.instance;
    this.instances.set(msg.name, msg.instance);
    const since = this.awaySince(msg.name);
    this.lastSeen.set(msg.name, this.now());
    const session: BuilderSession = {
      role: 'builder', peer, name: msg.name, instance: msg.instance, uname: msg.uname, node: msg.node,
      projects: new Set(msg.projects ?? []), labels: msg.labels ?? {}, ignoreUnknown: msg.ignoreUnknown ?? false, jobs: msg.jobs ?? 1, ids: msg.ids ?? false, cancels: msg.cancel ?? false,
      live: false, buffer: [],
    };
    if (current) {
      this.peers.delete(current.peer);
      current.peer.close('replaced', 'replaced by a newer connection of the same clientd');
    }
    this.roster.add(session);
    this.peers.set(peer, session);
    this.commits.builder({ name: msg.name, instance: msg.instance, lastSeen: this.now(), labels: withScripts(session.labels, session.projects) });
    peer.send({ type: 'welcome', protocol: PROTOCOL_VERSION, heartbeatMs: this.options.heartbeatMs });
    this.events.emit({
      type: 'builder-up', name: msg.name, address: peer.remote, instance: msg.instance, projects: [...session.projects],
      uname: msg.uname, node: msg.node, jobs: session.jobs, labels: session.labels, ...(current ? { replaced: current.peer.remote } : {}),
    });
    // No cursor at all from a state dir this record knows: it has nothing on its disk yet (it went away before its
    // first `synced` was written) but it is no newcomer; what it missed since it went away is still its own. (A cursor
    // for another record means this one is new to it.)
    const cursor = msg.cursor ? (msg.cursor.store === this.store.id && sameInstance ? msg.cursor.seq : undefined)
      : known === msg.instance ? 0 : undefined;
    void this.catchUp(session, cursor, sameInstance, this.owedSince(since));
  }

  /** Keeps a builder's labels (with its scripts) in the record: a selector is matched against it while it is away, also after a restart. */
  private remember(b: BuilderSession): void {
    const labels = withScripts(b.labels, b.projects);
    // Also where a builder away with no record of its session (since before a restart) is matched from.
    this.recordLabels.set(b.name, labels);
    this.commits.builder({ name: b.name, lastSeen: this.lastSeen.get(b.name) ?? this.now(), labels });
  }

  /** The suggestion bucket of an address, shared by its connections: reconnecting does not refill it. */
  private bucketOf(address: string): TokenBucket {
    let bucket = this.buckets.get(address);
    if (bucket) {
      this.buckets.delete(address); // to the back: the least recently used is forgotten first
    } else {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = new TokenBucket(this.options.suggestRate, this.options.suggestBurst, this.now);
    }
    this.buckets.set(address, bucket);
    return bucket;
  }

  /**
   * Why a hello's proof does not pass: undefined when it passes (or its role needs none), '' when it is simply wrong,
   * or words for a builder that proved the master's builder secret itself where its own token was asked for.
   */
  private authProblem(nonce: string, msg: Hello): string | undefined {
    if (msg.role === 'suggester') {
      const token = this.options.suggestToken;
      return token === undefined || verifyProof(token, nonce, 'suggester', msg.auth) ? undefined : '';
    }
    const secret = this.options.builderToken;
    if (secret === undefined) return undefined;
    const name = msg.name ?? '';
    // A builder's own token is derived from the secret and its name: the proof for one name fails for any other.
    if (verifyProof(builderToken(secret, name), nonce, 'builder', msg.auth, name)) return undefined;
    if (!verifyProof(secret, nonce, 'builder', msg.auth, name)) return '';
    if (this.options.sharedBuilderToken) return undefined;
    return `builder ${name} proved the master's builder secret, not a token of its own; give it the output of \`simplebb-masterd token builder ${name}\` as its token, or start the master with --shared-builder-token`;
  }

  /** When a builder's absence began: when this master saw it go, else (the master has restarted since) at the latest its last connect or disconnect on record. */
  private awaySince(name: string): number | undefined {
    return this.roster.awayOf(name)?.since ?? this.lastSeen.get(name);
  }

  /**
   * From when a returning builder is owed new suggestions: since its absence began, when it is back in time (away
   * less than the replay window, counted from the master's start at the earliest); else what the last window made.
   * Never more than a window before the master's start: a lower bound read from the record can be far older.
   */
  private owedSince(awaySince: number | undefined): number {
    const now = this.now();
    const window = this.options.replayWindowMs;
    if (awaySince === undefined) return now - window;
    const inTime = now - Math.max(awaySince, this.startedAt) < window;
    return inTime ? Math.max(awaySince, this.startedAt - window) : now - window;
  }

  /**
   * Sends a builder that just said hello what it is owed, then `synced`: from then on it is live. Suggestions made
   * meanwhile wait in its buffer, so it gets every order in the order of the log.
   */
  private async catchUp(b: BuilderSession, cursor: number | undefined, sameInstance: boolean, since: number): Promise<void> {
    let owed;
    try {
      owed = await this.store.owed(b.name, cursor ?? Number.MAX_SAFE_INTEGER, since);
    } catch (err) {
      this.events.notice('error', 'store-failed', 'could not read the record', { error: (err as Error).message });
      b.peer.close('store failed', 'the master cannot read its record; try again later');
      return;
    }
    if (this.roster.get(b.name) !== b) return; // gone, or replaced, meanwhile
    if (cursor !== undefined && cursor > owed.head) {
      // The log went backwards under the builder (a restored backup without a new record id): places up to its
      // cursor may be reused for suggestions it never saw. Its cursor stands; the operator is told.
      this.events.notice('warn', 'cursor-ahead', 'a builder has more of this record\'s log than the record', { builder: b.name, cursor, head: owed.head });
    }
    const open = this.ledger.open(b.name);
    const plan = planReplay({
      cursor, open, owed: owed.suggestions, buffered: b.buffer, eligible: (s) => this.roster.takes(b, s.project) && this.fits(b, s), max: MAX_REPLAY,
    });
    // Everything is decided at once, in the turn that read the record: the verdicts go to the record together (with
    // the builder's return, when the read did not wait), and what is to be sent counts as offered, so a builder that
    // goes away while the orders are still being written is owed the rest again, whatever their age.
    const why = sameInstance ? 'its state dir no longer holds it' : 'it came back with another state dir';
    const given: Array<Promise<void>> = [];
    for (const s of plan.lost) {
      given.push(this.giveVerdict(b.name, s, 'lost', `builder ${b.name} started this build, but ${why}: its outcome is unknown`, b, this.ledger.get(b.name, s.id)?.attempt));
    }
    for (const { suggestion, by } of plan.superseded) {
      given.push(this.giveVerdict(b.name, suggestion, 'superseded', `superseded by ${by.id} for the same project and branch while builder ${b.name} was away`, b));
    }
    for (const s of plan.refused) {
      given.push(this.giveVerdict(b.name, s, 'refused', `not replayed: builder ${b.name} was owed more than ${MAX_REPLAY} builds when it came back, and only the newest ${MAX_REPLAY} were sent`, b));
    }
    for (const s of plan.send) this.ledger.offered(b.name, s);
    const buffered = new Set(b.buffer.map((s) => s.seq));
    const bufferedThen = b.buffer.length;
    // (Live suggestions made meanwhile join the buffer after bufferedThen.) Their deliveries are in the record before any is sent: a report for one is then known to come from the
    // builder it was offered to, also after a crash right after the send.
    if (plan.send.length) {
      await this.commits.flush();
      if (this.roster.get(b.name) !== b) return;
    }
    const order = (s: StoredSuggestion, replayed: boolean): string => encode(s.one ? oneOrder(s, replayed) : {
      type: 'suggest', id: s.id, seq: s.seq, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}), ...(replayed ? { replayed: true } : {}),
    });
    // Oldest first, a batch per turn; live suggestions made meanwhile keep waiting in the buffer, and go right after.
    for (let i = 0; i < plan.send.length; i++) {
      if (i > 0 && i % REPLAY_BATCH === 0) {
        await new Promise<void>((r) => setImmediate(r));
        if (this.roster.get(b.name) !== b) return; // gone: what was not sent is still offered, so owed when it is back
      }
      const s = plan.send[i]!;
      b.peer.sendLine(order(s, !buffered.has(s.seq)));
    }
    for (const s of b.buffer.slice(bufferedThen)) b.peer.sendLine(order(s, false));
    let head = owed.head;
    for (const s of [...plan.send, ...b.buffer]) head = Math.max(head, s.seq);
    b.buffer = [];
    b.live = true;
    // `synced` lets the builder's cursor pass every place up to head, those it was never sent included: the
    // verdicts this master gave for them must be in the record first, or a crash in between leaves them open for
    // good (the chaos suite found one: a superseded verdict lost, the builder's cursor already past it).
    await Promise.all(given);
    if (this.roster.get(b.name) !== b) return;
    b.peer.send({ type: 'synced', seq: head });
    this.dispatch.schedule(); // live now: it may take a queued order
    if (b.cancels) for (const c of this.cancelsOwed.take(b.name)) b.peer.send({ type: 'cancel', ...c });
    const sent = plan.send.filter((s) => !buffered.has(s.seq)).map((s) => s.id);
    if (sent.length || plan.superseded.length || plan.lost.length || plan.refused.length) {
      this.events.emit({
        type: 'replay', builder: b.name, sent, superseded: plan.superseded.map((x) => x.suggestion.id), lost: plan.lost.map((s) => s.id),
        refused: plan.refused.map((s) => s.id),
      });
    }
  }

  private async suggest(from: SuggesterSession, msg: SuggestRequest, group?: EachGroup): Promise<void> {
    const ref = msg.ref !== undefined ? { ref: msg.ref } : {};
    if (!group && !from.bucket.take()) {
      this.notices.warn(from.peer.address, 'rate-limited', 'suggestion refused: rate limit', { address: from.peer.remote });
      from.peer.send({ type: 'error', message: `rate limit: at most ${this.options.suggestRate} suggestions per second from one address (burst ${this.options.suggestBurst})`, ...ref });
      return;
    }
    if (msg.notify !== undefined) {
      const refusal = this.options.notifyRefusal ? this.options.notifyRefusal() : NO_NOTIFY_FILE;
      if (refusal !== undefined) return void from.peer.send({ type: 'error', message: `cannot mail ${msg.notify}: ${refusal}`, code: 'no-notify', ...ref });
    }
    const selector = msg.on !== undefined ? this.selectorOf(msg.on) : undefined;
    let chosen: Targeting | undefined;
    if (msg.builder !== undefined && !this.roster.get(msg.builder) && !this.lastSeen.has(msg.builder)) {
      return void from.peer.send({ type: 'error', message: `no builder named ${msg.builder} is known to this master`, code: 'no-match', ...ref });
    }
    if (msg.rerunOf !== undefined && !(await this.known(msg.rerunOf))) {
      return void from.peer.send({ type: 'error', message: `rerunOf: no such suggestion: ${msg.rerunOf}`, code: 'not-found', ...ref });
    }
    if (selector || msg.dryRun || msg.one || msg.each !== undefined) {
      chosen = this.targeting(msg.project, selector, msg.one === true || msg.each !== undefined, msg.builder);
      if (msg.dryRun) {
        const cut = (list: string[]): string[] => list.slice(0, MAX_LISTED_BUILDERS);
        from.peer.send({
          type: 'dry-run', ...ref, project: msg.project, branch: msg.branch, builders: cut(chosen.now), later: cut(chosen.later),
          misses: chosen.misses.slice(0, MAX_LISTED_BUILDERS).map((m) => ({ builder: m.builder, why: m.why })),
        });
        return;
      }
      // A selector nobody known matches would wait for ever: refused at once, naming the closest misses.
      if (chosen.now.length + chosen.later.length === 0) {
        from.peer.send({ type: 'error', message: noMatchMessage(msg.on, chosen, msg.project), code: 'no-match', ...ref });
        return;
      }
      if (msg.each !== undefined) return this.suggestEach(from, msg, [...chosen.now, ...chosen.later]);
    }
    const now = this.now();
    let id = newSuggestionId(now);
    while (this.recentIds.has(id)) id = newSuggestionId(now);
    this.recentIds.add(id);
    if (this.recentIds.size > 10_000) this.recentIds.delete(this.recentIds.values().next().value!);
    let s: StoredSuggestion;
    // Who gets it is written with it: a report for it is then taken only from a builder it was offered to, also
    // after a crash between the offer and the next commit.
    const takers = (msg.one ? [] : selector ? chosen!.now : this.roster.takers(msg.project)).filter((b) => msg.builder === undefined || b === msg.builder);
    try {
      s = await this.commits.suggestion({
        id, project: msg.project, branch: msg.branch, ...(msg.revision ? { revision: msg.revision } : {}), from: from.name, createdAt: now, offeredTo: takers,
        ...(msg.on !== undefined ? { on: msg.on } : {}), ...(msg.notify !== undefined ? { notify: msg.notify } : {}),
        ...(msg.one ? { one: { retries: msg.retries ?? DEFAULT_RETRIES } } : {}),
        ...(msg.rerunOf !== undefined ? { rerunOf: msg.rerunOf } : {}), ...(msg.builder !== undefined ? { builder: msg.builder } : {}),
      });
      // Queued in the same commit as the suggestion: a master that dies after accepting it finds it waiting at start.
      if (msg.one) void this.commits.queue({ id, queued: true, attempt: 1, at: now });
    } catch (err) {
      from.peer.send({ type: 'error', message: `could not record the suggestion: ${(err as Error).message}`, ...ref });
      return;
    }
    const build = { project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}) };
    if (s.one) return this.suggestedOne(from, s, msg.follow ?? false, ref, group);
    const names = this.roster.offer(s, encode({ type: 'suggest', id: s.id, seq: s.seq, ...build }), selector || s.builder !== undefined ? (b) => this.fits(b, s) : undefined);
    const recorded = new Set(takers);
    this.ledger.offeredTo(names, s, recorded);
    // A builder that went away while the suggestion was being committed has its offered delivery in the record:
    // the ledger holds it too, so it is offered again when the builder is back or lost after the window, never left open.
    const got = new Set(names);
    for (const name of takers) if (!got.has(name)) this.ledger.offered(name, s);
    this.events.emit({ type: 'suggestion', suggestion: s, builders: names });
    if (this.peers.get(from.peer) !== from) return; // the suggester left; the suggestion stands
    this.watchers.watch(from.peer, s, names, msg.follow ?? false);
    from.peer.send({
      type: 'accepted', ...ref, id: s.id, seq: s.seq, ...build,
      count: names.length, builders: names.length > MAX_LISTED_BUILDERS ? names.slice(0, MAX_LISTED_BUILDERS) : names,
    });
  }

  /** Whether the record has suggestion `id` (false also when it cannot be read: the caller refuses). */
  private async known(id: string): Promise<boolean> {
    try {
      return (await this.store.suggestion(id)) !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * `each LABEL`: one `one` suggestion per distinct value of the label among the builders that can build it, each
   * with the selector narrowed to that value (so each is queued, dispatched and retried on its own).
   */
  private async suggestEach(from: SuggesterSession, msg: SuggestRequest, able: string[]): Promise<void> {
    const label = msg.each!;
    const values = [...new Set(able.map((name) => this.labelsOf(name)[label]).filter((v): v is string => v !== undefined))].sort();
    const ref = msg.ref !== undefined ? { ref: msg.ref } : {};
    if (values.length === 0) {
      return void from.peer.send({ type: 'error', message: `no builder that can build ${msg.project} has the label ${label} (--each ${label})`, code: 'no-match', ...ref });
    }
    const narrowed = (v: string): string => (msg.on !== undefined ? `(${msg.on}) && ${label}=${v}` : `${label}=${v}`);
    const long = values.find((v) => narrowed(v).length > MAX_SELECTOR_CHARS);
    if (long !== undefined) return void from.peer.send({ type: 'error', message: `--each ${label}: the selector for ${label}=${long} is longer than ${MAX_SELECTOR_CHARS} characters`, ...ref });
    const { each: _e, ...rest } = msg;
    await Promise.all(values.map((value) => this.suggest(from, { ...rest, one: true, on: narrowed(value) }, { label, value, of: values.length })));
  }

  /** A builder's labels as a selector sees them (`script:*` included): connected, away, or as the record last had them. */
  private labelsOf(name: string): Labels {
    const b = this.roster.get(name);
    if (b) return (b.view ??= withScripts(b.labels, b.projects));
    const away = this.roster.awayOf(name);
    return away ? withScripts(away.labels, away.projects) : this.recordLabels.get(name) ?? {};
  }

  /** A `one` suggestion in the record: given to a free builder now, or waiting; the suggester hears which. */
  private suggestedOne(from: SuggesterSession, s: StoredSuggestion, follow: boolean, ref: { ref?: string }, group?: EachGroup): void {
    // Watched before it can go anywhere: an order given at once is followed from its start.
    const here = this.peers.get(from.peer) === from;
    if (here) this.watchers.watchOne(from.peer, s, follow);
    const to = this.dispatch.add(s);
    this.events.emit({ type: 'suggestion', suggestion: s, builders: to !== undefined ? [to] : [] });
    if (!here) return;
    const build = { project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}) };
    from.peer.send({
      type: 'accepted', ...ref, id: s.id, seq: s.seq, ...build, count: 1, builders: to !== undefined ? [to] : [],
      ...(to === undefined ? { queued: this.dispatch.ahead(s.id) ?? 0 } : {}), ...(group ? { each: group } : {}),
    });
  }

  /** A selector's tree, parsed once (the schema has checked it parses). */
  private selectorOf(text: string): Selector {
    let tree = this.parsed.get(text);
    if (!tree) {
      tree = parseSelector(text);
      if (this.parsed.size >= MAX_PARSED) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(text, tree);
    }
    return tree;
  }

  /** Whether a suggestion goes to this builder by its selector: none, or its labels match and it has the script. */
  private fits(b: BuilderSession, s: StoredSuggestion): boolean {
    if (s.builder !== undefined && b.name !== s.builder) return false;
    if (s.on === undefined) return true;
    if (!b.projects.has(s.project)) return false;
    b.view ??= withScripts(b.labels, b.projects);
    return matches(this.selectorOf(s.on), b.view);
  }

  /**
   * Who a suggestion would go to: with a selector, by its labels among the builders known (connected, or seen within
   * the replay window); without one, as always (every connected builder that takes the project, the others when back).
   * With `only` (a rerun's --builder), that builder alone; the others are misses.
   */
  private targeting(project: string, selector: Selector | undefined, one = false, only?: string): Targeting {
    const chosen = this.targetingAll(project, selector, one);
    if (only === undefined) return chosen;
    const others = [...chosen.now, ...chosen.later].filter((n) => n !== only);
    return {
      now: chosen.now.filter((n) => n === only), later: chosen.later.filter((n) => n === only),
      misses: [...chosen.misses, ...others.map((n) => ({ builder: n, why: `not builder ${only}`, distance: 1 }))],
    };
  }

  /** targeting() for every builder, before a rerun's `only` is applied. */
  private targetingAll(project: string, selector: Selector | undefined, one: boolean): Targeting {
    const now = this.now();
    const known: Candidate[] = [];
    for (const b of this.roster.all()) known.push({ name: b.name, connected: true, labels: (b.view ??= withScripts(b.labels, b.projects)) });
    for (const [name, seen] of this.lastSeen) {
      if (this.roster.get(name) || now - seen > this.options.replayWindowMs) continue;
      const away = this.roster.awayOf(name);
      known.push({ name, connected: false, labels: away ? withScripts(away.labels, away.projects) : this.recordLabels.get(name) ?? {} });
    }
    // To one builder, it must have the script: one without it could only answer no-script.
    if (selector || one) return target(project, selector, known);
    const takes = (c: Candidate): boolean => {
      const b = this.roster.get(c.name);
      const away = this.roster.awayOf(c.name);
      return b ? this.roster.takes(b, project) : !away?.ignoreUnknown || away.projects.has(project);
    };
    return {
      now: known.filter((c) => c.connected && takes(c)).map((c) => c.name),
      later: known.filter((c) => !c.connected && takes(c)).map((c) => c.name),
      misses: known.filter((c) => !takes(c)).map((c) => ({ builder: c.name, why: `ignores projects it has no script for (no script ${project})`, distance: 1 })),
    };
  }

  /** The builder will not build this (no script, and it ignores unknown projects): recorded, acknowledged, and a waiter hears of it. */
  private async skipped(b: BuilderSession, id: string): Promise<void> {
    // Not open (final already, or never ours): acknowledged at once, so the builder stops sending it.
    const recorded = this.ledger.get(b.name, id) ? await this.ledger.skipped(b.name, id) : true;
    if (recorded) b.peer.send({ type: 'ack', id });
  }

  /**
   * Stores a verdict the master gives for a builder, and resolves once it is in the record: `lost` when it did not
   * come back in time, `superseded` when a newer one was sent instead, `refused` when it was owed too many to replay.
   */
  private giveVerdict(builder: string, s: StoredSuggestion, verdict: 'lost' | 'superseded' | 'refused' | 'cancelled', message: string, seen?: { uname: Uname; node: string }, attempt = 1): Promise<void> {
    if (verdict === 'lost' && s.one) message += this.retryWords(s, builder, attempt);
    const report: StoredReport = {
      builder, id: s.id, seq: s.seq, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
      exitCode: -1, verdict, message, durationMs: 0, uname: seen?.uname ?? NO_UNAME, node: seen?.node ?? '',
      output: '', outputBytes: 0, outputCut: 0, receivedAt: this.now(),
    };
    // Out of the ledger at once, so a second sweep or replay does not give it twice while the commit is on its way.
    this.ledger.reported(builder, s.id);
    const stored = this.intake.verdict(report);
    if (verdict === 'lost' && s.one) this.dispatch.lost(s, builder, attempt);
    return stored;
  }

  /**
   * A `one` build lost with its builder goes to another one if it has retries left (the caller queues it in the
   * turn that commits the `lost`): what the report's message then says, and its waiter is told it is not the end.
   */
  private retryWords(s: StoredSuggestion, builder: string, attempt: number): string {
    const { again, of } = this.dispatch.retryOf(s, attempt);
    if (again) this.watchers.retrying(s.id, builder);
    return again ? `; offered to another builder (attempt ${attempt + 1} of ${of})` : of > 1 ? `; not offered again: that was attempt ${attempt} of ${of}` : '';
  }
}
