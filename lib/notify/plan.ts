// The planner the record calls inside each commit: which rules a stored report (or a suggestion it completed) meets, as notices.
import type { NotificationPlanner, PlannedNotification, PlanInput, JudgedReport } from '../store/store.js';
import { MAX_SINCE_GREEN, noticeBuild, summary, type Notice, type NoticeBuild } from './notice.js';
import { compileRule, type CompiledRule, type Rule } from './rules.js';
import { transition } from './transition.js';

/** Builds one suggestion's message lists at most: beyond it the rest is on its page. */
export const MAX_BUILDS_PER_NOTICE = 100;

export function planner(rules: readonly Rule[], now: () => number = Date.now): NotificationPlanner {
  const compiled = rules.map(compileRule);
  return (input) => compiled.flatMap((rule) => planRule(rule, input, now()));
}

function meets(rule: CompiledRule, j: JudgedReport): boolean {
  return rule.builder(j.report.builder) && rule.wants(j.report.verdict, transition(j.lastVerdict, j.report.verdict));
}

function planRule(rule: CompiledRule, input: PlanInput, at: number): PlannedNotification[] {
  const s = input.suggestion;
  if (!rule.cell(s.project, s.branch)) return [];
  const since = (builder: string): string[] => input.sinceGreen(builder, MAX_SINCE_GREEN);
  if (rule.perBuilder) {
    const r = input.judged.report;
    if (!meets(rule, input.judged)) return [];
    return [planned(rule, `${s.id}:${rule.name}:${r.builder}:${r.verdict}`, input, [noticeBuild(input.judged, since)], at)];
  }
  if (!input.complete) return [];
  const builds = input.complete.filter((j) => meets(rule, j)).slice(0, MAX_BUILDS_PER_NOTICE).map((j) => noticeBuild(j, since));
  return builds.length ? [planned(rule, `${s.id}:${rule.name}`, input, builds, at)] : [];
}

function planned(rule: CompiledRule, id: string, input: PlanInput, builds: NoticeBuild[], at: number): PlannedNotification {
  const s = input.suggestion;
  const notice: Notice = {
    id, rule: rule.name, suggestion: s.id, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
    ...summary(builds), builds, at, ...(rule.perBuilder ? { perBuilder: true as const } : {}),
  };
  return { id, sink: rule.sink, rule: rule.name, payload: JSON.stringify(notice) };
}
