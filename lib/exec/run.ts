// One build: spawn the script in its own process group, stream and cap its output, time it out, and kill the whole group.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { OutputCapture } from './capture.js';
import type { Stream, Verdict } from '../protocol/messages.js';

export interface BuildSpec {
  script: string;
  branch: string;
  workDir: string;
  env: NodeJS.ProcessEnv;
  /** 0 for no limit. */
  timeoutMs: number;
  killGraceMs: number;
}

export interface BuildResult {
  exitCode: number;
  signal?: string;
  verdict: Verdict;
  message?: string;
  startedAt: number;
  durationMs: number;
  output: string;
  outputBytes: number;
  outputCut: number;
}

/** Receives each output chunk as it comes; returning false pauses the build's output until `resume()`. */
export type OutputSink = (stream: Stream, chunk: Buffer) => boolean;

/** A running build. */
export class Run {
  readonly startedAt = Date.now();
  readonly result: Promise<BuildResult>;
  private child: ChildProcess | undefined;
  private readonly capture = new OutputCapture();
  private killedFor: 'timeout' | 'abort' | 'cancel' | undefined;
  /** Set when the script has exited: from then on its verdict is its own, whatever ends the rest of its group. */
  private exited = false;
  private abortMessage = '';
  private killTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private pipeTimer: NodeJS.Timeout | undefined;
  private readonly t0 = performance.now();

  constructor(private readonly spec: BuildSpec, private readonly sink: OutputSink) {
    this.result = new Promise((resolve) => this.start(resolve));
  }

  /** Stops the build: SIGTERM to its process group, SIGKILL after the grace period; reported as failed with `message`. */
  abort(message: string): void {
    this.kill('abort', message);
  }

  /** Stops the build as abort() does, someone having cancelled it: reported `cancelled` with `message`. */
  cancel(message: string): void {
    this.kill('cancel', message);
  }

  private kill(why: 'abort' | 'cancel', message: string): void {
    if (this.killedFor) return;
    if (this.exited) return this.terminate(); // only what the script left behind is ended
    this.killedFor = why;
    this.abortMessage = message;
    this.terminate();
  }

  /** The build's process id, which is also its process group id; undefined if it never started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resumes output after the sink returned false. */
  resume(): void {
    this.child?.stdout?.resume();
    this.child?.stderr?.resume();
  }

  private start(resolve: (r: BuildResult) => void): void {
    let child: ChildProcess;
    const finish = (r: Omit<BuildResult, 'startedAt' | 'durationMs' | 'output' | 'outputBytes' | 'outputCut'>): void => {
      if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
      if (this.killTimer) clearTimeout(this.killTimer);
      if (this.pipeTimer) clearTimeout(this.pipeTimer);
      resolve({
        ...r, startedAt: this.startedAt, durationMs: Math.round(performance.now() - this.t0),
        output: this.capture.text(), outputBytes: this.capture.bytes, outputCut: this.capture.cut,
      });
    };
    try {
      child = spawn(this.spec.script, [this.spec.branch], {
        cwd: this.spec.workDir, env: this.spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], shell: false,
      });
    } catch (err) {
      finish({ exitCode: -1, verdict: 'failure', message: `could not start ${this.spec.script}: ${(err as Error).message}` });
      return;
    }
    this.child = child;
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]?.on('data', (chunk: Buffer) => {
        this.capture.add(chunk);
        if (!this.sink(stream, chunk)) child[stream]?.pause();
      });
    }
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (exit || child.pid !== undefined) return;
      finish({ exitCode: -1, verdict: 'failure', message: `could not start ${this.spec.script}: ${err.code ?? err.message}` });
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      this.exited = true;
      // Whatever the script left running in its group (`cmd &`) ends with it.
      this.signalGroup('SIGTERM');
      this.killTimer ??= setTimeout(() => this.signalGroup('SIGKILL'), this.spec.killGraceMs);
      // A process that left the group (setsid) may still hold our pipes open: stop reading them after the grace period.
      this.pipeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, this.spec.killGraceMs + 1000);
    });
    child.on('close', () => {
      this.signalGroup('SIGKILL');
      const code = exit?.code ?? null;
      const signal = exit?.signal ?? null;
      const exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : -1);
      if (this.killedFor === 'timeout') {
        finish({ exitCode, ...(signal ? { signal } : {}), verdict: 'timeout', message: `build timed out after ${this.spec.timeoutMs / 1000} s` });
      } else if (this.killedFor === 'abort') {
        finish({ exitCode, ...(signal ? { signal } : {}), verdict: 'failure', message: this.abortMessage });
      } else if (this.killedFor === 'cancel') {
        finish({ exitCode, ...(signal ? { signal } : {}), verdict: 'cancelled', message: this.abortMessage });
      } else {
        finish({ exitCode, ...(signal ? { signal } : {}), verdict: exitCode === 0 ? 'success' : 'failure' });
      }
    });
    if (this.spec.timeoutMs > 0) {
      this.timeoutTimer = setTimeout(() => {
        if (this.killedFor || this.exited) return;
        this.killedFor = 'timeout';
        this.terminate();
      }, this.spec.timeoutMs);
    }
  }

  private terminate(): void {
    this.signalGroup('SIGTERM');
    this.resume();
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), this.spec.killGraceMs);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}
