// `GET /api/v1/queue`: the `one` orders waiting for a builder, in the order they are served, each with why it waits.
import type { FastifyInstance } from 'fastify';
import type { Relay } from '../master/relay.js';
import { integer } from './query.js';

/** Orders one answer lists by default, and at most (`total` counts them all). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

export function registerQueue(app: FastifyInstance, relay: Relay): void {
  app.get('/api/v1/queue', async (req) => {
    const q = req.query as Record<string, unknown>;
    const limit = integer(q, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
    const orders = relay.queued(limit).map((o) => {
      const s = o.suggestion;
      return {
        id: s.id, seq: s.seq, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}), ...(s.on !== undefined ? { on: s.on } : {}),
        from: s.from, createdAt: s.createdAt, attempt: o.attempt, of: 1 + (s.one?.retries ?? 0), queuedAt: o.queuedAt, ahead: o.ahead, tried: o.tried, why: o.why,
      };
    });
    return { total: relay.queueSize, orders };
  });
}
