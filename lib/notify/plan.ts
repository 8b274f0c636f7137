// The planner the record calls inside each commit: which rules a stored report (or a suggestion it completed) meets, as notices.
import type { NotificationPlanner, PlannedNotification, PlanInput, JudgedReport } from '../store/store.js';
import { MAX_SINCE_GREEN, noticeBuild, summary, type Notice, type NoticeBuild } from './notice.js';
import { compileRule, type CompiledRule, type Rule } from './rules.js';
import { transition } from './transition.js';

/** Builds one suggestion's message lists at most: beyond it the rest is on its page. */
export const MAX_BUILDS_PER_NOTICE = 100;
/** The rule name a suggester's own notice (`--notify`) goes by: a ':' no rule name may have, so it never meets one. */
export const SUGGESTER_RULE = 'suggester:notify';

/**
 * `suggesterMail`: the mail sink a suggestion's own address (`notify`) is mailed with once every builder has
 * reported, whatever the rules say; without it nothing is planned for that address (the master refused it).
 */
export function planner(rules: readonly Rule[], now: () => number = Date.now, suggesterMail?: string): NotificationPlanner {
  const compiled = rules.map(compileRule);
  return (input) => {
    const planned = compiled.flatMap((rule) => planRule(rule, input, now()));
    const own = suggesterMail !== undefined ? planSuggester(suggesterMail, input, now()) : undefined;
    return own ? [...planned, own] : planned;
  };
}

function meets(rule: CompiledRule, j: JudgedReport): boolean {
  return rule.builder(j.report.builder) && rule.wants(j.report.verdict, transition(j.lastVerdict, j.report.verdict));
}

function sinceOf(input: PlanInput): (builder: string) => string[] {
  return (builder) => input.sinceGreen(builder, MAX_SINCE_GREEN);
}

function planRule(rule: CompiledRule, input: PlanInput, at: number): PlannedNotification[] {
  const s = input.suggestion;
  if (!rule.cell(s.project, s.branch)) return [];
  const since = sinceOf(input);
  if (rule.perBuilder) {
    const r = input.judged.report;
    if (!meets(rule, input.judged)) return [];
    return [planned({ name: rule.name, sink: rule.sink, perBuilder: true }, `${s.id}:${rule.name}:${r.builder}:${r.verdict}`, input, [noticeBuild(input.judged, since)], at)];
  }
  if (!input.complete) return [];
  const builds = input.complete.filter((j) => meets(rule, j)).slice(0, MAX_BUILDS_PER_NOTICE).map((j) => noticeBuild(j, since));
  return builds.length ? [planned({ name: rule.name, sink: rule.sink }, `${s.id}:${rule.name}`, input, builds, at)] : [];
}

/** The one notice to the suggester's address once the suggestion is complete: every builder's verdict, whatever it was. */
function planSuggester(sink: string, input: PlanInput, at: number): PlannedNotification | undefined {
  const to = input.suggestion.notify;
  if (to === undefined || !input.complete) return undefined;
  const builds = input.complete.slice(0, MAX_BUILDS_PER_NOTICE).map((j) => noticeBuild(j, sinceOf(input)));
  return planned({ name: SUGGESTER_RULE, sink, to }, `${input.suggestion.id}:${SUGGESTER_RULE}`, input, builds, at);
}

interface Planning { name: string; sink: string; perBuilder?: true; to?: string }

function planned(p: Planning, id: string, input: PlanInput, builds: NoticeBuild[], at: number): PlannedNotification {
  const s = input.suggestion;
  const notice: Notice = {
    id, rule: p.name, suggestion: s.id, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
    ...summary(builds), builds, at, ...(p.perBuilder ? { perBuilder: true as const } : {}), ...(p.to !== undefined ? { to: p.to } : {}),
  };
  return { id, sink: p.sink, rule: p.name, payload: JSON.stringify(notice) };
}
