// The pages' cancel and rerun buttons: form posts from the master's own pages by an operator (signed in with the
// suggest token, or where writes are open), taken to the same cancel and rerun as the API's, then back to a page.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Relay } from '../../master/relay.js';
import type { History } from '../../store/history.js';
import type { AccessRules } from '../access.js';
import { cancel, rerun } from '../acting.js';
import { fromOwnPage, mayAct } from '../operator.js';
import { html } from './html.js';
import { page } from './layout.js';
import { send } from './pages.js';

export interface ActionDeps {
  relay: Relay;
  history: History;
  access: AccessRules;
  now: () => number;
}

/** The page routes of the buttons: the request hook lets them through, and they check who asks themselves. */
export const ACTION_PATH = /^\/s\/[^/?]+\/(cancel|rerun)$/;

/** A form's fields but the empty ones (an empty reason or builder is no reason or builder). */
function fields(body: unknown, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const k of keys) {
    const v = (body as Record<string, unknown>)[k];
    if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  }
  return out;
}

function refused(req: FastifyRequest, deps: ActionDeps): string | undefined {
  if (!fromOwnPage(req.headers)) return 'This form may only be sent from this master\'s own pages.';
  if (!mayAct(deps.access, req.headers, deps.now())) return 'Cancel and rerun need an operator: sign in with the suggest token.';
  return undefined;
}

const problemPage = (title: string, why: string) => page(title, 'suggestions', html`<h1>${title}</h1>\n<p class="explain">${why}</p>`);

export function registerActions(app: FastifyInstance, deps: ActionDeps): void {
  app.post('/s/:id/cancel', async (req, reply) => {
    const { id } = req.params as { id: string };
    const no = refused(req, deps);
    if (no) return send(reply, 403, problemPage('Not cancelled', no));
    const outcome = await cancel(deps.relay, id, fields(req.body, ['builder', 'reason']), `${req.ip} (page)`);
    if (!outcome.ok) return send(reply, outcome.status, problemPage('Not cancelled', outcome.error));
    return reply.code(303).header('location', `/s/${encodeURIComponent(id)}`).send();
  });
  app.post('/s/:id/rerun', async (req, reply) => {
    const { id } = req.params as { id: string };
    const no = refused(req, deps);
    if (no) return send(reply, 403, problemPage('Not rerun', no));
    const outcome = await rerun({ relay: deps.relay, history: deps.history, ...(deps.access.suggestToken !== undefined ? { suggestToken: deps.access.suggestToken } : {}) },
      id, fields(req.body, ['builder']), req.ip, req.socket.remotePort ?? 0);
    if (!outcome.ok) return send(reply, outcome.status, problemPage('Not rerun', outcome.error));
    return reply.code(303).header('location', `/s/${encodeURIComponent(outcome.accepted.id)}`).send();
  });
}
