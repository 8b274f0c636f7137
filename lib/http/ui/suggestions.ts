// The suggestion history, newest first, filtered by a plain GET form and paged by the API's cursor ("older").
import { VERDICTS } from '../../protocol/names.js';
import type { History, SuggestionView } from '../../store/history.js';
import { BadQuery, limit, text, verdict, withoutBlanks } from '../query.js';
import { ago, stateMark, when } from './format.js';
import { html, query, seg, type Html } from './html.js';
import { page } from './layout.js';

export async function suggestionsPage(history: History, given: Record<string, unknown>, now: number): Promise<Html> {
  const q = withoutBlanks(given);
  const f = { project: text(q, 'project', 128), branch: text(q, 'branch'), builder: text(q, 'builder', 128), verdict: verdict(q) };
  const n = limit(q);
  const cursor = text(q, 'cursor', 20);
  if (cursor !== undefined && !/^\d{1,16}$/.test(cursor)) throw new BadQuery('cursor: not one this page gave (follow its "older" link)');
  const list = await history.suggestions({
    ...(f.project ? { project: f.project } : {}), ...(f.branch ? { branch: f.branch } : {}), ...(f.builder ? { builder: f.builder } : {}),
    ...(f.verdict ? { verdict: f.verdict } : {}), ...(cursor ? { beforeSeq: Number(cursor) } : {}), limit: n + 1,
  });
  const shown = list.slice(0, n);
  const older = list.length > n ? query({ ...f, ...(q.limit !== undefined ? { limit: String(n) } : {}), cursor: String(shown.at(-1)!.seq) }) : undefined;
  const field = (name: 'project' | 'branch' | 'builder') => html`<label>${name} <input name="${name}" value="${f[name] ?? ''}" size="14"></label>`;
  const main = html`<h1>Suggestions</h1>
<form class="filters" method="get" action="/suggestions">
${field('project')} ${field('branch')} ${field('builder')}
<label>verdict <select name="verdict"><option value="">any</option>${VERDICTS.map((v) => html`<option${v === f.verdict ? html` selected` : ''}>${v}</option>`)}</select></label>
<button type="submit">Filter</button> <a href="/suggestions">clear</a>
</form>
${shown.length === 0 ? html`<p class="explain">No suggestion${cursor ? ' older than these' : ''} matches.</p>` : html`<div class="scroll"><table>
<thead><tr><th scope="col">#</th><th scope="col">made</th><th scope="col">project</th><th scope="col">branch</th><th scope="col">revision</th><th scope="col">builders</th></tr></thead>
<tbody>
${shown.map((s) => row(s, now))}
</tbody>
</table></div>`}
${older ? html`<p class="pager"><a rel="next" href="/suggestions${older}">older →</a></p>` : cursor ? html`<p class="pager">No older ones. <a href="/suggestions${query(f)}">← newest</a></p>` : ''}`;
  return page('Suggestions', 'suggestions', main);
}

function row(s: SuggestionView, now: number): Html {
  return html`<tr>
<td><a href="/s/${seg(s.id)}" title="${s.id}">${s.seq}</a></td>
<td>${when(s.createdAt)}<br><small>${ago(s.createdAt, now)} from ${s.from}</small></td>
<td><a href="/p/${seg(s.project)}">${s.project}</a></td><td>${s.branch}</td><td><code>${s.revision ? s.revision.slice(0, 12) : '–'}</code></td>
<td>${s.deliveries.length === 0 ? html`<span class="none">none connected</span>` : s.deliveries.map((d) => html`<div>${d.state === 'reported'
    ? html`<a href="/b/${seg(s.id)}/${seg(d.builder)}">${d.builder}</a>` : d.builder} ${stateMark(d.state, d.verdict)}</div>`)}</td>
</tr>`;
}
