// A builder's life: its state dir, its link to the master, the intake of orders into its inbox, its queue, its builds, its reports.
import { join } from 'node:path';
import os from 'node:os';
import type { Logger } from 'pino';
import type { BuildOrder, FromMaster, Uname } from '../protocol/messages.js';
import { branchProblem, projectProblem } from '../protocol/names.js';
import { formatAddress } from '../wire/address.js';
import type { MasterSpec } from '../wire/whichMaster.js';
import type { HelloFields } from '../wire/dial.js';
import { MAX_RECEIVED_IDS } from '../protocol/limits.js';
import { formatLabels, withScripts, type Labels } from '../protocol/labels.js';
import { listProjects, resolveScript, watchProjects } from './buildscripts.js';
import { builderLabels } from './labels.js';
import { watchLabelsFile } from './labelsFile.js';
import { Executor, notRun, type Finished, type Outcome } from './execute.js';
import { Inbox } from './inbox.js';
import { Link } from './link.js';
import { Outbox } from './outbox.js';
import { BuildQueue } from './queue.js';
import { legacyMarkers, SET_ASIDE, takeStock } from './recovery.js';
import { adoptSpool } from './spool.js';
import { openState, type StateDir } from './state.js';

export interface BuilderConfig {
  /** The master, or `auto`: found by DNS-SD before each connection attempt. */
  master: MasterSpec;
  name: string;
  scriptsDir: string;
  workDir: string;
  /** Inbox journal (orders and reports) and identity: this builder's alone, locked while clientd runs. */
  stateDir: string;
  jobs: number;
  /** The most orders waiting to be built; an order for another project and branch beyond it is reported `refused`. */
  maxQueued: number;
  timeoutMs: number;
  killGraceMs: number;
  shutdownGraceMs: number;
  heartbeatMs: number;
  ignoreUnknown: boolean;
  connectTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** The builder role's shared secret. */
  token?: string;
  tls?: { ca?: Buffer };
  /** The operator's labels (`--label`, SIMPLEBB_LABELS); the discovered ones fill in the rest. */
  labels: Labels;
  /** A file of KEY=VALUE lines, read at start and again whenever it changes: labels that change without a restart. */
  labelsFile?: string;
}

/** This machine as the report describes it. */
export function localUname(): Uname {
  return { type: os.type(), release: os.release(), version: os.version(), machine: os.machine(), hostname: os.hostname() };
}

export class Builder {
  private state!: StateDir;
  private inbox!: Inbox;
  private link!: Link;
  private outbox!: Outbox;
  private executor!: Executor;
  private readonly queue: BuildQueue;
  private projects: string[] = [];
  private announced: string[] = [];
  private announcedLabels: Labels | undefined;
  private watcher: { close(): Promise<void> } | undefined;
  private labelsWatcher: { close(): Promise<void> } | undefined;
  /** Its labels without `script:*` (those follow the projects), as last announced or to be announced. */
  private labels: Labels = {};
  private stopping = false;
  private readonly uname = localUname();
  /** Orders (and `synced`) that arrived this turn on connection `gen`, written to the inbox together. */
  private arrivals: { store: string; gen: number; orders: BuildOrder[]; synced?: number } | undefined;
  /** Received orders being sorted and written to the inbox, batch after batch in arrival order; a new connection's hello waits for them (its cursor must include them). */
  private intake: Promise<void> = Promise.resolve();
  /** Builds under way and reports being spooled: stop() waits for them. */
  private readonly work = new Set<Promise<void>>();

  constructor(private readonly config: BuilderConfig, private readonly log: Logger) {
    this.queue = new BuildQueue(config.jobs, config.maxQueued, (o) => this.track(this.build(o)), (old, by) => this.supersede(old, by), (o, by) => this.refuse(o, by));
  }

