// simplebb-suggest's work: send suggestions, and with --wait follow them to each builder's verdict and an exit code.
import { formatAddress, type Address } from '../wire/address.js';
import { ClientError, connectToMaster } from '../wire/dial.js';
import type { BuildReport, FromMaster, Verdict } from '../protocol/messages.js';
import type { LiveOutput } from './liveOutput.js';
import { printable, terminalText } from './printable.js';

export interface SuggestJob {
  master: Address;
  project: string;
  branches: Array<{ branch: string; revision?: string }>;
  wait: boolean;
  follow: boolean;
  json: boolean;
  /** Only builders whose labels match this selector (checked already). */
  on?: string;
  /** Record nothing: print who would build, and exit. */
  dryRun?: boolean;
  /** To one matching builder, queued while none is free; `retries`: offered again this often when lost with its builder. */
  one?: boolean;
  retries?: number;
  /** One `one` suggestion per distinct value of this label (checked already). */
  each?: string;
  /** Mail this address the summary once every builder has reported (checked already). */
  notify?: string;
  /** Bound on the whole wait; 0 for none. */
  waitTimeoutMs: number;
  connectTimeoutMs: number;
  heartbeatMs: number;
  token?: string;
  tls?: { ca?: Buffer };
  out: (line: string) => void;
  /** Writes bytes as they are (a followed build's output, lines prefixed and ended already). */
  outBytes: (bytes: Buffer) => void;
  /** stdout is a terminal (and not --json): aligned, coloured (unless `color` is false), with a status line and a summary. */
  terminal?: { color: boolean };
  err: (line: string) => void;
}

/** Exit codes of simplebb-suggest. */
const EXIT = { ok: 0, failed: 1, error: 2, nobody: 3, timeout: 124 } as const;

/**
 * Verdicts of a build that ran (or may have: `lost`, `cancelled`, which did not succeed either); `no-script`,
 * `superseded` and `refused` never ran.
 */
const RAN: ReadonlySet<Verdict> = new Set(['success', 'failure', 'timeout', 'lost', 'cancelled']);

/** What a set of reports means for the exit code: 3 when nobody ran the script, 1 when any run failed, else 0. */
function exitCodeFor(verdicts: Verdict[]): number {
  const ran = verdicts.filter((v) => RAN.has(v));
  if (ran.length === 0) return EXIT.nobody;
  return ran.every((v) => v === 'success') ? EXIT.ok : EXIT.failed;
}

