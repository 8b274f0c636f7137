// A builder's life: connect and reconnect to the master, take suggestions, run builds, spool and deliver every report.
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { formatAddress, type Address } from '../wire/address.js';
import { listProjects, resolveScript, watchProjects } from './buildscripts.js';
import { connectToMaster, type MasterConnection } from '../wire/dial.js';
import { branchProblem, projectProblem } from '../protocol/names.js';
import { MAX_CHUNK_CHARS } from '../protocol/limits.js';
import type { BuildOrder, FromMaster, Uname } from '../protocol/messages.js';
import { BuildQueue } from './queue.js';
import { Reconnector } from '../wire/reconnect.js';
import { Run } from '../exec/run.js';
import { RunningMarkers, survivors } from './leftovers.js';
import { Spool, type SpooledReport } from './spool.js';

export interface BuilderConfig {
  master: Address;
  name: string;
  scriptsDir: string;
  workDir: string;
  spoolDir: string;
  jobs: number;
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
}

/** This machine as the report describes it. */
export function localUname(): Uname {
  return { type: os.type(), release: os.release(), version: os.version(), machine: os.machine(), hostname: os.hostname() };
}

/** Splits text into pieces of at most `max` UTF-16 units without cutting a surrogate pair. */
export function splitText(text: string, max = MAX_CHUNK_CHARS): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + max);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(i, end));
    i = end;
  }
  return parts;
}

/** Environment variables that carry secrets of simplebb's own and never reach a build script. */
function scriptEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^SIMPLEBB_.*TOKEN/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const RECENT_IDS = 1000;
/** How long an unacknowledged report waits before it is sent again on the same connection. */
const RESEND_MS = 30_000;
/** Spooled reports are sent while less than this is waiting in the socket. */
const SPOOL_BACKLOG = 4 * 1024 * 1024;

export class Builder {
  private conn: MasterConnection | undefined;
  private readonly spool: Spool;
  private readonly markers: RunningMarkers;
  private readonly queue: BuildQueue;
  private readonly runs = new Map<string, Run>();
  private readonly recent: string[] = [];
  private readonly link: Reconnector;
  private announced: string[] = [];
  private projects: string[] = [];
  private watcher: { close(): Promise<void> } | undefined;
  private stopping = false;
  private readonly uname = localUname();
  private readonly waitingDrain = new Set<Run>();
  /** Spool writes still under way; the daemon does not exit before they are done. */
  private readonly writes = new Set<Promise<void>>();
  private intake: Promise<void> = Promise.resolve();
  private readonly sentAt = new Map<string, number>();
  private readonly resending = new Set<MasterConnection>();

  constructor(private readonly config: BuilderConfig, private readonly log: Logger) {
    this.spool = new Spool(config.spoolDir);
    this.markers = new RunningMarkers(config.spoolDir);
    this.link = new Reconnector(() => this.open(), (c) => this.up(c), (why, retryInMs) => {
      this.log.warn({ event: 'disconnected', reason: why, retryInMs }, `not connected to master: ${why}`);
    }, { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs });
    this.queue = new BuildQueue(config.jobs, (o) => this.build(o), (old, by) => this.supersede(old, by));
  }

  async start(): Promise<void> {
    await this.endLeftovers();
    await mkdir(this.config.scriptsDir, { recursive: true });
    this.projects = await listProjects(this.config.scriptsDir);
    this.watcher = watchProjects(this.config.scriptsDir, (projects) => {
      this.projects = projects;
      this.log.info({ event: 'projects', projects }, 'buildscripts changed');
      this.conn?.send({ type: 'projects', projects });
    });
    this.log.info({ event: 'starting', builder: this.config.name, master: formatAddress(this.config.master), projects: this.projects, spooled: this.spool.ids().length }, 'simplebb-clientd starting');
    this.link.start();
  }

