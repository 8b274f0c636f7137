// How long a builder's build of a project and branch usually takes, read from the record: the median of its newest successful builds.
import { USUAL_SAMPLE, usualMs } from '../master/whereabouts.js';
import type { History } from '../store/history.js';

/** The usual duration (ms) of `builder`'s builds of project × branch, or undefined when it has no successful one. */
export async function usualDuration(history: History, project: string, branch: string, builder: string): Promise<number | undefined> {
  const reports = await history.reports({ project, branch, builder, verdict: 'success', limit: USUAL_SAMPLE });
  return usualMs(reports.map((r) => r.durationMs));
}