  async start(): Promise<void> {
    this.state = await openState(this.config.stateDir, this.config.name);
    const opened = Inbox.open(this.state.dir);
    this.inbox = opened.inbox;
    if (opened.skipped) this.log.warn({ event: 'inbox-lines-skipped', count: opened.skipped }, 'unreadable lines in the inbox journal were skipped');
    const spooled = await adoptSpool(this.state.dir, this.config.name, this.inbox);
    if (spooled.foreign.length) this.log.error({ event: 'spool-foreign', ids: spooled.foreign }, 'spooled reports of another builder were set aside in the foreign/ dir');
    if (spooled.unreadable.length) this.log.error({ event: 'spool-unreadable', files: spooled.unreadable }, 'spooled report files of an earlier clientd could not be read; left in place');
    this.link = new Link(this.config, (store, takes, dispatches, cancels) => this.hello(store, takes, dispatches, cancels), this.log, () => this.received());
    this.outbox = new Outbox(this.inbox, this.link, this.log);
    this.executor = new Executor(this.config, this.inbox, this.link, this.log);
    this.link.on('message', (m, store) => this.onMessage(m, store));
    this.link.on('up', () => {
      // The list may have changed while we were connecting.
      if (this.announced !== this.projects) this.link.send({ type: 'projects', projects: this.projects });
      if (this.announcedLabels !== this.labels && this.link.takesLabels) this.link.send({ type: 'labels', labels: this.labels });
    });
    this.labels = builderLabels(this.config.labels);
    if (this.config.labelsFile) {
      this.labelsWatcher = await watchLabelsFile(this.config.labelsFile, (fromFile, problem) => {
        if (problem) return void this.log.warn({ event: 'labels-file', file: this.config.labelsFile, problem }, `labels file not used: ${problem}`);
        this.labels = builderLabels({ ...fromFile, ...this.config.labels });
        this.log.info({ event: 'labels', labels: this.labels }, 'labels changed');
        if (this.link.takesLabels) {
          this.announcedLabels = this.labels;
          this.link.send({ type: 'labels', labels: this.labels });
        }
      }, (initial) => { this.labels = builderLabels({ ...initial, ...this.config.labels }); });
    }

    await this.recover();
    this.projects = await listProjects(this.config.scriptsDir);
    this.watcher = watchProjects(this.config.scriptsDir, (projects) => {
      this.projects = projects;
      this.log.info({ event: 'projects', projects }, 'buildscripts changed');
      this.link.send({ type: 'projects', projects });
    });
    const left = takeStock(this.config.name, this.inbox);
    this.log.info({
      event: 'starting', builder: this.config.name, master: this.config.master === 'auto' ? 'auto (DNS-SD)' : formatAddress(this.config.master), projects: this.projects, labels: formatLabels(this.labels),
      spooled: this.inbox.reportCount, queued: left.toBuild.length, instance: this.state.instance,
    }, 'simplebb-clientd starting');
    this.intake = (async () => { for (const { order, lookup } of await this.sort(left.toBuild)) this.act(order, lookup); })();
    this.outbox.start();
    this.link.start();
  }

  /** Reports builds a dead clientd began and never finished as lost: their exit status was never seen. */
  private async recover(): Promise<void> {
    const left = takeStock(this.config.name, this.inbox);
    const legacy = await legacyMarkers(this.state.dir, this.inbox);
    if (legacy.invalid.length) this.log.warn({ event: 'marker-invalid', files: legacy.invalid, dir: join(this.state.dir, SET_ASIDE) }, 'malformed running-build markers were set aside, not acted on');
    for (const { order, killed, startedAt } of [...left.unknown, ...legacy.ended]) {
      const also = killed ? `; killed ${killed} leftover process${killed === 1 ? '' : 'es'}` : '';
      this.log.warn({ event: 'lost', id: order.id, project: order.project, killed }, 'a build of the previous clientd was left unfinished');
      const when = startedAt !== undefined ? { startedAt, durationMs: Math.max(0, Date.now() - startedAt) } : {};
      await this.finish(order, notRun('lost', `simplebb-clientd stopped while this build ran, so its exit status is unknown${also}`, when));
    }
  }

  /** What this builder says in its hello to the master whose record is `store`. */
  private hello(store: string, takesLabels: boolean, dispatches: boolean, sendsCancel: boolean): HelloFields {
    this.announced = this.projects;
    if (takesLabels) this.announcedLabels = this.labels;
    const seq = this.inbox.cursor(store);
    return {
      role: 'builder', name: this.config.name, instance: this.state.instance, uname: this.uname, node: process.version,
      projects: this.announced, ignoreUnknown: this.config.ignoreUnknown, jobs: this.config.jobs,
      ...(seq !== undefined ? { cursor: { store, seq } } : {}), ...(takesLabels ? { labels: this.labels } : {}), ...(dispatches ? { ids: true } : {}),
      // An older master refuses a key it does not know: said only to one whose greeting says it sends `cancel`.
      ...(sendsCancel ? { cancel: true } : {}),
    };
  }

  /** Its labels as a selector sees them, `script:*` included (for --check and tests). */
  currentLabels(): Labels {
    return withScripts(this.labels, this.projects);
  }

