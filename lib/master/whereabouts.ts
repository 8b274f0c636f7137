// Where a suggestion's result is: for every builder that was expected to report, its state and the reason, in words (pure).
import type { Labels } from '../protocol/labels.js';
import type { Verdict } from '../protocol/messages.js';
import { parseSelector } from '../protocol/selector.js';
import type { DeliveryState, StoredSuggestion } from '../store/store.js';
import { target } from './targeting.js';

/** A build's usual duration is the median of this many of its builder's newest successful builds of the project and branch. */
export const USUAL_SAMPLE = 5;
/** A running build is overdue once it has run this many times its usual duration. */
export const OVERDUE_FACTOR = 2;

export type WhereState = 'queued' | 'reported' | 'running' | 'overdue' | 'waiting' | 'offline' | 'lost' | 'no-script' | 'excluded' | 'superseded' | 'refused';

/** One builder's part, as the record has it (a suggestion view's delivery). */
export interface WhereDelivery { builder: string; state: DeliveryState; at: number; verdict?: Verdict; durationMs?: number }

/** A connected builder as the board shows it. */
export interface WhereOnline {
  name: string;
  labels: Labels;
  /** When each build it runs now started, by suggestion id. */
  running: ReadonlyMap<string, number>;
  jobs: number;
}

/** A builder the record knows that is not connected: since when it has been away. */
export interface WhereKnown { name: string; lastSeen: number; labels?: Labels }

export interface WhereInput {
  suggestion: StoredSuggestion;
  deliveries: readonly WhereDelivery[];
  online: readonly WhereOnline[];
  /** Builders the record knows (connected ones included or not: those online win). */
  known: readonly WhereKnown[];
  /** Each builder's usual duration of this project and branch (see usualMs), where it has one. */
  usual: ReadonlyMap<string, number>;
  replayWindowMs?: number;
  /** A `one` suggestion still in the dispatch queue: how many of its project are before it, its attempt, why it waits. */
  queued?: { ahead: number; attempt: number; why: string };
  now: number;
  /** How a time of day is written ("14:05"); the caller picks the zone. */
  clock: (ms: number) => string;
}

export interface Whereabouts {
  builder: string;
  state: WhereState;
  /** In words after the builder's name: "running for 2 min (usually 3 min)". */
  reason: string;
  verdict?: Verdict;
  startedAt?: number;
  usualMs?: number;
  /** Builds it runs now ahead of this one (waiting only). */
  queuedBehind?: number;
  /** Away since (offline only). */
  since?: number;
}

/** The median of the durations (ms), or undefined without any: what "usually takes" means. */
export function usualMs(durations: readonly number[]): number | undefined {
  const d = durations.filter((x) => Number.isFinite(x) && x > 0).sort((a, b) => a - b);
  if (d.length === 0) return undefined;
  const mid = d.length >> 1;
  return d.length % 2 ? d[mid]! : Math.round((d[mid - 1]! + d[mid]!) / 2);
}

/** Whether a build that has run `elapsedMs` is overdue against its usual duration (never without one). */
export function isOverdue(elapsedMs: number, usual: number | undefined): boolean {
  return usual !== undefined && elapsedMs > OVERDUE_FACTOR * usual;
}

