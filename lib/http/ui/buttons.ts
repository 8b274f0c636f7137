// The operator's buttons as the pages draw them: small forms that post to lib/http/ui/actions.ts's routes.
import { html, seg, type Html } from './html.js';

/** A button that cancels `builder`'s build of suggestion `id` (only that builder's). */
export function cancelButton(id: string, builder: string, label = 'cancel'): Html {
  return html`<form method="post" action="/s/${seg(id)}/cancel" class="inline"><input type="hidden" name="builder" value="${builder}"><button type="submit" title="cancel ${builder}'s build">${label}</button></form>`;
}

/** A button that reruns suggestion `id` on `builder` only. */
export function rerunButton(id: string, builder: string, label = 'rerun'): Html {
  return html`<form method="post" action="/s/${seg(id)}/rerun" class="inline"><input type="hidden" name="builder" value="${builder}"><button type="submit" title="rerun on ${builder}">${label}</button></form>`;
}
