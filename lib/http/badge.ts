// A project's badge: passing, failing, running (with the last verdict) or unknown, never a 404, drawn by badge-maker.
import type { Board } from '../master/board.js';
import { RED_VERDICTS, type History } from '../store/history.js';

export interface BadgeQuery { project: string; branch?: string; builder?: string }

/** The badge's words and colour: red now anywhere in scope is failing; a build under way says so beside the last verdict. */
export async function badgeState(history: History, board: Board, q: BadgeQuery): Promise<{ message: string; color: string }> {
  const latest = await history.reports({ latest: true, project: q.project, ...(q.branch ? { branch: q.branch } : {}), ...(q.builder ? { builder: q.builder } : {}), limit: 1000 });
  const last = latest.length === 0 ? 'unknown' : latest.some((r) => RED_VERDICTS.has(r.verdict)) ? 'failing' : 'passing';
  const color = last === 'failing' ? 'red' : last === 'passing' ? 'brightgreen' : 'lightgrey';
  if (board.running(q.project, q.branch, q.builder)) return { message: last === 'unknown' ? 'running' : `running, ${last}`, color: last === 'unknown' ? 'blue' : color };
  return { message: last, color };
}

/** Draws the badge; badge-maker (and its font metrics) is loaded at the first one. */
export async function badgeSvg(label: string, state: { message: string; color: string }): Promise<string> {
  const { makeBadge } = await import('badge-maker');
  return makeBadge({ label, message: state.message, color: state.color });
}