  private onMessage(m: FromMaster, store: string): void {
    switch (m.type) {
      case 'suggest':
      case 'synced': {
        if (this.stopping) return;
        if (this.arrivals && (this.arrivals.store !== store || this.arrivals.gen !== this.link.generation)) this.takeArrivals();
        if (!this.arrivals) {
          this.arrivals = { store, gen: this.link.generation, orders: [] };
          setImmediate(() => this.takeArrivals());
        }
        if (m.type === 'suggest') this.arrivals.orders.push(m);
        else this.arrivals.synced = Math.max(this.arrivals.synced ?? 0, m.seq);
        return;
      }
      case 'cancel':
        // After the orders that came before it are in the inbox and taken: the order it names may be one of them.
        this.takeArrivals();
        this.intake = this.intake.then(() => this.cancel(m.id, m.reason))
          .catch((err: Error) => this.log.error({ event: 'internal-error', error: err.message }, 'unexpected error cancelling a build'));
        return;
      case 'error':
        this.log.warn({ event: 'master-error', message: m.message }, `master says: ${m.message}`);
        return;
      default:
        return;
    }
  }

  /**
   * Sorts what arrived (which can be built, which start at once), writes it to the inbox with those builds' begins
   * (one fsync), tells the master on the connection it came on how far it has it, and then takes each new order in
   * arrival order (so coalescing keeps the newest). Batches follow one another.
   */
  private takeArrivals(): void {
    const a = this.arrivals;
    if (!a) return;
    this.arrivals = undefined;
    this.intake = this.intake.then(async () => {
      const sorted = await this.sort(this.inbox.fresh(a.orders));
      const now = Date.now();
      const begins = new Map([...this.queue.startable(sorted.filter((s) => s.lookup.ok).map((s) => s.order))].map((id) => [id, now]));
      try {
        await this.inbox.receive(a.orders, a.store, a.synced, begins);
      } catch (err) {
        // Not on disk, so not confirmed: the master offers them again when we reconnect.
        this.log.error({ event: 'inbox-failed', error: (err as Error).message }, 'could not write received orders to the inbox; reconnecting');
        this.link.close('inbox write failed');
        return;
      }
      const upTo = a.orders.reduce((max, o) => Math.max(max, o.seq), a.synced ?? 0); // no spread: a batch can be long
      if (this.link.generation === a.gen) {
        // Dispatched (`one`) orders are named: one can be older than what the inbox has, so its place says nothing.
        const ones = a.orders.filter((o) => o.one).map((o) => o.id);
        this.link.send({ type: 'received', seq: upTo, ...(ones.length ? { ids: ones.slice(0, MAX_RECEIVED_IDS) } : {}) });
        for (let i = MAX_RECEIVED_IDS; i < ones.length; i += MAX_RECEIVED_IDS) this.link.send({ type: 'received', seq: upTo, ids: ones.slice(i, i + MAX_RECEIVED_IDS) });
      }
      for (const { order, lookup } of sorted) this.act(order, lookup);
    }).catch((err: Error) => this.log.error({ event: 'internal-error', error: err.message }, 'unexpected error taking orders'));
  }

  /** Settles once every order received so far is on disk: a hello's cursor then covers it. */
  private received(): Promise<void> {
    this.takeArrivals();
    return this.intake;
  }

  /** Which orders can be built here: their names and scripts, looked up together. */
  private async sort(orders: BuildOrder[]): Promise<Array<{ order: BuildOrder; lookup: { ok: true } | { ok: false; problem: string } }>> {
    return Promise.all(orders.map(async (order) => {
      const nameProblem = projectProblem(order.project) ?? branchProblem(order.branch);
      const lookup = nameProblem ? { ok: false as const, problem: nameProblem } : resolveScript(this.config.scriptsDir, order.project);
      return { order, lookup };
    }));
  }

  /** An order on disk: queued (in the order taken), skipped or reported as not buildable. */
  private act(order: BuildOrder, lookup: { ok: true } | { ok: false; problem: string }): void {
    if (lookup.ok) {
      this.log.info({ event: 'queued', id: order.id, project: order.project, branch: order.branch, replayed: order.replayed ?? false }, 'build queued');
      if (this.queue.push(order) === 'closed' && this.inbox.begun(order.id)) {
        // Noted as beginning with its receipt, but clientd began to stop first: it never ran, and says so.
        this.track(this.finish(order, notRun('failure', 'builder shutting down: build not started')));
      }
    } else if (this.config.ignoreUnknown) {
      this.log.info({ event: 'ignored', id: order.id, project: order.project, problem: lookup.problem }, 'suggestion ignored');
      this.track(this.outbox.skip(order.id));
    } else {
      this.log.warn({ event: 'no-script', id: order.id, project: order.project, problem: lookup.problem }, lookup.problem);
      this.track(this.finish(order, notRun('no-script', lookup.problem)));
    }
  }

