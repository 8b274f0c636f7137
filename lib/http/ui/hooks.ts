// The webhook deliveries, newest first: which forge sent what, from where, and what it did (a suggestion, a skip
// and why, or the reason it failed), paged like the API ("older").
import type { History } from '../../store/history.js';
import type { HookDelivery } from '../../store/store.js';
import { hookCursor, limit, nextHookCursor, withoutBlanks } from '../query.js';
import { ago, when } from './format.js';
import { html, query, seg, type Html } from './html.js';
import { page } from './layout.js';

const MARK: Readonly<Record<HookDelivery['state'], string>> = { pending: '… pending', done: '✓ done', failed: '✗ failed' };
const CLASS: Readonly<Record<HookDelivery['state'], string>> = { pending: 'v-offered', done: 'v-success', failed: 'v-failure' };

export async function hooksPage(history: History, given: Record<string, unknown>, now: number): Promise<Html> {
  const q = withoutBlanks(given);
  const n = limit(q);
  const cursor = hookCursor(q);
  const list = await history.hookDeliveries(n + 1, cursor);
  const shown = list.slice(0, n);
  const older = list.length > n ? query({ ...(q.limit !== undefined ? { limit: String(n) } : {}), cursor: nextHookCursor(shown.at(-1)!) }) : undefined;
  const main = html`<h1>Webhook deliveries</h1>
${shown.length === 0 ? html`<p class="explain">No webhook deliveries${cursor ? ' older than these' : ''}. A master takes them with <code>--hooks FILE</code>; <code>simplebb hook test</code> sends one signed as a forge would.</p>` : html`<div class="scroll"><table>
<thead><tr><th scope="col">received</th><th scope="col">forge</th><th scope="col">event</th><th scope="col">delivery</th><th scope="col">state</th><th scope="col">what it did</th></tr></thead>
<tbody>
${shown.map((h) => html`<tr>
<td>${when(h.receivedAt)}<br><small>${ago(h.receivedAt, now)} from ${h.address}</small></td>
<td>${h.forge}</td><td>${h.event}</td><td><code>${h.delivery.length > 40 ? `${h.delivery.slice(0, 40)}…` : h.delivery}</code></td>
<td><span class="v ${CLASS[h.state]}">${MARK[h.state]}</span></td>
<td>${h.outcome ?? ''}${h.suggestion ? html` · <a href="/s/${seg(h.suggestion)}">the suggestion</a>` : ''}</td>
</tr>`)}
</tbody>
</table></div>`}
${older ? html`<p class="pager"><a rel="next" href="/hooks${older}">older →</a></p>` : cursor ? html`<p class="pager">No older ones. <a href="/hooks">← newest</a></p>` : ''}`;
  return page('Webhook deliveries', 'hooks', main);
}
