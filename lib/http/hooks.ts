// The webhook endpoints, `POST /hooks/:forge`: the exact bytes of the body handed to the intake (which checks the
// signature before anything is parsed), a 25 MiB cap, and the answer it gives; plus the deliveries' API.
import type { FastifyInstance } from 'fastify';
import { FORGES, type ForgeName, type Headers } from '../forges/forge.js';
import type { History } from '../store/history.js';
import { hookCursor, limit, nextHookCursor } from './query.js';

/** GitHub's own cap on a delivery's payload: larger ones are never sent, so anything larger is not a forge. */
export const HOOK_BODY_LIMIT = 25 * 1024 * 1024;

/** What the master does with a delivery, as the route sees it: an answer with a status. */
export interface HookIntake {
  take(forge: ForgeName, headers: Headers, body: Buffer, address: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Registers the hook routes on `app` (the API's listener or one of their own). */
export function registerHooks(app: FastifyInstance, intake: HookIntake): void {
  void app.register(async (scope) => {
    // In this scope only: every body is taken as bytes, never parsed, whatever its content type says.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/hooks/:forge', { bodyLimit: HOOK_BODY_LIMIT }, async (req, reply) => {
      const { forge } = req.params as { forge: string };
      if (!(FORGES as readonly string[]).includes(forge)) return reply.code(404).send({ error: `no such forge: ${JSON.stringify(forge.slice(0, 32))} (${FORGES.join(', ')})` });
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await intake.take(forge as ForgeName, req.headers, body, req.ip);
      return reply.code(answer.status).send(answer.body);
    });
  });
}

/** `GET /api/v1/hooks`: the newest deliveries first, with what each did. */
export function registerHookDeliveries(app: FastifyInstance, history: History): void {
  app.get('/api/v1/hooks', async (req) => {
    const q = req.query as Record<string, unknown>;
    const n = limit(q);
    const list = await history.hookDeliveries(n + 1, hookCursor(q));
    const page = list.slice(0, n);
    return { hooks: page, ...(list.length > n ? { next: nextHookCursor(page.at(-1)!) } : {}) };
  });
}
