// What a returning builder is owed: a pure decision from its cursor, its open deliveries and what the record holds since.
import type { OpenState, StoredSuggestion } from '../store/store.js';

export interface ReplayInput {
  /** Where the builder's inbox stands in this record, when its hello carried a cursor for it and its state dir is the one it had. */
  cursor: number | undefined;
  /** This builder's deliveries that are not final yet. */
  open: Array<{ suggestion: StoredSuggestion; state: OpenState }>;
  /** From the record: suggestions after the cursor, within the replay window, with nothing final for this builder. */
  owed: StoredSuggestion[];
  /** Suggestions offered to it while this was being worked out. */
  buffered: StoredSuggestion[];
  /** Whether a suggestion made now would go to this builder (its projects, --ignore-unknown). */
  eligible: (s: StoredSuggestion) => boolean;
  /** The most orders sent as replayed (those offered live meanwhile always go, and do not count). */
  max: number;
}

export interface ReplayPlan {
  /** To send, oldest first. */
  send: StoredSuggestion[];
  /** Not sent: a newer suggestion for the same project and branch is. */
  superseded: Array<{ suggestion: StoredSuggestion; by: StoredSuggestion }>;
  /** Started by a state dir the builder no longer has: the outcome is unknown. */
  lost: StoredSuggestion[];
  /** Not sent: the builder was owed more than `max`, and these are older than the newest `max`. */
  refused: StoredSuggestion[];
}

/**
 * The rules: what the cursor covers is on the builder's disk and is its to finish; an open delivery beyond it is
 * offered again unless it had started (then its outcome is unknown: lost); what the record holds beyond the cursor
 * is offered if the builder would get it now; of all that, only the newest per project and branch is sent, and of
 * those only the newest `max` (what was offered live meanwhile goes in any case).
 */
export function planReplay(input: ReplayInput): ReplayPlan {
  const held = (s: StoredSuggestion): boolean => input.cursor !== undefined && s.seq <= input.cursor;
  const candidates = new Map<number, StoredSuggestion>();
  const lost: StoredSuggestion[] = [];
  for (const o of input.open) {
    // A dispatched (`one`) order may be older than the cursor: only its `received` (by id) says the builder has it.
    if (held(o.suggestion) && !(o.suggestion.one && o.state === 'offered')) continue;
    if (o.state === 'started') lost.push(o.suggestion);
    else candidates.set(o.suggestion.seq, o.suggestion);
  }
  const known = new Set([...candidates.keys(), ...lost.map((s) => s.seq), ...input.open.map((o) => o.suggestion.seq)]);
  for (const s of [...input.owed, ...input.buffered]) {
    if (known.has(s.seq) || held(s) || !input.eligible(s)) continue;
    candidates.set(s.seq, s);
    known.add(s.seq);
  }
  for (const s of input.buffered) candidates.set(s.seq, s); // offered live already: it goes whatever it is
  const newest = new Map<string, StoredSuggestion>();
  for (const s of [...candidates.values()].sort((a, b) => a.seq - b.seq)) newest.set(`${s.project}\0${s.branch}`, s);
  const chosen = [...newest.values()].sort((a, b) => a.seq - b.seq);
  const chosenSeqs = new Set(chosen.map((s) => s.seq));
  const superseded = [...candidates.values()].filter((s) => !chosenSeqs.has(s.seq))
    .map((s) => ({ suggestion: s, by: newest.get(`${s.project}\0${s.branch}`)! }));
  const live = new Set(input.buffered.map((s) => s.seq));
  const replayed = chosen.filter((s) => !live.has(s.seq));
  const refused = replayed.slice(0, Math.max(0, replayed.length - input.max));
  const refusedSeqs = new Set(refused.map((s) => s.seq));
  const send = chosen.filter((s) => !refusedSeqs.has(s.seq));
  return { send, superseded, lost, refused };
}
