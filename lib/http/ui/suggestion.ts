// One suggestion: what was asked, by whom, and every builder's part in it with its verdict and a link to the build.
import type { OverdueWatch } from '../../master/overdue.js';
import type { History, SuggestionView } from '../../store/history.js';
import { cancelButton } from './buttons.js';
import { duration, overdueMark, stateMark, when } from './format.js';
import { html, seg, type Html } from './html.js';
import { notFound, page } from './layout.js';

/** A builder's part that cancel can still stop. */
const OPEN = new Set(['offered', 'received', 'started']);

/** The operator's buttons: cancel what is open (all, with a reason), and rerun (everywhere, or on one builder). */
function actions(s: SuggestionView, queued: boolean): Html {
  const open = s.deliveries.filter((d) => OPEN.has(d.state));
  const builders = [...new Set(s.deliveries.map((d) => d.builder))];
  return html`<div class="actions">
${open.length || queued ? html`<form method="post" action="/s/${seg(s.id)}/cancel" class="filters">
<label>reason <input name="reason" maxlength="1000" placeholder="optional"></label>
<button type="submit">cancel ${queued ? 'it (queued)' : open.length === 1 ? 'its build' : `its ${open.length} open builds`}</button>
</form>` : ''}
<form method="post" action="/s/${seg(s.id)}/rerun" class="filters">
${builders.length > 1 ? html`<label>on <select name="builder"><option value="">${s.builder ?? 'the same builders'}</option>${builders.map((b) => html`<option value="${b}">${b}</option>`)}</select></label>` : ''}
<button type="submit">rerun</button>
</form>
</div>`;
}

/** Where a `one` suggestion waiting in the dispatch queue stands, if it is one. */
export type QueuedOf = (id: string) => { ahead: number; attempt: number; why: string } | undefined;

export async function suggestionPage(history: History, id: string, overdue?: Pick<OverdueWatch, 'overdueOf'>, canAct = false, queuedOf?: QueuedOf): Promise<{ status: number; body: Html }> {
  const s = await history.suggestionView(id);
  if (!s) return { status: 404, body: notFound(`There is no suggestion ${JSON.stringify(id.slice(0, 64))} in this master's record.`) };
  const earlier = s.rerunOf !== undefined ? await history.suggestionView(s.rerunOf) : undefined;
  const queued = s.one ? queuedOf?.(s.id) : undefined;
  const main = html`<h1>Suggestion ${s.seq}: <a href="/p/${seg(s.project)}">${s.project}</a> ${s.branch}</h1>
<dl class="facts">
<dt>id</dt><dd><code>${s.id}</code></dd>
<dt>revision</dt><dd>${s.revision ? html`<code>${s.revision}</code>` : '– (the branch as each builder fetches it)'}</dd>
<dt>made</dt><dd>${when(s.createdAt)} from ${s.from}</dd>
${s.one ? html`<dt>to</dt><dd>one builder (--one), offered again up to ${s.one.retries} time${s.one.retries === 1 ? '' : 's'} if lost with its builder</dd>` : ''}
${s.rerunOf !== undefined ? html`<dt>rerun of</dt><dd>${earlier ? html`<a href="/s/${seg(earlier.id)}">#${earlier.seq}</a>` : html`<code>${s.rerunOf}</code>`}</dd>` : ''}
${s.builder !== undefined ? html`<dt>only</dt><dd>builder ${s.builder}</dd>` : ''}
${s.on !== undefined ? html`<dt>on</dt><dd><code>${s.on}</code></dd>` : ''}
</dl>
${queued ? html`<p class="explain queued">Queued${queued.attempt > 1 ? html` (attempt ${queued.attempt})` : ''}, behind ${queued.ahead} of ${s.project}: ${queued.why}.</p>` : ''}
${canAct ? actions(s, queued !== undefined) : ''}
${s.deliveries.length === 0 ? (queued ? '' : html`<p class="explain">No builder was connected when it was made, and none has taken it since.</p>`) : html`<div class="scroll"><table>
<thead><tr><th scope="col">builder</th><th scope="col">state</th><th scope="col">exit code</th><th scope="col">duration</th><th scope="col">since</th></tr></thead>
<tbody>
${s.deliveries.map((d) => html`<tr>
<th scope="row">${d.state === 'reported' || d.state === 'started' ? html`<a href="/b/${seg(s.id)}/${seg(d.builder)}">${d.builder}</a>` : d.builder}</th>
<td>${stateMark(d.state, d.verdict)}${d.state === 'started' ? overdueMark(overdue?.overdueOf(s.id, d.builder)) : ''}${canAct && OPEN.has(d.state) ? cancelButton(s.id, d.builder) : ''}</td><td>${d.exitCode ?? '–'}</td><td>${duration(d.durationMs)}</td><td>${when(d.at)}</td>
</tr>`)}
</tbody>
</table></div>`}`;
  return { status: 200, body: page(`Suggestion ${s.seq}`, 'suggestions', main) };
}
