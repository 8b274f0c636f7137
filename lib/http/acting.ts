// Acting on builds over HTTP, behind the suggest token: `POST /api/v1/suggestions/:id/cancel` and `.../rerun`.
import type { FastifyInstance } from 'fastify';
import type { Relay } from '../master/relay.js';
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

export function registerActing(app: FastifyInstance, deps: ActingDeps): void {
  app.post('/api/v1/suggestions/:id/cancel', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_RULE.test(id)) return reply.code(404).send({ error: noSuch(id) });
    const body = bodyOf(req.body, ['builder', 'reason']);
    if (typeof body === 'string') return reply.code(400).send({ error: body });
    const bad = fieldProblem(body, 'builder', 128, builderNameProblem) ?? fieldProblem(body, 'reason', MAX_REASON_CHARS);
    if (bad) return reply.code(400).send({ error: bad });
    const outcome = await deps.relay.cancel(id, `${req.ip} (http)`, {
      ...(body.builder !== undefined ? { builder: body.builder as string } : {}), ...(body.reason !== undefined ? { reason: body.reason as string } : {}),
    });
    if (!outcome.ok) return reply.code(outcome.status).send({ error: outcome.error });
    const { ok: _ok, ...answer } = outcome;
    return reply.code(200).send(answer);
  });

  app.post('/api/v1/suggestions/:id/rerun', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!ID_RULE.test(id)) return reply.code(404).send({ error: noSuch(id) });
    const body = bodyOf(req.body, ['builder', 'on']);
    if (typeof body === 'string') return reply.code(400).send({ error: body });
    const bad = fieldProblem(body, 'builder', 128, builderNameProblem);
    if (bad) return reply.code(400).send({ error: bad });
    const selectorBad = fieldProblem(body, 'on', MAX_SELECTOR_CHARS, selectorProblem);
    if (selectorBad) return reply.code(422).send({ error: selectorBad });
    if (body.builder !== undefined && body.on !== undefined) return reply.code(400).send({ error: 'give builder or on, not both' });
    const old = await deps.history.suggestionView(id);
    if (!old) return reply.code(404).send({ error: noSuch(id) });
    // The same project, branch and revision, for the same builders unless told otherwise.
    const builder = (body.builder as string | undefined) ?? (body.on === undefined ? old.builder : undefined);
    const on = (body.on as string | undefined) ?? (body.builder === undefined ? old.on : undefined);
    const request = {
      project: old.project, branch: old.branch, ...(old.revision ? { revision: old.revision } : {}), rerunOf: old.id,
      ...(builder !== undefined ? { builder } : {}), ...(on !== undefined ? { on } : {}),
    };
    const outcome = await suggestOverHttp(deps.relay, deps.suggestToken, req.ip, req.socket.remotePort ?? 0, request);
    if (!outcome.ok) return reply.code(outcome.status).send({ error: outcome.error });
    if (!('accepted' in outcome)) return reply.code(503).send({ error: 'the master answered a rerun with a dry run' });
    const { type: _t, ref: _r, ...accepted } = outcome.accepted;
    return reply.code(201).send({ ...accepted, rerunOf: old.id });
  });
}
