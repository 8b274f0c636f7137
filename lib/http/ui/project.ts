// A project's page: its builds newest first, a page at a time, under a trend of their durations.
import type { History } from '../../store/history.js';
import { limit, nextReportCursor, reportCursor, withoutBlanks } from '../query.js';
import { ago, duration, shortId, verdictMark, when } from './format.js';
import { html, query, seg, type Html } from './html.js';
import { notFound, page } from './layout.js';
import { trendSvg } from './trend.js';

/** How many of the newest reports the trend is drawn from. */
const TREND_READ = 200;

export async function projectPage(history: History, project: string, given: Record<string, unknown>, now: number): Promise<{ status: number; body: Html }> {
  const q = withoutBlanks(given);
  const n = limit(q);
  const after = reportCursor(q);
  const [list, recent] = await Promise.all([
    history.reports({ project, limit: n + 1, ...(after ? { after } : {}) }),
    history.reports({ project, limit: TREND_READ }),
  ]);
  if (recent.length === 0) return { status: 404, body: notFound(`There is no report of project ${JSON.stringify(project.slice(0, 128))} in this master's record.`) };
  const shown = list.slice(0, n);
  const older = list.length > n ? query({ ...(q.limit !== undefined ? { limit: String(n) } : {}), cursor: nextReportCursor(shown.at(-1)!) }) : undefined;
  const main = html`<h1>${project}</h1>
<p class="explain"><a href="/suggestions${query({ project })}">its suggestions</a> · badge: <img class="badge" src="/badge/${seg(project)}.svg" alt="build status badge of ${project}"></p>
${trendSvg(recent)}
<h2>Builds</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">verdict</th><th scope="col">branch</th><th scope="col">builder</th><th scope="col">revision</th><th scope="col">duration</th><th scope="col">reported</th><th scope="col">suggestion</th></tr></thead>
<tbody>
${shown.map((r) => html`<tr>
<td><a href="/b/${seg(r.id)}/${seg(r.builder)}">${verdictMark(r.verdict)}</a></td><td>${r.branch}</td><td>${r.builder}</td>
<td><code>${r.revision ? r.revision.slice(0, 12) : '–'}</code></td><td>${duration(r.durationMs)}</td>
<td>${when(r.receivedAt)}<br><small>${ago(r.receivedAt, now)}</small></td><td><a href="/s/${seg(r.id)}" title="${r.id}">${shortId(r.id)}</a></td>
</tr>`)}
</tbody>
</table></div>
${older ? html`<p class="pager"><a rel="next" href="/p/${seg(project)}${older}">older →</a></p>` : after ? html`<p class="pager">No older ones. <a href="/p/${seg(project)}">← newest</a></p>` : ''}`;
  return { status: 200, body: page(project, 'none', main) };
}