interface Tracked {
  id: string;
  branch: string;
  revision?: string;
  builders: string[];
  count: number;
  reports: Map<string, BuildReport>;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Socket errors that a master restarting (pm2, systemd) gives for a moment, before anything was said. */
const AGAIN: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET']);
/** Between tries: a restarting master listens again within a second or so, and each try costs a loopback SYN. */
const RETRY_EVERY_MS = 200;

/**
 * Connects and shakes hands, trying again while the master refuses or resets before its greeting, until
 * --connect-timeout has passed: a push that lands while the master restarts still gets its builds.
 */
async function reach(job: SuggestJob): Promise<Awaited<ReturnType<typeof connectToMaster>>> {
  const t0 = Date.now();
  const deadline = t0 + job.connectTimeoutMs;
  for (let tries = 1; ; tries++) {
    try {
      return await connectToMaster(job.master, (greeting) => {
        // An older master refuses a key it does not know: said here, in words, before anything is sent.
        if ((job.on !== undefined || job.dryRun) && !greeting.labels) throw new Error(`it does not take --on or --dry-run (${greeting.server}; upgrade the master)`);
        if ((job.one || job.each !== undefined) && !greeting.one) throw new Error(`it does not take --one (${greeting.server}; upgrade the master)`);
        if (job.notify !== undefined && !greeting.notify) throw new Error(`it does not take --notify (${greeting.server}; upgrade the master)`);
        return { role: 'suggester' };
      }, {
        timeoutMs: Math.max(1, deadline - Date.now()), heartbeatMs: job.heartbeatMs,
        ...(job.token !== undefined ? { token: job.token } : {}), ...(job.tls ? { tls: job.tls } : {}),
      });
    } catch (err) {
      const left = deadline - Date.now();
      if (!(err instanceof ClientError) || !AGAIN.has(err.code ?? '') || left <= 0) {
        throw tries > 1 && err instanceof ClientError ? new ClientError(`${err.message} (${tries} tries in ${seconds(Date.now() - t0)})`, err.code) : err;
      }
      await new Promise((r) => setTimeout(r, Math.min(RETRY_EVERY_MS, left)));
    }
  }
}

/** Runs one simplebb-suggest invocation and resolves to its exit code; never throws. */
export async function runSuggest(job: SuggestJob): Promise<number> {
  let conn;
  try {
    conn = await reach(job);
  } catch (err) {
    job.err(`simplebb-suggest: ${err instanceof ClientError ? err.message : String(err)}`);
    return EXIT.error;
  }
  // Loaded only when used (the git hook runs without --wait, --follow or a terminal): each is a chunk of the bundle.
  const view = job.terminal && !job.json && job.wait
    ? new (await import('./terminalView.js')).TerminalView((text) => job.outBytes(Buffer.from(text)), job.terminal.color, { escape: printable, seconds }) : undefined;
  const emit = (obj: Record<string, unknown>, text: string): void => {
    if (job.json) job.out(JSON.stringify(obj));
    else if (view) view.line(text);
    else job.out(text);
  };
  const err = (line: string): void => {
    view?.close();
    job.err(line);
  };
  const byRef = new Map<string, { branch: string; revision?: string }>();
  const tracked = new Map<string, Tracked>();
  const live: LiveOutput | undefined = job.follow ? new (await import('./liveOutput.js')).LiveOutput() : undefined;
  // A build's output goes to a file or pipe byte for byte; to a terminal it is neutralised, colours aside (its lines
  // are whole, so decoding them as UTF-8 splits no character).
  const shown = (bytes: Buffer): Buffer => (job.terminal ? Buffer.from(terminalText(bytes.toString('utf8'), job.terminal.color)) : bytes);

  return new Promise<number>((resolve) => {
    let done = false;
    /** Dry-run answers so far, and whether any named a builder. */
    let dryRuns = 0;
    let anyone = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (!job.json && live) for (const rest of live.rest()) job.outBytes(shown(rest));
      view?.close();
      // Everything we wait for has arrived: drop the link at once rather than wait for the master's FIN.
      conn.destroy('done');
      resolve(code);
    };
    // Accepted suggestions per request (`each` makes several for one), and how many each request makes.
    const acceptedOf = new Map<string, number>();
    const wantedOf = new Map<string, number>();
    const settleIfDone = (): void => {
      if (!job.branches.every((_, i) => (acceptedOf.get(String(i)) ?? 0) >= (wantedOf.get(String(i)) ?? 1))) return;
      if (!job.wait) return finish(EXIT.ok);
      const all = [...tracked.values()];
      if (!all.every((t) => t.reports.size >= t.count)) return;
      const verdicts = all.flatMap((t) => [...t.reports.values()].map((r) => r.verdict));
      const code = exitCodeFor(verdicts);
      if (job.json) job.out(JSON.stringify({ type: 'result', exitCode: code }));
      else {
        if (live) for (const rest of live.rest()) job.outBytes(shown(rest));
        view?.summary();
        if (code === EXIT.nobody) job.out(`no builder could build ${job.project}`);
      }
      finish(code);
    };
    conn.on('close', (reason) => {
      if (done) return;
      err(`simplebb-suggest: lost the connection to master at ${formatAddress(job.master)}: ${reason}`);
      finish(EXIT.error);
    });
    conn.on('invalid', (problem, fatal) => {
      err(`simplebb-suggest: master sent an invalid line: ${problem}`);
      if (fatal) finish(EXIT.error);
    });
    conn.on('message', (m: FromMaster) => {
      switch (m.type) {
        case 'error':
          if (m.code === 'no-match') {
            err(`simplebb-suggest: ${printable(m.message)}`);
            if (job.json) job.out(JSON.stringify({ type: 'result', exitCode: EXIT.nobody, error: m.message }));
            return finish(EXIT.nobody);
          }
          err(`simplebb-suggest: master refused${m.ref !== undefined ? ` ${job.project} ${printable(byRef.get(m.ref)?.branch ?? '')}` : ''}: ${printable(m.message)}`);
          return finish(EXIT.error);
        case 'accepted': {
          const r = m.ref ?? '';
          acceptedOf.set(r, (acceptedOf.get(r) ?? 0) + 1);
          wantedOf.set(r, m.each?.of ?? 1);
          const t: Tracked = { id: m.id, branch: m.branch, ...(m.revision ? { revision: m.revision } : {}), builders: m.builders, count: m.count, reports: new Map() };
          tracked.set(m.id, t);
          const listed = m.builders.length < m.count ? `${m.builders.slice(0, 20).join(', ')}, …` : m.builders.slice(0, 20).join(', ') + (m.count > 20 ? ', …' : '');
          emit({ type: 'accepted', id: m.id, project: m.project, branch: m.branch, revision: m.revision, count: m.count, builders: m.builders },
            `suggested ${m.project} ${printable(m.branch)}${m.revision ? ` (${m.revision.slice(0, 12)})` : ''}${m.each ? ` for ${m.each.label}=${m.each.value}` : ''} as ${m.id} ${m.queued !== undefined
              ? `to one builder: queued, ${m.queued} of ${m.project} before it` : `to ${m.count} builder${m.count === 1 ? '' : 's'}${m.count ? `: ${listed}` : ''}`}`);
          if (job.wait) view?.accepted(m.id, m.branch, m.builders);
          return settleIfDone();
        }
        case 'dry-run': {
          dryRuns++;
          const names = (list: string[]): string => list.slice(0, 20).join(', ') + (list.length > 20 ? ', …' : '');
          emit({ type: 'dry-run', project: m.project, branch: m.branch, builders: m.builders, later: m.later, misses: m.misses },
            [`would build ${m.project} ${printable(m.branch)} on ${m.builders.length} builder${m.builders.length === 1 ? '' : 's'}${m.builders.length ? `: ${names(m.builders)}` : ''}`,
              ...(m.later.length ? [`  and when back (away now): ${names(m.later)}`] : []),
              ...m.misses.slice(0, 20).map((x) => `  not ${x.builder}: ${printable(x.why)}`),
              ...(m.misses.length > 20 ? [`  not ${m.misses.length - 20} more`] : [])].join('\n'));
          anyone ||= m.builders.length + m.later.length > 0;
          if (dryRuns === job.branches.length) finish(anyone ? EXIT.ok : EXIT.nobody);
          return;
        }
        case 'started':
          view?.started(m.id, m.builder);
          if (job.follow) emit({ type: 'started', id: m.id, builder: m.builder }, `${m.builder}| build ${m.id} started`);
          return;
        case 'output': {
          if (!live) return;
          if (job.json) return job.out(JSON.stringify({ type: 'output', id: m.id, builder: m.builder, stream: m.stream, data: live.text(m.builder, m.id, m.stream, m.data) }));
          const raw = live.lines(m.builder, m.id, m.stream, m.data);
          if (raw === undefined) return;
          const lines = shown(raw);
          if (view) view.bytes(() => job.outBytes(lines));
          else job.outBytes(lines);
          return;
        }
        case 'away': {
          const t = tracked.get(m.id);
          if (!t) return;
          emit({ type: 'away', id: m.id, builder: m.builder, reason: m.reason, windowMs: m.windowMs },
            m.windowMs === 0 ? `${m.builder}  ${job.project} ${printable(t.branch)}  ${printable(m.reason)}`
              : `${m.builder}  ${job.project} ${printable(t.branch)}  away (${printable(m.reason)}); waiting up to ${seconds(m.windowMs)} for it to come back`);
          return;
        }
        case 'report': {
          const t = tracked.get(m.id);
          if (!t) return;
          t.reports.set(m.builder, m);
          if (view) view.report(m);
          else {
            // A report's signal and message come from a builder: shown with their control characters escaped.
            const exit = m.signal ? `signal ${printable(m.signal)}` : `exit ${m.exitCode}`;
            emit({ type: 'report', id: m.id, builder: m.builder, project: m.project, branch: m.branch, verdict: m.verdict, exitCode: m.exitCode, signal: m.signal, durationMs: m.durationMs, message: m.message, ...(m.tail !== undefined ? { tail: m.tail } : {}) },
              `${m.builder}  ${m.project} ${printable(m.branch)}  ${m.verdict}  ${exit}  ${seconds(m.durationMs)}${m.message && m.verdict !== 'success' && m.verdict !== 'failure' ? `  (${printable(m.message)})` : ''}`);
          }
          return settleIfDone();
        }
        default:
          return;
      }
    });
    job.branches.forEach((b, i) => {
      byRef.set(String(i), b);
      conn.send({
        type: 'suggest', ref: String(i), project: job.project, branch: b.branch, ...(b.revision ? { revision: b.revision } : {}), follow: job.follow,
        ...(job.on !== undefined ? { on: job.on } : {}), ...(job.dryRun ? { dryRun: true } : {}),
        ...(job.one ? { one: true } : {}), ...(job.retries !== undefined ? { retries: job.retries } : {}), ...(job.each !== undefined ? { each: job.each } : {}), ...(job.notify !== undefined ? { notify: job.notify } : {}),
      });
    });
    if (job.wait && job.waitTimeoutMs > 0) {
      timer = setTimeout(() => {
        const missing = [...tracked.values()].flatMap((t) => t.builders.filter((b) => !t.reports.has(b)).map((b) => `${b} (${t.branch})`));
        err(`simplebb-suggest: timed out after ${job.waitTimeoutMs / 1000} s waiting for ${missing.join(', ') || 'the master'}`);
        if (job.json) job.out(JSON.stringify({ type: 'result', exitCode: EXIT.timeout, timedOut: missing }));
        finish(EXIT.timeout);
      }, job.waitTimeoutMs);
    }
  });
}
