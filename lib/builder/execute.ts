// One build on this builder: find its script, make its work dir, note durably that it begins, run it, stream its output.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { makeDir } from '../common/files.js';
import { Run, type BuildResult } from '../exec/run.js';
import type { BuildOrder } from '../protocol/messages.js';
import { resolveScript } from './buildscripts.js';
import { MAX_PAYLOAD_BYTES } from '../protocol/limits.js';
import type { Inbox } from './inbox.js';
import type { Link } from './link.js';

export interface ExecuteConfig {
  /** This builder's name, in every build's environment as SIMPLEBB_BUILDER. */
  name: string;
  scriptsDir: string;
  workDir: string;
  timeoutMs: number;
  killGraceMs: number;
  ignoreUnknown: boolean;
}

/**
 * What became of an order: a result to report; nothing to report because the builder ignores projects it lacks;
 * or nothing yet, because clientd is stopping and the build had not begun (it stays in the inbox for the next start).
 */
export type Outcome = Finished | { kind: 'skip' } | { kind: 'kept' };
export interface Finished { kind: 'result'; result: Omit<BuildResult, 'startedAt'> & { startedAt?: number } }

/** A result for an order that never ran. */
export function notRun(verdict: 'no-script' | 'failure' | 'superseded' | 'lost' | 'refused' | 'cancelled', message: string, extra: Partial<BuildResult> = {}): Finished {
  return { kind: 'result', result: { exitCode: -1, verdict, message, durationMs: 0, output: '', outputBytes: 0, outputCut: 0, ...extra } };
}

/** Environment variables that carry secrets of simplebb's own never reach a build script. */
function scriptEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^SIMPLEBB_.*TOKEN/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Live output a clientd holds while it is not connected, all builds together: sent when it is connected again,
 * before any report, so that the master's full log misses nothing of a short outage (a master restart, a network
 * blip). Beyond it the rest of that outage's output is dropped (the report keeps its first and last part, and the
 * master's log says how many bytes it did not hear).
 */
export const MAX_HELD_OUTPUT = 16 * 1024 * 1024;

interface Held { id: string; stream: 'stdout' | 'stderr'; data: Buffer }

export class Executor {
  private readonly running = new Map<string, Run>();
  /** Output of this outage, in the order it was written. */
  private held: Held[] = [];
  private heldBytes = 0;
  private dropped = 0;
  private readonly paused = new Set<Run>();
  /** Every execute() under way, from its first await to its end. */
  private readonly active = new Set<Promise<Outcome>>();
  private closing = false;
  private abortWhy: string | undefined;
  /** Builds cancelled while starting (before their process exists), with the message they are reported with. */
  private readonly cancels = new Map<string, string>();
  /** Ids of builds from their first await to their end. */
  private readonly under = new Set<string>();

  constructor(private readonly config: ExecuteConfig, private readonly inbox: Inbox, private readonly link: Link, private readonly log: Logger) {
    // First of the listeners: held output goes out before the outbox sends the reports it belongs before.
    link.prependListener('up', () => this.sendHeld());
    link.on('drain', () => {
      for (const r of this.paused) r.resume();
      this.paused.clear();
    });
  }

  /** Builds under way (starting or running). */
  get size(): number {
    return this.active.size;
  }

  /** Starts no more builds: one that has not begun yet stays in the inbox (`kept`). */
  close(): void {
    this.closing = true;
  }

  /** Kills every running build, and any that gets as far as spawning from now on (SIGTERM to its group, SIGKILL after the grace period), reported as failed with `why`. */
  abortAll(why: string): void {
    this.abortWhy = why;
    for (const r of this.running.values()) r.abort(why);
  }

  /**
   * Cancels build `id` if it is under way here: a running one is killed as its timeout would kill it (its whole
   * process group) and reported `cancelled`; one still starting is reported `cancelled` without running. False when
   * it is not under way here.
   */
  cancel(id: string, message: string): boolean {
    if (!this.under.has(id)) return false;
    const run = this.running.get(id);
    if (run) run.cancel(message);
    else this.cancels.set(id, message);
    return true;
  }

