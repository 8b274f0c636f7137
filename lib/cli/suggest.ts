// `simplebb suggest PROJECT BRANCH`: the HTTP way to what simplebb-suggest does, with the suggest token.
import type { Api } from './api.js';
import { str } from './format.js';
import { jsonLine, type Output } from './output.js';
import { objectIn, type Accepted } from './shapes.js';
import { cellText } from './table.js';

/** Builders named in the line; the rest are counted. */
const LISTED = 20;

export async function suggest(api: Api, out: Output, ask: { project: string; branch: string; revision?: string; on?: string; notify?: string; one?: boolean }): Promise<number> {
  const a = objectIn<Accepted>(await api.post('/api/v1/suggestions', ask), 'the suggestion');
  if (out.json) {
    out.write(jsonLine(a));
    return 0;
  }
  out.write(cellText(acceptedLine(a)) + '\n');
  return 0;
}

/** An accepted suggestion in one line: "suggested foo main (0123abcd) as ID to 2 builders: b1, b2" (or queued for one). */
export function acceptedLine(a: Accepted): string {
  const builders = Array.isArray(a.builders) ? a.builders.map(str) : [];
  const count = typeof a.count === 'number' ? a.count : builders.length;
  const listed = builders.slice(0, LISTED).join(', ') + (count > Math.min(builders.length, LISTED) ? ', …' : '');
  const rev = typeof a.revision === 'string' ? ` (${a.revision.slice(0, 12)})` : '';
  const to = typeof a.queued === 'number' ? `to one builder: queued, ${a.queued} of ${str(a.project)} before it` : `to ${count} builder${count === 1 ? '' : 's'}${count ? `: ${listed}` : ''}`;
  return `suggested ${str(a.project)} ${str(a.branch)}${rev} as ${str(a.id)} ${to}`;
}
