// `simplebb status`: the builders (online or not, since when, what each runs now) and the newest verdict of every
// project × branch × builder, failing ones first.
import type { Api } from './api.js';
import { ago, duration, exitStatus, isFailing, str, verdictColour } from './format.js';
import { jsonLine, tagged, type Output } from './output.js';
import { collect } from './pages.js';
import { pageIn, type Builder, type Report, type Running } from './shapes.js';
import { table, type Cell } from './table.js';

/** The most newest-verdict rows status reads (20 pages): a farm with more is asked with history's filters instead. */
export const MAX_STATUS_REPORTS = 10_000;

/** A builder's builds now: `foo main (12.0 s)`, comma-separated. */
function runningText(running: Running[] | undefined, now: number): string {
  if (!Array.isArray(running) || !running.length) return '';
  return running.map((r) => `${str(r.project)} ${str(r.branch)}${typeof r.startedAt === 'number' ? ` (${duration(now - r.startedAt)})` : ''}`).join(', ');
}

/** A builder's labels, `script:*` left out (one per project): `arch=x64 os=linux`. */
function labelsText(labels: Record<string, string> | undefined): string {
  if (!labels || typeof labels !== 'object') return '';
  return Object.keys(labels).filter((k) => !k.startsWith('script:')).sort().map((k) => `${k}=${str(labels[k])}`).join(' ');
}

/** The rows of the newest verdicts: one per project × branch × builder. */
export function verdictRows(reports: Report[], now: number): Cell[][] {
  return reports.map((r) => [
    str(r.project), str(r.branch), str(r.builder), { text: str(r.verdict), colour: verdictColour(r.verdict) }, exitStatus(r),
    duration(r.durationMs), ago(r.receivedAt, now), str(r.id),
  ]);
}

export async function status(api: Api, out: Output, now = Date.now()): Promise<number> {
  const [builders, latest] = await Promise.all([
    api.json('/api/v1/builders').then((body) => pageIn<Builder>(body, 'builders', '/api/v1/builders').items),
    collect<Report>(api, '/api/v1/reports', 'reports', { latest: '1' }, MAX_STATUS_REPORTS),
  ]);
  // Failing first; otherwise in the master's order (newest first). Array.prototype.sort is stable.
  const reports = [...latest.items].sort((a, b) => Number(isFailing(b.verdict)) - Number(isFailing(a.verdict)));
  if (out.json) {
    for (const b of builders) out.write(jsonLine(tagged('builder', b)));
    for (const r of reports) out.write(jsonLine(tagged('report', r)));
    return 0;
  }
  if (builders.length) {
    out.write(table(['BUILDER', 'STATE', 'LAST SEEN', 'RUNNING', 'LABELS'], builders.map((b) => [
      str(b.name),
      b.online === true ? { text: 'online', colour: 'green' } : { text: 'offline', colour: 'dim' },
      b.online === true ? 'now' : ago(b.lastSeen, now),
      runningText(b.running, now),
      labelsText(b.labels),
    ]), out.colour));
  } else {
    out.write('no builders known\n');
  }
  out.write('\n');
  if (reports.length) {
    out.write(table(['PROJECT', 'BRANCH', 'BUILDER', 'VERDICT', 'EXIT', 'TOOK', 'WHEN', 'ID'], verdictRows(reports, now), out.colour));
    if (latest.more) out.write(`(only the newest ${MAX_STATUS_REPORTS} shown; narrow with simplebb history --project P --branch B)\n`);
  } else {
    out.write('no reports yet\n');
  }
  return 0;
}
