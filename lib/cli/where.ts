// `simplebb where PROJECT [--branch B]`: where the result of the newest suggestion is, builder by builder, with why.
import type { Api } from './api.js';
import { clock, str, verdictColour } from './format.js';
import { jsonLine, type Output } from './output.js';
import { objectIn } from './shapes.js';
import { table, type Colour } from './table.js';

interface Place { builder?: unknown; state?: unknown; reason?: unknown; verdict?: unknown }
interface WhereAnswer { suggestion?: { id?: unknown; project?: unknown; branch?: unknown; revision?: unknown; createdAt?: unknown; on?: unknown }; builders?: unknown }

/** A state's colour: as its verdict for reported ones, red for lost and overdue, yellow for the rest that will not report a build. */
function colour(p: Place): Colour | undefined {
  if (p.state === 'reported') return verdictColour(p.verdict);
  if (p.state === 'lost' || p.state === 'overdue') return 'red';
  return p.state === 'running' || p.state === 'waiting' || p.state === 'offline' ? undefined : 'yellow';
}

export async function where(api: Api, out: Output, project: string, branch: string | undefined): Promise<number> {
  const answer = objectIn<WhereAnswer>(await api.json('/api/v1/where', {
    query: { project, branch },
    notFound: `no suggestion of ${project}${branch !== undefined ? ` on branch ${branch}` : ''} in the master's record`,
  }), 'the where answer');
  const s = answer.suggestion ?? {};
  const places = (Array.isArray(answer.builders) ? answer.builders : []).filter((p): p is Place => typeof p === 'object' && p !== null);
  if (out.json) {
    for (const p of places) out.write(jsonLine({ id: s.id, project: s.project, branch: s.branch, ...p }));
    return 0;
  }
  const rev = typeof s.revision === 'string' ? ` at ${s.revision}` : '';
  const on = typeof s.on === 'string' ? ` on ${s.on}` : '';
  out.write(`${str(s.project)} ${str(s.branch)}${rev}${on}: suggestion ${str(s.id)} made at ${clock(s.createdAt)}\n`);
  if (places.length === 0) {
    out.write('no builder was expected to report\n');
    return 0;
  }
  out.write(table(['BUILDER', 'STATE', 'WHY'], places.map((p) => [str(p.builder), { text: str(p.state), colour: colour(p) }, str(p.reason)]), out.colour));
  return 0;
}
