// `GET /api/v1/notifications`: the outbox's newest entries first, with their state, attempts and last error.
import type { FastifyInstance } from 'fastify';
import type { Outbox } from '../store/store.js';
import { limit } from './query.js';

/** Registers the route; without an outbox (no --notify) it answers 404 saying how to turn notifications on. */
export function registerNotifications(app: FastifyInstance, outbox: Pick<Outbox, 'recent'> | undefined): void {
  app.get('/api/v1/notifications', async (req, reply) => {
    if (!outbox) return reply.code(404).send({ error: 'this master sends no notifications (start it with --notify FILE)' });
    return { notifications: await outbox.recent(limit(req.query as Record<string, unknown>)) };
  });
}