  /** Settles when every build under way now has ended. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }

  execute(order: BuildOrder): Promise<Outcome> {
    this.under.add(order.id);
    const p = this.run(order);
    this.active.add(p);
    void p.finally(() => {
      this.active.delete(p);
      this.under.delete(order.id);
      this.cancels.delete(order.id);
    }).catch(() => undefined);
    return p;
  }

  private async run(order: BuildOrder): Promise<Outcome> {
    const lookup = resolveScript(this.config.scriptsDir, order.project);
    if (!lookup.ok) return this.config.ignoreUnknown ? { kind: 'skip' } : notRun('no-script', lookup.problem);
    const workDir = join(this.config.workDir, order.project);
    try {
      makeDir(workDir, 'the work dir');
    } catch (err) {
      return notRun('failure', (err as Error).message);
    }
    if (!this.inbox.begun(order.id)) {
      if (this.closing) return { kind: 'kept' };
      // On disk before the process exists: a clientd that dies from here on never starts this build again. (A build
      // that starts as soon as it arrives was noted with its receipt, in the same write.)
      await this.inbox.begin(order.id, Date.now());
    }
    const cancelled = this.cancels.get(order.id);
    if (cancelled !== undefined) return notRun('cancelled', cancelled);
    const env = scriptEnv({
      SIMPLEBB_PROJECT: order.project, SIMPLEBB_BRANCH: order.branch, SIMPLEBB_BUILD_ID: order.id, SIMPLEBB_BUILDER: this.config.name,
      ...(order.revision ? { SIMPLEBB_REVISION: order.revision } : {}),
    });
    const run: Run = new Run(
      { script: lookup.path, branch: order.branch, workDir, env, timeoutMs: this.config.timeoutMs, killGraceMs: this.config.killGraceMs },
      (stream, chunk) => {
        const ok = this.output(order.id, stream, chunk);
        if (!ok) this.paused.add(run);
        return ok;
      },
    );
    this.running.set(order.id, run);
    if (this.abortWhy !== undefined) run.abort(this.abortWhy);
    if (run.pid !== undefined) {
      this.inbox.pid(order.id, run.pid).catch((err: Error) => this.log.warn({ event: 'inbox-failed', id: order.id, error: err.message }, 'could not note the build\'s process'));
    }
    this.log.info({ event: 'started', id: order.id, project: order.project, branch: order.branch, revision: order.revision }, 'build started');
    this.link.send({ type: 'started', id: order.id, startedAt: run.startedAt });
    try {
      const result = await run.result;
      return { kind: 'result', result };
    } finally {
      this.paused.delete(run);
      this.running.delete(order.id);
    }
  }

  /**
   * Sends live output if connected, the bytes as the build wrote them, else holds it (up to MAX_HELD_OUTPUT) for
   * the next connection; false when the socket wants a pause.
   */
  private output(id: string, stream: 'stdout' | 'stderr', chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    if (!this.link.connected) {
      if (this.heldBytes + chunk.length > MAX_HELD_OUTPUT) this.dropped += chunk.length;
      else {
        this.held.push({ id, stream, data: chunk });
        this.heldBytes += chunk.length;
      }
      return true;
    }
    return this.send(id, stream, chunk);
  }

  /** What was held while not connected, in order, now that the link is up. */
  private sendHeld(): void {
    const held = this.held;
    if (held.length === 0 && this.dropped === 0) return;
    if (this.dropped > 0) this.log.warn({ event: 'output-dropped', bytes: this.dropped, held: this.heldBytes }, `live output while not connected exceeded ${MAX_HELD_OUTPUT} bytes; ${this.dropped} bytes of it are not sent (the reports keep the first and last part)`);
    this.held = [];
    this.heldBytes = 0;
    this.dropped = 0;
    for (const h of held) this.send(h.id, h.stream, h.data);
  }

  private send(id: string, stream: 'stdout' | 'stderr', chunk: Buffer): boolean {
    let ok = true;
    for (let at = 0; at < chunk.length; at += MAX_PAYLOAD_BYTES) {
      ok = this.link.send({ type: 'output', id, stream, data: chunk.subarray(at, at + MAX_PAYLOAD_BYTES) }) && ok;
    }
    return ok;
  }
}
