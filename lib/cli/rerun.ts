// `simplebb rerun ID [--builder B | --on SELECTOR]`: a new suggestion of the same project, branch and revision, linked to the old one.
import type { Api } from './api.js';
import { jsonLine, type Output } from './output.js';
import { objectIn, type Accepted } from './shapes.js';
import { acceptedLine } from './suggest.js';
import { cellText } from './table.js';

export async function rerun(api: Api, out: Output, id: string, ask: { builder?: string; on?: string }): Promise<number> {
  const a = objectIn<Accepted & { rerunOf?: string }>(await api.post(`/api/v1/suggestions/${encodeURIComponent(id)}/rerun`, ask, {
    notFound: `no such suggestion ${id}`,
  }), 'the rerun');
  if (out.json) {
    out.write(jsonLine(a));
    return 0;
  }
  out.write(cellText(`rerun of ${id}: ${acceptedLine(a)}`) + '\n');
  return 0;
}
