// One build: its report (verdict, exit code, times, system, revision) and its kept output rendered as a terminal would.
import type { History } from '../../store/history.js';
import { bytes, duration, verdictMark, when } from './format.js';
import { html, seg, type Html } from './html.js';
import { notFound, page } from './layout.js';
import { renderLog } from './log.js';

export async function buildPage(history: History, id: string, builder: string): Promise<{ status: number; body: Html }> {
  const r = await history.report(id, builder);
  if (!r) return { status: 404, body: notFound(`There is no report of builder ${JSON.stringify(builder.slice(0, 128))} for suggestion ${JSON.stringify(id.slice(0, 64))}.`) };
  const raw = `/api/v1/reports/${seg(r.id)}/${seg(r.builder)}/log`;
  const main = html`<h1>${verdictMark(r.verdict)} <a href="/p/${seg(r.project)}">${r.project}</a> ${r.branch} on ${r.builder}</h1>
<dl class="facts">
<dt>verdict</dt><dd>${verdictMark(r.verdict)}${r.message ? html` <span class="msg">${r.message}</span>` : ''}</dd>
<dt>exit code</dt><dd>${r.exitCode}${r.signal ? ` (signal ${r.signal})` : ''}</dd>
<dt>started</dt><dd>${when(r.startedAt)}</dd>
<dt>reported</dt><dd>${when(r.receivedAt)}</dd>
<dt>duration</dt><dd>${duration(r.durationMs)}</dd>
<dt>revision</dt><dd><code>${r.revision ?? '–'}</code></dd>
<dt>suggestion</dt><dd><a href="/s/${seg(r.id)}"><code>${r.id}</code></a></dd>
<dt>system</dt><dd>${r.uname.type} ${r.uname.release} ${r.uname.machine} (${r.uname.hostname}) ${r.uname.version}</dd>
<dt>Node</dt><dd>${r.node}</dd>
<dt>output</dt><dd>${bytes(r.outputBytes)}${r.outputCut > 0 ? `, ${bytes(r.outputCut)} cut from the middle` : ''} · <a href="${raw}">plain text</a></dd>
</dl>
<h2 id="log">Log</h2>
${r.output === '' ? html`<p class="explain">The build printed nothing.</p>` : renderLog(r.output)}`;
  return { status: 200, body: page(`${r.project} ${r.branch} on ${r.builder}`, 'none', main) };
}
