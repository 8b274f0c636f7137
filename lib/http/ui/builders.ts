// Every builder the record knows: online since when (or last seen), its system, Node, projects and what it runs now.
import type { Board } from '../../master/board.js';
import { SCRIPT_PREFIX, type Labels } from '../../protocol/labels.js';
import type { Uname } from '../../protocol/messages.js';
import type { History } from '../../store/history.js';
import { ago, shortId, when } from './format.js';
import { html, seg, type Html } from './html.js';
import { page } from './layout.js';

function system(u: Uname | undefined): string {
  return u ? `${u.type} ${u.release} ${u.machine} (${u.hostname})` : '–';
}

/** A builder's labels as chips, `script:*` left out (the projects column has them). */
function labelChips(labels: Labels | undefined): Html | string {
  const names = Object.keys(labels ?? {}).filter((k) => !k.startsWith(SCRIPT_PREFIX)).sort();
  if (!labels || names.length === 0) return '–';
  return html`<span class="labels">${names.map((k) => html`<code class="label">${k}=${labels[k]!}</code> `)}</span>`;
}

export async function buildersPage(history: History, board: Board, now: number): Promise<Html> {
  const online = board.builders();
  const names = new Set(online.map((b) => b.name));
  const offline = (await history.builderNames()).filter((b) => !names.has(b.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  // An offline builder's system and Node are those of its newest report.
  const last = await Promise.all(offline.map(async (b) => (await history.reports({ builder: b.name, limit: 1 }))[0]));
  const rows = [
    ...online.map((b) => html`<tr id="b-${b.name}">
<th scope="row">${b.name}</th>
<td><span class="on">● online</span><br><small>since ${when(b.since)} · ${b.address}</small></td>
<td>${system(b.uname)}</td><td>${b.node}</td>
<td>${labelChips(b.labels)}</td>
<td>${b.projects.length === 0 ? '–' : b.projects.map((p, i) => html`${i > 0 ? ', ' : ''}<a href="/p/${seg(p)}">${p}</a>`)}</td>
<td>${b.running.length === 0 ? html`<span class="none">idle</span>` : b.running.map((r) => html`<div><span class="run">▶</span> <a href="/s/${seg(r.id)}" title="${r.id}">${r.project ?? shortId(r.id)}${r.branch ? ` ${r.branch}` : ''}</a> <small>for ${ago(r.startedAt, now).replace(' ago', '')}</small></div>`)}
<div><small>${b.jobs} job${b.jobs === 1 ? '' : 's'} at a time</small></div></td>
</tr>`),
    ...offline.map((b, i) => html`<tr id="b-${b.name}">
<th scope="row">${b.name}</th>
<td><span class="off">○ offline</span><br><small>last seen ${when(b.lastSeen)} (${ago(b.lastSeen, now)})</small></td>
<td>${system(last[i]?.uname)}</td><td>${last[i]?.node ?? '–'}</td><td>${labelChips(b.labels)}</td><td>–</td><td>–</td>
</tr>`),
  ];
  const main = rows.length === 0
    ? html`<h1>Builders</h1><p class="explain">No builder has connected to this master yet.</p>`
    : html`<h1>Builders</h1>
<p class="explain">${online.length} online, ${offline.length} offline. An offline builder's system and Node are from its newest report.</p>
<div class="scroll"><table>
<thead><tr><th scope="col">builder</th><th scope="col">state</th><th scope="col">system</th><th scope="col">Node</th><th scope="col">labels</th><th scope="col">projects</th><th scope="col">runs now</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`;
  return page('Builders', 'builders', main);
}
