// The acceptance planner: when a suggestion is stored, a `pending` commit status per expected builder (and the roll-up) for each status sink a rule sends it to.
import { isFullRevision } from '../forges/status.js';
import type { AcceptPlanner, PlannedNotification } from '../store/store.js';
import type { Notice } from './notice.js';
import { compileRule, type Rule } from './rules.js';

/**
 * For each status sink (by name in `statusSinks`), the rules that send to it and take the suggestion's project and
 * branch decide: its builders are those it was offered to that any of them takes; the roll-up is pending too when one
 * of them is not perBuilder (only such a rule sets the roll-up's final state). A `--one` suggestion, offered to no one
 * when it is stored, has its roll-up pending only. One notice per sink, id `SUGGESTION:RULE:pending`
 * (the first such rule's name); the outbox sends it before anything later planned for that suggestion and sink.
 */
export function acceptPlanner(rules: readonly Rule[], statusSinks: ReadonlySet<string>, now: () => number = Date.now): AcceptPlanner {
  const compiled = rules.filter((r) => statusSinks.has(r.sink)).map(compileRule);
  return ({ suggestion: s, builders }) => {
    // Nothing to post on without a commit the forge knows by its full id (the status sink would set nothing either).
    // A `--one` suggestion is offered to no one yet (it waits for a free builder): its roll-up alone is pending.
    const one = s.one !== undefined;
    if (!isFullRevision(s.revision) || (builders.length === 0 && !one)) return [];
    const out: PlannedNotification[] = [];
    for (const sink of statusSinks) {
      const mine = compiled.filter((r) => r.sink === sink && r.cell(s.project, s.branch));
      const waited = builders.filter((b) => mine.some((r) => r.builder(b)));
      if (!mine.length || (one ? mine.every((r) => r.perBuilder) : !waited.length)) continue;
      const rule = mine[0]!.name;
      const id = `${s.id}:${rule}:pending`;
      const notice: Notice = {
        id, rule, suggestion: s.id, project: s.project, branch: s.branch, revision: s.revision, verdict: 'running', transition: 'none',
        builds: [], pending: waited, at: now(), ...(mine.every((r) => r.perBuilder) ? { perBuilder: true as const } : {}),
      };
      out.push({ id, sink, rule, payload: JSON.stringify(notice) });
    }
    return out;
  };
}