  /**
   * The master cancelled build `id`: a running one is killed as its timeout kills it (its process group), one waiting
   * in the queue is dropped; either is reported `cancelled` with `reason`. One that has finished is left as it is.
   */
  private cancel(id: string, reason: string): void {
    if (this.executor.cancel(id, reason)) {
      this.log.info({ event: 'cancel', id, reason }, 'build cancelled: stopping it');
      return;
    }
    const queued = this.queue.remove(id);
    if (queued) {
      this.log.info({ event: 'cancel', id, reason }, 'queued build cancelled');
      this.track(this.finish(queued, notRun('cancelled', reason)));
      return;
    }
    this.log.info({ event: 'cancel-ignored', id }, 'cancel for a build not queued or running here (finished already, or never here)');
  }

  private supersede(old: BuildOrder, by: BuildOrder): void {
    this.log.info({ event: 'superseded', id: old.id, by: by.id }, 'queued build superseded');
    this.track(this.finish(old, notRun('superseded', `superseded by ${by.id} for the same project and branch`)));
  }

  /** An order the full queue will not hold: reported, so it is acknowledged and leaves the inbox like any other. */
  private refuse(order: BuildOrder, by?: BuildOrder): void {
    const { name, maxQueued } = this.config;
    this.log.warn({ event: 'refused', id: order.id, project: order.project, branch: order.branch, replayed: order.replayed ?? false, ...(by ? { by: by.id } : {}) }, 'queue full: build refused');
    const why = by
      ? `builder ${name}'s queue was full (--max-queued ${maxQueued}), and live order ${by.id} took the place of this replayed one`
      : `builder ${name}'s queue already held ${maxQueued} orders for other projects and branches (--max-queued ${maxQueued})`;
    this.track(this.finish(order, notRun('refused', `not built: ${why}`)));
  }

  private async build(order: BuildOrder): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.executor.execute(order);
    } catch (err) {
      // The inbox could not note the start: the build did not begin, and is not begun after a restart either.
      this.log.error({ event: 'inbox-failed', id: order.id, error: (err as Error).message }, 'could not note the build\'s start; not started');
      outcome = notRun('failure', `simplebb-clientd could not write to its state dir: ${(err as Error).message}`);
    }
    if (outcome.kind === 'skip') await this.outbox.skip(order.id);
    else if (outcome.kind === 'result') await this.finish(order, outcome);
    // kept: it had not begun when clientd began to stop; it stays in the inbox for the next start.
  }

  /** Keeps the report in the inbox journal and sends it; it stays there until the master acknowledges it. */
  private async finish(order: BuildOrder, outcome: Finished): Promise<void> {
    const r = outcome.result;
    await this.outbox.report({
      id: order.id, project: order.project, branch: order.branch, ...(order.revision ? { revision: order.revision } : {}),
      ...r, uname: this.uname, node: process.version,
    });
    this.log.info({ event: 'finished', id: order.id, project: order.project, branch: order.branch, verdict: r.verdict, exitCode: r.exitCode, durationMs: r.durationMs }, 'build finished');
  }

  /** Keeps `p` until it settles, so stop() can wait for it; its failure is logged, never thrown at the daemon. */
  private track(p: Promise<void>): Promise<void> {
    const t = p.catch((err: Error) => this.log.error({ event: 'internal-error', error: err.message }, 'unexpected error')).finally(() => this.work.delete(t));
    this.work.add(t);
    return t;
  }

  /**
   * Takes no new orders; running builds get the grace period, then are killed; waits until every report is
   * spooled (and, for a moment, acknowledged). Queued orders stay in the inbox and are built after a restart.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.link?.stop();
    const queued = this.queue.close();
    if (queued.length) this.log.info({ event: 'kept', ids: queued.map((o) => o.id) }, 'queued builds stay in the inbox for the next start');
    await this.watcher?.close();
    await this.labelsWatcher?.close();
    this.executor?.close();
    if (this.executor?.size) {
      this.log.info({ event: 'draining', running: this.executor.size, graceMs: this.config.shutdownGraceMs }, 'waiting for running builds');
      const late = new Promise<'late'>((r) => setTimeout(() => r('late'), this.config.shutdownGraceMs).unref());
      if ((await Promise.race([this.executor.drained(), late])) === 'late') {
        this.executor.abortAll('builder shutting down: build killed after the shutdown grace period');
      }
      await this.executor.drained();
    }
    await this.intake;
    while (this.work.size) await Promise.all([...this.work]);
    if (this.outbox) {
      await this.outbox.settled(2000);
      this.outbox.stop();
    }
    this.link?.close('shutting down');
    this.inbox?.close();
    this.state?.release();
    this.log.info({ event: 'stopped', spooled: this.inbox?.reportCount ?? 0 }, 'simplebb-clientd stopped');
  }
}
