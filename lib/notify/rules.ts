// Notification rules: when (which transitions or verdicts), for which projects, branches and builders, to which sink.
import type { Verdict } from '../protocol/messages.js';
import { anyGlob } from './glob.js';
import { isRed, type Transition } from './transition.js';

export const WHENS = ['broken', 'fixed', 'still-failing', 'failure', 'success', 'lost', 'overdue', 'any'] as const;
export type When = (typeof WHENS)[number];

export interface Rule {
  /** Names the rule in the outbox and in message ids; default `rule1`, `rule2`, … by its place in the file. */
  name: string;
  when: When[];
  projects?: string[];
  branches?: string[];
  builders?: string[];
  /** One message per builder's report instead of one per suggestion once all expected builders have reported. */
  perBuilder: boolean;
  sink: string;
}

/** Whether a build with this verdict and transition is one `when` asks about. */
export function wants(when: When, verdict: Verdict, t: Transition): boolean {
  switch (when) {
    case 'broken': case 'fixed': case 'still-failing': return t === when;
    case 'failure': return isRed(verdict);
    case 'success': return verdict === 'success';
    case 'lost': return verdict === 'lost';
    // An overdue build has no report yet: its notice is planned when it is found overdue (lib/notify/overdue.ts).
    case 'overdue': return false;
    case 'any': return t !== 'none';
  }
}

/** A rule's checks, compiled once. */
export interface CompiledRule extends Rule {
  cell(project: string, branch: string): boolean;
  builder(name: string): boolean;
  wants(verdict: Verdict, t: Transition): boolean;
  /** Whether it asks about overdue builds (`overdue` or `any`). */
  overdue: boolean;
}

export function compileRule(rule: Rule): CompiledRule {
  const projects = anyGlob(rule.projects);
  const branches = anyGlob(rule.branches);
  return {
    ...rule,
    cell: (p, b) => projects(p) && branches(b),
    builder: anyGlob(rule.builders),
    wants: (v, t) => rule.when.some((w) => wants(w, v, t)),
    overdue: rule.when.includes('overdue') || rule.when.includes('any'),
  };
}
