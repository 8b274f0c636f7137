// The notification outbox as a page: what failed or still waits first (with its last error and next attempt), then
// what was sent, newest first; the same entries as /api/v1/notifications.
import type { NotificationEntry, Outbox } from '../../store/store.js';
import { ago, when } from './format.js';
import { html, seg, type Html } from './html.js';
import { page } from './layout.js';

/** Entries read for the page: the API's own largest page. */
const SHOWN = 200;

const MARK: Readonly<Record<NotificationEntry['state'], string>> = { pending: '… waiting', sent: '✓ sent', failed: '✗ given up' };
const CLASS: Readonly<Record<NotificationEntry['state'], string>> = { pending: 'v-lost', sent: 'v-success', failed: 'v-failure' };

/** An entry needs a look: given up, or tried and not taken yet. */
function troubled(e: NotificationEntry): boolean {
  return e.state === 'failed' || (e.state === 'pending' && e.attempts > 0);
}

function rows(list: readonly NotificationEntry[], now: number): Html {
  return html`<div class="scroll"><table>
<thead><tr><th scope="col">planned</th><th scope="col">sink</th><th scope="col">rule</th><th scope="col">state</th><th scope="col">attempts</th><th scope="col">last error · next attempt</th></tr></thead>
<tbody>
${list.map((e) => {
    // A notification's id begins with its suggestion's (SUGGESTION:RULE[:BUILDER:VERDICT]).
    const suggestion = e.id.split(':')[0]!;
    return html`<tr>
<td>${when(e.createdAt)}<br><small>${ago(e.createdAt, now)} · <a href="/s/${seg(suggestion)}">the suggestion</a></small></td>
<td>${e.sink}</td><td>${e.rule}</td>
<td><span class="v ${CLASS[e.state]}">${MARK[e.state]}</span></td>
<td>${String(e.attempts)}</td>
<td>${e.lastError ?? ''}${e.state === 'pending' && e.attempts > 0 ? html`<br><small>next ${e.nextAt <= now ? 'now' : `in ${Math.ceil((e.nextAt - now) / 1000)} s`}</small>` : ''}${e.doneAt !== undefined && e.state === 'sent' ? html`<small>sent ${ago(e.doneAt, now)}</small>` : ''}</td>
</tr>`;
  })}
</tbody>
</table></div>`;
}

export async function notificationsPage(outbox: Pick<Outbox, 'recent'> | undefined, now: number): Promise<Html> {
  if (!outbox) {
    return page('Notifications', 'notifications', html`<h1>Notifications</h1>
<p class="explain">This master sends no notifications. Start it with <code>--notify FILE</code> (docs/NOTIFICATIONS.md): mail, chat webhooks, after-scripts and commit statuses when builds break and are fixed.</p>`);
  }
  const list = await outbox.recent(SHOWN);
  const bad = list.filter(troubled);
  const rest = list.filter((e) => !troubled(e));
  return page('Notifications', 'notifications', html`<h1>Notifications</h1>
<p class="explain">The outbox: each notification is planned in the same commit as the report that causes it and sent until its sink takes it, with backoff; the newest ${String(SHOWN)}.</p>
<h2>Failing or given up (${String(bad.length)})</h2>
${bad.length ? rows(bad, now) : html`<p class="explain">None: every sink took what it was sent.</p>`}
<h2>Recent (${String(rest.length)})</h2>
${rest.length ? rows(rest, now) : html`<p class="explain">None yet.</p>`}`);
}