  /** Ends the process groups of builds a previous clientd left running when it died, and reports them as failed. */
  private async endLeftovers(): Promise<void> {
    for (const m of this.markers.left()) {
      const pids = survivors(m.pid, m.id);
      if (pids.length) {
        try { process.kill(-m.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      this.remember(m.id);
      if (!this.spool.has(m.id)) {
        await this.finish({ type: 'suggest', id: m.id, project: m.project, branch: m.branch, ...(m.revision ? { revision: m.revision } : {}) }, {
          exitCode: -1, verdict: 'failure', startedAt: m.startedAt, durationMs: Math.max(0, Date.now() - m.startedAt), output: '', outputBytes: 0, outputCut: 0,
          message: `simplebb-clientd stopped during the build${pids.length ? `; killed ${pids.length} leftover process${pids.length === 1 ? '' : 'es'}` : ''}`,
        });
      }
      await this.markers.remove(m.id);
    }
  }

  /** Opens one connection to the master and says hello with what this builder knows now. */
  private open(): Promise<MasterConnection> {
    this.announced = this.projects;
    return connectToMaster(this.config.master, {
      role: 'builder', name: this.config.name, uname: this.uname, node: process.version,
      projects: this.announced, ignoreUnknown: this.config.ignoreUnknown, jobs: this.config.jobs,
      running: this.knownIds(),
    }, {
      timeoutMs: this.config.connectTimeoutMs, heartbeatMs: this.config.heartbeatMs,
      ...(this.config.token !== undefined ? { token: this.config.token } : {}), ...(this.config.tls ? { tls: this.config.tls } : {}),
    });
  }

  private up(conn: MasterConnection): void {
    this.conn = conn;
    this.log.info({ event: 'connected', master: formatAddress(this.config.master) }, 'connected to master');
    conn.on('message', (m) => this.onMessage(m));
    conn.on('invalid', (problem, fatal) => {
      this.log.warn({ event: 'invalid', problem }, 'invalid line from master');
      if (fatal) conn.destroy(problem);
    });
    const resumeAll = (): void => {
      for (const r of this.waitingDrain) r.resume();
      this.waitingDrain.clear();
    };
    conn.socket.on('drain', resumeAll);
    // A report the master did not acknowledge (it could not store it, say) is offered again while we stay connected.
    const resend = setInterval(() => {
      const now = Date.now();
      void this.resendSpool(conn, (id) => now - (this.sentAt.get(id) ?? 0) >= RESEND_MS);
    }, RESEND_MS / 2);
    resend.unref();
    conn.on('close', () => {
      clearInterval(resend);
      if (this.conn === conn) this.conn = undefined;
      resumeAll();
    });
    // The list may have changed while we were connecting.
    if (this.announced !== this.projects) conn.send({ type: 'projects', projects: this.projects });
    void this.resendSpool(conn);
  }

  /**
   * Sends spooled reports oldest first, one at a time as the socket drains: a spool of hundreds of MiB must not
   * pile up in our own send buffer (the connection would be cut as a slow peer and the spool never shrink).
   */
  private async resendSpool(conn: MasterConnection, due: (id: string) => boolean = () => true): Promise<void> {
    if (this.resending.has(conn)) return;
    this.resending.add(conn);
    let sent = 0;
    try {
      for (const id of this.spool.ids()) {
        if (!conn.isOpen) return;
        if (!due(id) || !this.spool.has(id)) continue;
        const r = this.spool.read(id);
        if (!r) {
          // Logged once per clientd run, not on every pass of the resend timer; tried again every RESEND_MS.
          if (!this.sentAt.has(id)) this.log.error({ event: 'spool-unreadable', id }, 'spooled report could not be read; left in place');
          this.sentAt.set(id, Date.now());
          continue;
        }
        this.sendReport(conn, r);
        sent++;
        while (conn.isOpen && conn.backlog > SPOOL_BACKLOG) await new Promise<void>((res) => setTimeout(res, 20));
      }
    } finally {
      this.resending.delete(conn);
      if (sent) this.log.info({ event: 'resent', count: sent }, 'resent unacknowledged reports');
    }
  }

  private sendReport(conn: MasterConnection, r: SpooledReport): void {
    this.sentAt.set(r.id, Date.now());
    const { output, ...fields } = r;
    const parts = output ? splitText(output) : [];
    for (const data of parts) conn.send({ type: 'report-output', id: r.id, data });
    conn.send({ type: 'report', ...fields, outputChunks: parts.length });
  }

  private onMessage(m: FromMaster): void {
    switch (m.type) {
      case 'suggest':
        // One at a time, in arrival order, so that coalescing keeps the newest.
        this.intake = this.intake.then(() => this.onSuggest(m));
        return;
      case 'ack':
        this.sentAt.delete(m.id);
        this.spool.remove(m.id).catch((err: Error) => this.log.error({ event: 'spool-failed', id: m.id, error: err.message }, 'could not remove an acknowledged report'));
        return;
      case 'error':
        this.log.warn({ event: 'master-error', message: m.message }, `master says: ${m.message}`);
        return;
      default:
        return;
    }
  }

  /** Ids this builder has seen lately: queued, running, spooled or recently done. */
  private knownIds(): string[] {
    return [...new Set([...this.queue.ids(), ...this.spool.ids(), ...this.recent])].slice(-1024);
  }

  private remember(id: string): void {
    this.recent.push(id);
    if (this.recent.length > RECENT_IDS) this.recent.shift();
  }

  private async onSuggest(order: BuildOrder): Promise<void> {
    if (this.stopping) return;
    if (this.recent.includes(order.id) || this.spool.has(order.id) || this.queue.ids().includes(order.id)) return;
    this.remember(order.id);
    const nameProblem = projectProblem(order.project) ?? branchProblem(order.branch);
    const lookup = nameProblem ? { ok: false as const, problem: nameProblem } : await resolveScript(this.config.scriptsDir, order.project);
    if (!lookup.ok) {
      if (this.config.ignoreUnknown) {
        this.log.info({ event: 'ignored', id: order.id, project: order.project, problem: lookup.problem }, 'suggestion ignored');
        this.conn?.send({ type: 'skipped', id: order.id });
        return;
      }
      this.log.warn({ event: 'no-script', id: order.id, project: order.project, problem: lookup.problem }, lookup.problem);
      await this.finish(order, { exitCode: -1, verdict: 'no-script', message: lookup.problem, durationMs: 0, output: '', outputBytes: 0, outputCut: 0 });
      return;
    }
    this.log.info({ event: 'queued', id: order.id, project: order.project, branch: order.branch, replayed: order.replayed ?? false }, 'build queued');
    this.queue.push(order);
  }

  private supersede(old: BuildOrder, by: BuildOrder): void {
    this.log.info({ event: 'superseded', id: old.id, by: by.id }, 'queued build superseded');
    void this.finish(old, {
      exitCode: -1, verdict: 'superseded', message: `superseded by ${by.id} for the same project and branch`,
      durationMs: 0, output: '', outputBytes: 0, outputCut: 0,
    });
  }

  private async build(order: BuildOrder): Promise<void> {
    const lookup = await resolveScript(this.config.scriptsDir, order.project);
    if (!lookup.ok && this.config.ignoreUnknown) {
      this.conn?.send({ type: 'skipped', id: order.id });
      return;
    }
    if (!lookup.ok) {
      await this.finish(order, { exitCode: -1, verdict: 'no-script', message: lookup.problem, durationMs: 0, output: '', outputBytes: 0, outputCut: 0 });
      return;
    }
    const workDir = join(this.config.workDir, order.project);
    try {
      await mkdir(workDir, { recursive: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      await this.finish(order, {
        exitCode: -1, verdict: 'failure', message: `cannot create the work dir ${workDir}: ${e.code ?? e.message}`,
        durationMs: 0, output: '', outputBytes: 0, outputCut: 0,
      });
      return;
    }
    const env = scriptEnv({
      SIMPLEBB_PROJECT: order.project, SIMPLEBB_BRANCH: order.branch, SIMPLEBB_BUILD_ID: order.id,
      ...(order.revision ? { SIMPLEBB_REVISION: order.revision } : {}),
    });
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const run: Run = new Run(
      { script: lookup.path, branch: order.branch, workDir, env, timeoutMs: this.config.timeoutMs, killGraceMs: this.config.killGraceMs },
      (stream, chunk) => {
        const ok = this.sendOutput(order.id, stream, decoders[stream].decode(chunk, { stream: true }));
        if (!ok) this.waitingDrain.add(run);
        return ok;
      },
    );
    this.runs.set(order.id, run);
    if (run.pid !== undefined) {
      try {
        this.markers.add(order, run.pid, run.startedAt);
      } catch (err) {
        this.log.warn({ event: 'marker-failed', id: order.id, error: (err as Error).message }, 'could not write the running marker');
      }
    }
    this.log.info({ event: 'started', id: order.id, project: order.project, branch: order.branch, revision: order.revision }, 'build started');
    this.conn?.send({ type: 'started', id: order.id, startedAt: run.startedAt });
    const result = await run.result;
    this.waitingDrain.delete(run);
    for (const stream of ['stdout', 'stderr'] as const) this.sendOutput(order.id, stream, decoders[stream].decode());
    // Spooled before the marker goes, so a crash in between cannot lose the report.
    await this.finish(order, result);
    await this.markers.remove(order.id).catch(() => undefined);
    this.runs.delete(order.id);
  }

  /** Sends live output if connected (with no link it is dropped; the report keeps it); false when the socket wants a pause. */
  private sendOutput(id: string, stream: 'stdout' | 'stderr', text: string): boolean {
    const conn = this.conn;
    if (!conn || !text) return true;
    let ok = true;
    for (const data of splitText(text)) ok = conn.send({ type: 'output', id, stream, data }) && ok;
    return ok;
  }

  /** Spools the report, then sends it if connected; the spool copy stays until the master acknowledges it. */
  private async finish(order: BuildOrder, result: Omit<SpooledReport, 'id' | 'project' | 'branch' | 'revision' | 'uname' | 'node'>): Promise<void> {
    const report: SpooledReport = {
      id: order.id, project: order.project, branch: order.branch, ...(order.revision ? { revision: order.revision } : {}),
      ...result, uname: this.uname, node: process.version,
    };
    const write = this.spool.write(report);
    this.writes.add(write);
    try {
      await write;
    } catch (err) {
      this.log.error({ event: 'spool-failed', id: order.id, error: (err as Error).message }, 'could not spool report; sending it anyway');
    } finally {
      this.writes.delete(write);
    }
    this.log.info({ event: 'finished', id: order.id, project: order.project, branch: order.branch, verdict: report.verdict, exitCode: report.exitCode, durationMs: report.durationMs }, 'build finished');
    if (this.conn) this.sendReport(this.conn, report);
  }

  /** Takes no new suggestions, lets running builds finish within the grace period, kills the rest, and waits until every report is spooled. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.link.stop();
    const dropped = this.queue.close();
    if (dropped.length) this.log.info({ event: 'dropped', ids: dropped.map((o) => o.id) }, 'queued builds dropped at shutdown');
    await this.watcher?.close();
    const running = [...this.runs.values()];
    if (running.length) {
      this.log.info({ event: 'draining', running: running.length, graceMs: this.config.shutdownGraceMs }, 'waiting for running builds');
      const all = Promise.all(running.map((r) => r.result));
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), this.config.shutdownGraceMs).unref());
      if ((await Promise.race([all, timer])) === 'late') {
        for (const r of running) r.abort('builder shutting down: build killed after the shutdown grace period');
      }
      await all;
    }
    // Let the build() continuations spool their reports.
    for (let i = 0; i < 300 && (this.runs.size > 0 || this.writes.size > 0); i++) {
      await Promise.all([...this.writes]);
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.waitForAcks(2000);
    this.conn?.close('shutting down');
    this.log.info({ event: 'stopped', spooled: this.spool.ids().length }, 'simplebb-clientd stopped');
  }

  private async waitForAcks(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.conn && this.spool.ids().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }
}
