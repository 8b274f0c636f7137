// The overdue planner: a build found running for more than twice its usual duration, as one notice per rule that asks about `overdue`.
import type { PlannedNotification, StoredSuggestion } from '../store/store.js';
import type { Notice, OverdueBuild } from './notice.js';
import { compileRule, type Rule } from './rules.js';

/** A planner for overdue builds; `statusSinks` get none (an overdue build changes no commit status). */
export type OverduePlanner = (suggestion: StoredSuggestion, build: OverdueBuild) => PlannedNotification[];

/**
 * Each rule with `overdue` (or `any`) that takes the build's project, branch and builder plans one notice, id
 * `SUGGESTION:RULE:BUILDER:overdue`: found overdue again (a restarted master watches the build anew), it is the same one.
 */
export function overduePlanner(rules: readonly Rule[], statusSinks: ReadonlySet<string>, now: () => number = Date.now): OverduePlanner {
  const compiled = rules.map(compileRule).filter((r) => r.overdue && !statusSinks.has(r.sink));
  return (s, build) => compiled.filter((r) => r.cell(s.project, s.branch) && r.builder(build.builder)).map((r) => {
    const id = `${s.id}:${r.name}:${build.builder}:overdue`;
    const notice: Notice = {
      id, rule: r.name, suggestion: s.id, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
      verdict: 'running', transition: 'overdue', builds: [], overdue: build, at: now(), perBuilder: true,
    };
    return { id, sink: r.sink, rule: r.name, payload: JSON.stringify(notice) };
  });
}