/** A duration for people: "0.3 s", "45 s", "3 min", "2 h 5 min". */
export function spoken(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms / 100) / 10} s`;
  if (ms < 90_000) return `${Math.round(ms / 1000)} s`;
  const min = Math.round(ms / 60_000);
  return min < 90 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** What a lost build's reason says. */
const LOST = 'lost: it did not come back within the replay window';

const VERDICT_STATE: Partial<Record<Verdict, WhereState>> = { lost: 'lost', superseded: 'superseded', 'no-script': 'no-script', refused: 'refused' };

/**
 * Every builder's part in the suggestion, by name: each one it was delivered to, and (with a selector) each
 * known builder the selector left out, with why.
 */
export function whereabouts(input: WhereInput): Whereabouts[] {
  const { suggestion: s, now } = input;
  const online = new Map(input.online.map((b) => [b.name, b]));
  const known = new Map(input.known.map((k) => [k.name, k]));
  const out: Whereabouts[] = [];
  for (const d of input.deliveries) out.push(one(input, d, online.get(d.builder), known.get(d.builder), now));
  // To one builder: only those it went to are expected, and while it waits for one, the queue is where it is.
  if (s.one) {
    const q = input.queued;
    if (q) {
      const again = q.attempt > 1 ? `attempt ${q.attempt}, ` : '';
      out.push({ builder: NEXT_FREE, state: 'queued', queuedBehind: q.ahead, reason: `queued (${again}behind ${q.ahead} of ${s.project}): ${q.why}` });
    }
    return out.sort(byBuilder);
  }
  const delivered = new Set(input.deliveries.map((d) => d.builder));
  const window = input.replayWindowMs;
  // Builders away when it was made that had been seen within the replay window: the relay keeps it for them (with no
  // delivery in the record until they are back). One seen since it was made without taking it does not take it.
  const away = window === undefined ? [] : input.known.filter((k) => !online.has(k.name) && !delivered.has(k.name) && k.lastSeen >= s.createdAt - window && k.lastSeen <= s.createdAt);
  let expected: WhereKnown[] = away;
  if (s.on !== undefined) {
    const candidates = [
      ...input.online.filter((b) => !delivered.has(b.name)).map((b) => ({ name: b.name, labels: b.labels, connected: true })),
      ...away.map((k) => ({ name: k.name, labels: k.labels ?? {}, connected: false })),
    ];
    let selector;
    try {
      selector = parseSelector(s.on);
    } catch {
      selector = undefined; // the record took it, so it parsed; a changed grammar must not break this view
    }
    const t = selector ? target(s.project, selector, candidates) : undefined;
    expected = away.filter((k) => t?.later.includes(k.name));
    for (const m of t?.misses ?? []) out.push({ builder: m.builder, state: 'excluded', reason: `excluded by the selector ${s.on}: ${m.why}` });
  }
  for (const k of expected) out.push(awayOne(input, k, window!));
  return out.sort(byBuilder);
}

const byBuilder = (a: Whereabouts, b: Whereabouts): number => (a.builder < b.builder ? -1 : a.builder > b.builder ? 1 : 0);

/** Who a queued `one` suggestion's row names: whichever matching builder is free next. */
export const NEXT_FREE = '(next free)';

/** A builder that was away when the suggestion was made: it gets it if back within the window from then, else it is lost. */
function awayOne(input: WhereInput, k: WhereKnown, window: number): Whereabouts {
  const until = input.suggestion.createdAt + window;
  if (input.now < until) return { builder: k.name, state: 'offline', since: k.lastSeen, reason: `offline since ${input.clock(k.lastSeen)} (it gets the build if back by ${input.clock(until)})` };
  return { builder: k.name, state: 'lost', since: k.lastSeen, reason: `${LOST} (away since ${input.clock(k.lastSeen)})` };
}

function one(input: WhereInput, d: WhereDelivery, on: WhereOnline | undefined, known: WhereKnown | undefined, now: number): Whereabouts {
  const usual = input.usual.get(d.builder);
  const usually = usual !== undefined ? ` (usually ${spoken(usual)})` : '';
  const base = { builder: d.builder, ...(usual !== undefined ? { usualMs: usual } : {}) };
  if (d.state === 'skipped') return { ...base, state: 'no-script', reason: `no script: it has no buildscript ${input.suggestion.project} and ignores projects it has none for` };
  if (d.state === 'reported') {
    const v = d.verdict;
    const state = (v && VERDICT_STATE[v]) ?? 'reported';
    const took = d.durationMs && state === 'reported' ? ` in ${spoken(d.durationMs)}` : '';
    const why = state === 'lost' ? LOST
      : state === 'superseded' ? 'superseded: a newer suggestion of the same project and branch was sent to it instead'
        : state === 'no-script' ? `no script: it has no buildscript ${input.suggestion.project}`
          : state === 'refused' ? 'refused: it was owed too many builds to replay this one'
            : `reported ${v ?? 'a verdict'}${took}`;
    return { ...base, state, reason: why, ...(v ? { verdict: v } : {}) };
  }
  if (!on) {
    const since = known?.lastSeen ?? d.at;
    const back = input.replayWindowMs !== undefined ? ` (it gets the build if back by ${input.clock(since + input.replayWindowMs)})` : ' (it gets the build when back within the replay window)';
    return { ...base, state: 'offline', since, reason: `offline since ${input.clock(since)}${back}` };
  }
  const startedAt = on.running.get(input.suggestion.id);
  if (startedAt !== undefined || d.state === 'started') {
    const from = startedAt ?? d.at;
    const elapsed = Math.max(0, now - from);
    const over = isOverdue(elapsed, usual);
    return { ...base, state: over ? 'overdue' : 'running', startedAt: from, reason: `${over ? 'overdue: ' : ''}running for ${spoken(elapsed)}${usually}` };
  }
  const ahead = on.running.size;
  const queue = ahead > 0 && ahead >= on.jobs ? `, queued behind ${ahead} other build${ahead === 1 ? '' : 's'} on it` : '';
  const state = d.state === 'received' ? 'received' : 'offered';
  return { ...base, state: 'waiting', queuedBehind: ahead, reason: `${state} and waiting${queue}${usually}` };
}
