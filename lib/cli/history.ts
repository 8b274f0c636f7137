// `simplebb history`: reports, newest first, filtered as the API filters them, page after page up to --limit.
import type { Api } from './api.js';
import type { HistoryFilters } from './args.js';
import { clock, duration, exitStatus, str, verdictColour } from './format.js';
import { jsonLine, type Output } from './output.js';
import { collect } from './pages.js';
import type { Report } from './shapes.js';
import { table } from './table.js';

export interface HistoryAsk { filters: HistoryFilters; failing: boolean; limit: number }

/** Exit 1: `--failing` found a red build. */
const FOUND_FAILING = 1;

export async function history(api: Api, out: Output, ask: HistoryAsk): Promise<number> {
  const { items, more } = await collect<Report>(api, '/api/v1/reports', 'reports', { ...ask.filters, ...(ask.failing ? { failing: '1' } : {}) }, ask.limit);
  const code = ask.failing && items.length ? FOUND_FAILING : 0;
  if (out.json) {
    for (const r of items) out.write(jsonLine(r));
    return code;
  }
  if (!items.length) {
    out.write(ask.failing ? 'nothing failing\n' : 'no reports\n');
    return code;
  }
  out.write(table(['WHEN', 'PROJECT', 'BRANCH', 'BUILDER', 'VERDICT', 'EXIT', 'TOOK', 'ID'], items.map((r) => [
    clock(r.receivedAt), str(r.project), str(r.branch), str(r.builder), { text: str(r.verdict), colour: verdictColour(r.verdict) },
    exitStatus(r), duration(r.durationMs), str(r.id),
  ]), out.colour));
  if (more) out.write(`(the newest ${items.length}; --limit N for more)\n`);
  return code;
}
