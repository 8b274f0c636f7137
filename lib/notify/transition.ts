// How a build's verdict relates to the one before it on the same project, branch and builder: broken, fixed, still failing.
import type { Verdict } from '../protocol/messages.js';

/**
 * `broken`: a failure (or timeout) after a success, or with no outcome before it; `fixed`: a success after a failure;
 * `still-failing`: a failure after a failure; `passing`: a success after a success or as the first outcome;
 * `lost`: the master lost track of the build; `none`: a verdict no one is told about (no-script, superseded, refused);
 * `overdue`: not a verdict's but an overdue notice's (a build still running after twice its usual duration).
 */
export type Transition = 'broken' | 'fixed' | 'still-failing' | 'passing' | 'lost' | 'overdue' | 'none';

const RED: ReadonlySet<Verdict> = new Set(['failure', 'timeout']);

export function isRed(verdict: Verdict | undefined): boolean {
  return verdict !== undefined && RED.has(verdict);
}

/** The transition from the cell's stored `last` outcome (success, failure or timeout; undefined: none yet) to `verdict`. */
export function transition(last: Verdict | undefined, verdict: Verdict): Transition {
  if (verdict === 'lost') return 'lost';
  if (verdict === 'success') return isRed(last) ? 'fixed' : 'passing';
  if (RED.has(verdict)) return isRed(last) ? 'still-failing' : 'broken';
  return 'none';
}
