// What one notification says (kept as the outbox's payload): the suggestion, its judged builds, and their plain-text form.
import type { Verdict } from '../protocol/messages.js';
import type { JudgedReport } from '../store/store.js';
import { isRed, transition, type Transition } from './transition.js';

/** The end of a failing build's output a message carries: enough to see the error, small enough for a chat message. */
export const TAIL_LINES = 40;
export const TAIL_BYTES = 4096;
/** Revisions since the last green listed at most. */
export const MAX_SINCE_GREEN = 20;

export interface NoticeBuild {
  builder: string;
  verdict: Verdict;
  lastVerdict?: Verdict;
  transition: Transition;
  exitCode: number;
  message?: string;
  durationMs: number;
  /** The end of the output of a build that did not succeed. */
  tail?: string;
  /** Revisions suggested since this builder's last success, newest first (red builds only, when known). */
  sinceGreen?: string[];
}

export interface Notice {
  /** The message's stable id: the same on every attempt (the receiver's deduplication key). */
  id: string;
  rule: string;
  suggestion: string;
  project: string;
  branch: string;
  revision?: string;
  /** The worst verdict of its builds (failure before lost before success) and the transition that goes with it; `running` for an acceptance or overdue notice. */
  verdict: Verdict | 'running';
  transition: Transition;
  builds: NoticeBuild[];
  /** When it was planned. */
  at: number;
  /** One builder's report (a rule with perBuilder), not the suggestion once all its builders have reported. */
  perBuilder?: true;
  /** The one address the suggester asked for (`--notify`): the mail sink sends to it instead of its own `to`. */
  to?: string;
  /** An acceptance notice (builds empty): the builders whose commit statuses are set to pending (status sinks only). */
  pending?: string[];
  /** An overdue notice (builds empty): the build running for more than twice its usual duration. */
  overdue?: OverdueBuild;
}

export interface OverdueBuild {
  builder: string;
  startedAt: number;
  usualMs: number;
  /** How long it had run when it was found overdue. */
  runningMs: number;
}

/** The last TAIL_LINES lines of `output`, at most TAIL_BYTES characters of them. */
export function tailOf(output: string): string {
  const lines = output.replace(/\n$/, '').split('\n');
  const tail = lines.slice(-TAIL_LINES).join('\n');
  return tail.length > TAIL_BYTES ? tail.slice(-TAIL_BYTES) : tail;
}

export function noticeBuild(j: JudgedReport, sinceGreen: (builder: string) => string[]): NoticeBuild {
  const r = j.report;
  const t = transition(j.lastVerdict, r.verdict);
  const red = isRed(r.verdict);
  const since = red ? sinceGreen(r.builder) : [];
  return {
    builder: r.builder, verdict: r.verdict, ...(j.lastVerdict ? { lastVerdict: j.lastVerdict } : {}), transition: t,
    exitCode: r.exitCode, ...(r.message ? { message: r.message } : {}), durationMs: r.durationMs,
    ...(r.verdict !== 'success' && r.output ? { tail: tailOf(r.output) } : {}), ...(since.length ? { sinceGreen: since } : {}),
  };
}

const WORST: readonly Transition[] = ['broken', 'still-failing', 'lost', 'fixed', 'passing', 'none'];

/** The summary verdict and transition of several builds: the first of WORST any of them has. */
export function summary(builds: readonly NoticeBuild[]): { verdict: Verdict; transition: Transition } {
  const worst = [...builds].sort((a, b) => WORST.indexOf(a.transition) - WORST.indexOf(b.transition))[0];
  return worst ? { verdict: worst.verdict, transition: worst.transition } : { verdict: 'success', transition: 'none' };
}

/** Where a notice's pages are: a build's page, or the suggestion's when it has several builds. */
export function pageUrl(n: Notice, baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  const base = baseUrl.replace(/\/+$/, '');
  const one = n.overdue?.builder ?? (n.builds.length === 1 ? n.builds[0]!.builder : undefined);
  return one !== undefined
    ? `${base}/b/${encodeURIComponent(n.suggestion)}/${encodeURIComponent(one)}`
    : `${base}/s/${encodeURIComponent(n.suggestion)}`;
}

/** One line: "broken: widget main at abc123 (linux: failure)". */
export function headline(n: Notice): string {
  const at = n.revision ? ` at ${n.revision.slice(0, 12)}` : '';
  const o = n.overdue;
  const what = o ? `${o.builder}: running for ${seconds(o.runningMs)}, usually ${seconds(o.usualMs)}` : n.builds.map((b) => `${b.builder}: ${b.verdict}`).join(', ');
  return `${n.transition === 'none' ? n.verdict : n.transition}: ${n.project} ${n.branch}${at} (${what})`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The whole message as plain text (mail, ntfy, after-scripts' readers): verdicts, tails, link, revisions since the last green. */
export function plainText(n: Notice, baseUrl: string | undefined): string {
  const out: string[] = [headline(n), ''];
  out.push(`project:  ${n.project}`, `branch:   ${n.branch}`);
  if (n.revision) out.push(`revision: ${n.revision}`);
  const url = pageUrl(n, baseUrl);
  if (url) out.push(`page:     ${url}`);
  const o = n.overdue;
  if (o) out.push('', `${o.builder}: still running after ${seconds(o.runningMs)} (started ${new Date(o.startedAt).toISOString()}), more than twice its usual ${seconds(o.usualMs)}`);
  for (const b of n.builds) {
    out.push('', `${b.builder}: ${b.verdict} (${b.transition}${b.lastVerdict ? `, was ${b.lastVerdict}` : ''}), exit ${b.exitCode}, ${(b.durationMs / 1000).toFixed(1)} s`);
    if (b.message) out.push(`  ${b.message}`);
    if (b.sinceGreen?.length) out.push(`  revisions since the last green: ${b.sinceGreen.join(' ')}`);
    if (b.tail) out.push('  the end of its output:', ...b.tail.split('\n').map((l) => `  | ${l}`));
  }
  return `${out.join('\n')}\n`;
}
