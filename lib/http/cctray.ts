// The CCTray feed (/cctray.xml): every project × branch × builder's newest outcome, in the XML that CCMenu, CCTray,
// Nevergreen and build monitors poll; a build under way is `Building`, and a cell with no outcome yet `Unknown`
// (labelled and timed by the build that runs now).
import type { Board } from '../master/board.js';
import { RED_VERDICTS, type History } from '../store/history.js';

/** Cells in one feed: the same bound as a metric's label sets (a monitor shows a wall, not a database). */
export const MAX_CCTRAY_CELLS = 1000;

interface FeedProject { name: string; activity: 'Sleeping' | 'Building'; status: 'Success' | 'Failure' | 'Unknown'; label: string; time: number; path: string }

/** One cell's name, as GoCD names its jobs in the same feed ("pipeline :: stage :: job"). */
export function cctrayName(project: string, branch: string, builder: string): string {
  return `${project} :: ${branch} :: ${builder}`;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe in an XML attribute: markup escaped, and the characters XML 1.0 cannot carry at all dropped. */
function attr(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * The feed's text. `base` is the address the client reached us by (`http://host:port`), put before each build's
 * page in `webUrl`; without one the links are paths.
 */
export async function cctrayXml(history: History, board: Board, base = ''): Promise<string> {
  const projects: FeedProject[] = [];
  const seen = new Set<string>();
  for (const r of await history.reports({ latest: true, limit: MAX_CCTRAY_CELLS })) {
    seen.add(JSON.stringify([r.project, r.branch, r.builder]));
    projects.push({
      name: cctrayName(r.project, r.branch, r.builder),
      activity: board.running(r.project, r.branch, r.builder) ? 'Building' : 'Sleeping',
      status: r.verdict === 'success' ? 'Success' : RED_VERDICTS.has(r.verdict) ? 'Failure' : 'Unknown',
      label: r.id, time: r.receivedAt, path: `/b/${encodeURIComponent(r.id)}/${encodeURIComponent(r.builder)}`,
    });
  }
  // A cell whose first build runs now has no outcome yet; a monitor still shows it building.
  for (const b of board.builders()) {
    for (const run of b.running) {
      if (run.project === undefined || run.branch === undefined || projects.length >= MAX_CCTRAY_CELLS) continue;
      const key = JSON.stringify([run.project, run.branch, b.name]);
      if (seen.has(key)) continue;
      seen.add(key);
      projects.push({
        name: cctrayName(run.project, run.branch, b.name), activity: 'Building', status: 'Unknown',
        label: run.id, time: run.startedAt, path: `/b/${encodeURIComponent(run.id)}/${encodeURIComponent(b.name)}`,
      });
    }
  }
  projects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = projects.map((p) => `  <Project name="${attr(p.name)}" activity="${p.activity}" lastBuildStatus="${p.status}"`
    + ` lastBuildLabel="${attr(p.label)}" lastBuildTime="${new Date(p.time).toISOString()}" webUrl="${attr(base + p.path)}"/>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Projects>\n${lines.map((l) => `${l}\n`).join('')}</Projects>\n`;
}
