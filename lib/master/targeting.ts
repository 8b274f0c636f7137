// Who a suggestion with a selector goes to: a pure choice among the known builders, with the reason for each one left out.
import { SCRIPT_PREFIX, type Labels } from '../protocol/labels.js';
import { distance, matches, whyNot, type Selector } from '../protocol/selector.js';

/** A builder the master knows: connected now, or seen within the replay window (it gets what it missed when back). */
export interface Candidate {
  name: string;
  /** Its labels as a selector sees them (`script:*` included). */
  labels: Labels;
  connected: boolean;
}

export interface Miss {
  builder: string;
  /** In words after its name: "lacks arch=arm64 (has arch=x64)", "has no script foo". */
  why: string;
  /** How many comparisons would have to change (its script counts as one). */
  distance: number;
}

export interface Targeting {
  /** Connected builders that match: the suggestion is offered to them now. */
  now: string[];
  /** Matching builders that are away (within the replay window): they get it when they are back. */
  later: string[];
  /** Every known builder that does not match, closest first (then by name). */
  misses: Miss[];
}

/** The closest misses named in an error: enough to see the pattern, short enough for one line. */
export const MAX_NAMED_MISSES = 5;

/**
 * With a selector, a builder builds a project when its labels match and it has the project's script
 * (`script:PROJECT`): one without it could only report no-script.
 */
export function target(project: string, selector: Selector | undefined, candidates: readonly Candidate[]): Targeting {
  const now: string[] = [];
  const later: string[] = [];
  const misses: Miss[] = [];
  const script = `${SCRIPT_PREFIX}${project}`;
  for (const c of candidates) {
    const fits = selector === undefined || matches(selector, c.labels);
    const hasScript = c.labels[script] === 'true';
    if (fits && hasScript) {
      (c.connected ? now : later).push(c.name);
      continue;
    }
    const reasons = [fits || !selector ? '' : whyNot(selector, c.labels), hasScript ? '' : `has no script ${project}`].filter(Boolean);
    misses.push({ builder: c.name, why: reasons.join(', '), distance: (selector ? distance(selector, c.labels) : 0) + (hasScript ? 0 : 1) });
  }
  misses.sort((a, b) => a.distance - b.distance || (a.builder < b.builder ? -1 : a.builder > b.builder ? 1 : 0));
  return { now, later, misses };
}

/**
 * The error a suggester gets when nobody matches: "no builder matches SEL: m1 lacks arch=arm64; m2 has no script
 * foo"; with no selector (`one`), "no builder has the script foo: …".
 */
export function noMatchMessage(on: string | undefined, t: Targeting, project = ''): string {
  const head = on === undefined ? `no builder has the script ${project}` : `no builder matches ${on}`;
  if (t.misses.length === 0) return `${head}: no builder is known (connected, or seen within the replay window)`;
  const named = t.misses.slice(0, MAX_NAMED_MISSES).map((m) => `${m.builder} ${m.why}`).join('; ');
  const more = t.misses.length > MAX_NAMED_MISSES ? `; and ${t.misses.length - MAX_NAMED_MISSES} more` : '';
  return `${head}: ${named}${more}`;
}
