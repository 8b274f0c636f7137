// `simplebb show ID [BUILDER]`: one suggestion with every builder's part in it, or one builder's report with its
// fields and the last lines of its output.
import type { Api } from './api.js';
import { clock, duration, exitStatus, NONE, str, verdictColour } from './format.js';
import { jsonLine, type Output } from './output.js';
import { objectIn, type Report, type Suggestion } from './shapes.js';
import { table, type Cell } from './table.js';
import { printable, terminalText } from '../suggest/printable.js';

/** Lines of a report's output that `show` prints; `logs` prints all of it. */
export const SHOWN_LINES = 10;

/** Name and value lines, the names aligned. */
function fields(rows: Array<[string, Cell]>, colour: boolean): string {
  return table(null, rows.filter(([, v]) => (typeof v === 'string' ? v : v.text) !== NONE), colour);
}

const path = (id: string, builder?: string): string => `/api/v1/${builder === undefined ? 'suggestions' : 'reports'}/${encodeURIComponent(id)}${builder === undefined ? '' : `/${encodeURIComponent(builder)}`}`;

export async function showSuggestion(api: Api, out: Output, id: string): Promise<number> {
  const s = objectIn<Suggestion>(await api.json(path(id), { notFound: `no such suggestion ${id}` }), 'the suggestion');
  if (out.json) {
    out.write(jsonLine(s));
    return 0;
  }
  out.write(fields([
    ['suggestion', `${str(s.id)}${typeof s.seq === 'number' ? ` (seq ${s.seq})` : ''}`], ['project', str(s.project)], ['branch', str(s.branch)],
    ['revision', str(s.revision)], ['from', str(s.from)], ['created', clock(s.createdAt)],
    ['rerun of', str(s.rerunOf)], ['only on', str(s.builder)],
  ], out.colour));
  const parts = Array.isArray(s.deliveries) ? s.deliveries.filter((d) => typeof d === 'object' && d !== null) : [];
  out.write('\n');
  if (!parts.length) {
    out.write('offered to no builder\n');
    return 0;
  }
  out.write(table(['BUILDER', 'STATE', 'AT', 'VERDICT', 'EXIT', 'TOOK'], parts.map((d) => [
    str(d.builder), str(d.state), clock(d.at), d.verdict === undefined ? NONE : { text: str(d.verdict), colour: verdictColour(d.verdict) },
    exitStatus(d), duration(d.durationMs),
  ]), out.colour));
  return 0;
}

/** The last `n` lines of `text`, without its final newline. */
function lastLines(text: string, n: number): string[] {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-n);
}

export async function showReport(api: Api, out: Output, id: string, builder: string): Promise<number> {
  const r = objectIn<Report>(await api.json(path(id, builder), { notFound: `no report of builder ${builder} for suggestion ${id}` }), 'the report');
  if (out.json) {
    out.write(jsonLine(r));
    return 0;
  }
  const u = r.uname && typeof r.uname === 'object' ? r.uname : undefined;
  const system = u ? [u.type, u.release, u.machine].filter((x) => typeof x === 'string').join(' ') + (typeof u.hostname === 'string' ? ` (${u.hostname})` : '') : NONE;
  const bytes = typeof r.outputBytes === 'number' ? `${r.outputBytes} bytes${typeof r.outputCut === 'number' && r.outputCut > 0 ? `, ${r.outputCut} cut from the middle` : ''}` : NONE;
  out.write(fields([
    ['report', `${str(r.id)}${typeof r.seq === 'number' ? ` (seq ${r.seq})` : ''} on ${str(r.builder)}`], ['project', str(r.project)],
    ['branch', str(r.branch)], ['revision', str(r.revision)], ['verdict', { text: str(r.verdict), colour: verdictColour(r.verdict) }],
    ['exit', exitStatus(r)], ['took', duration(r.durationMs)], ['started', clock(r.startedAt)], ['received', clock(r.receivedAt)],
    ['message', str(r.message)], ['node', str(r.node)], ['system', system || NONE], ['output', bytes],
  ], out.colour));
  if (typeof r.output === 'string' && r.output) {
    const shown = lastLines(r.output, SHOWN_LINES);
    out.write(`\nthe last ${shown.length} line${shown.length === 1 ? '' : 's'} of its output (all of it: simplebb logs ${id} ${builder}):\n`);
    const text = out.terminal ? terminalText(shown.join('\n'), out.colour) : printable(shown.join('\n'), true);
    out.write(text.split('\n').map((l) => `  │ ${l}`).join('\n') + (text.includes('\x1b[') ? '\x1b[0m\n' : '\n'));
  }
  return 0;
}
