// Acting on builds over HTTP, behind the suggest token: `POST /api/v1/suggestions/:id/cancel` and `.../rerun`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CancelOutcome, Relay } from '../master/relay.js';
import { builderNameProblem, ID_RULE } from '../protocol/names.js';
import { MAX_SELECTOR_CHARS, selectorProblem } from '../protocol/selector.js';
import type { History } from '../store/history.js';
import { suggestOverHttp } from './webSuggester.js';

export interface ActingDeps {
  relay: Relay;
  history: History;
  suggestToken?: string;
}

/** A cancel's reason is a line in a report's message, not a letter. */
export const MAX_REASON_CHARS = 1000;

type Body = Record<string, unknown>;

/** The body as an object of only these keys (none at all is an empty body), or the one line saying what is wrong. */
function bodyOf(raw: unknown, keys: readonly string[]): Body | string {
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return `the body must be a JSON object with at most ${keys.join(', ')}`;
  for (const k of Object.keys(raw)) if (!keys.includes(k)) return `unknown field ${JSON.stringify(k.slice(0, 40))}: the body may have ${keys.join(', ')}`;
  return raw as Body;
}

/** What is wrong with an optional string field, by `problem`'s rule, or null. */
function fieldProblem(b: Body, name: string, max: number, problem: (v: string) => string | null = () => null): string | null {
  const v = b[name];
  if (v === undefined) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) return `${name}: must be a string of 1 to ${max} characters`;
  const p = problem(v);
  return p ? `${name}: ${p}` : null;
}

const noSuch = (id: string): string => `no such suggestion: ${JSON.stringify(id.slice(0, 64))}`;

/**
 * Only JSON (or no body): a form post, which any web page can make a browser send without asking, must not cancel
 * builds where writes are open (the pages' buttons have their own routes, which check the origin).
 */
function notJson(req: FastifyRequest): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && !/^application\/json\s*(;|$)/i.test(type);
}

const JSON_ONLY = 'the body must be JSON (Content-Type: application/json)';

export function registerActing(app: FastifyInstance, deps: ActingDeps): void {
  app.post('/api/v1/suggestions/:id/cancel', async (req, reply) => {
    if (notJson(req)) return reply.code(415).send({ error: JSON_ONLY });
    const { id } = req.params as { id: string };
    const outcome = await cancel(deps.relay, id, req.body, `${req.ip} (http)`);
    if (!outcome.ok) return reply.code(outcome.status).send({ error: outcome.error });
    const { ok: _ok, ...answer } = outcome;
    return reply.code(200).send(answer);
  });

  app.post('/api/v1/suggestions/:id/rerun', async (req, reply) => {
    if (notJson(req)) return reply.code(415).send({ error: JSON_ONLY });
    const { id } = req.params as { id: string };
    const outcome = await rerun(deps, id, req.body, req.ip, req.socket.remotePort ?? 0);
    return reply.code(outcome.status).send(outcome.ok ? outcome.accepted : { error: outcome.error });
  });
}

export type RerunOutcome = { ok: true; status: 201; accepted: Record<string, unknown> & { id: string } } | { ok: false; status: number; error: string };

/** Suggests again what suggestion `id` built, from `address`: the API's and the pages' rerun. */
export async function rerun(deps: ActingDeps, id: string, raw: unknown, address: string, port: number): Promise<RerunOutcome> {
  if (!ID_RULE.test(id)) return { ok: false, status: 404, error: noSuch(id) };
  const body = bodyOf(raw, ['builder', 'on']);
  if (typeof body === 'string') return { ok: false, status: 400, error: body };
  const bad = fieldProblem(body, 'builder', 128, builderNameProblem);
  if (bad) return { ok: false, status: 400, error: bad };
  const selectorBad = fieldProblem(body, 'on', MAX_SELECTOR_CHARS, selectorProblem);
  if (selectorBad) return { ok: false, status: 422, error: selectorBad };
  if (body.builder !== undefined && body.on !== undefined) return { ok: false, status: 400, error: 'give builder or on, not both' };
  const old = await deps.history.suggestionView(id);
  if (!old) return { ok: false, status: 404, error: noSuch(id) };
  // The same project, branch and revision, for the same builders unless told otherwise.
  const builder = (body.builder as string | undefined) ?? (body.on === undefined ? old.builder : undefined);
  const on = (body.on as string | undefined) ?? (body.builder === undefined ? old.on : undefined);
  const request = {
    project: old.project, branch: old.branch, ...(old.revision ? { revision: old.revision } : {}), rerunOf: old.id,
    ...(builder !== undefined ? { builder } : {}), ...(on !== undefined ? { on } : {}),
  };
  const outcome = await suggestOverHttp(deps.relay, deps.suggestToken, address, port, request);
  if (!outcome.ok) return outcome;
  if (!('accepted' in outcome)) return { ok: false, status: 503, error: 'the master answered a rerun with a dry run' };
  const { type: _t, ref: _r, ...accepted } = outcome.accepted;
  return { ok: true, status: 201, accepted: { ...accepted, rerunOf: old.id } };
}

/** Cancels suggestion `id`'s builds (or `builder`'s) in the name of `by`: the API's and the pages' cancel. */
export async function cancel(relay: Relay, id: string, raw: unknown, by: string): Promise<CancelOutcome> {
  if (!ID_RULE.test(id)) return { ok: false, status: 404, error: noSuch(id) };
  const body = bodyOf(raw, ['builder', 'reason']);
  if (typeof body === 'string') return { ok: false, status: 400, error: body };
  const bad = fieldProblem(body, 'builder', 128, builderNameProblem) ?? fieldProblem(body, 'reason', MAX_REASON_CHARS);
  if (bad) return { ok: false, status: 400, error: bad };
  return relay.cancel(id, by, {
    ...(body.builder !== undefined ? { builder: body.builder as string } : {}), ...(body.reason !== undefined ? { reason: body.reason as string } : {}),
  });
}
