// `GET /api/v1/where`: where the result of a project's (and branch's) newest suggestion is, builder by builder; the
// inputs are gathered here, the reasons are lib/master/whereabouts.ts's.
import type { FastifyInstance } from 'fastify';
import type { Board } from '../master/board.js';
import { whereabouts, type WhereOnline } from '../master/whereabouts.js';
import type { History } from '../store/history.js';
import { BadQuery, text } from './query.js';
import { usualDuration } from './usualDuration.js';

export interface WhereDeps {
  history: History;
  board: Board;
  /** How long an away builder's open builds wait for it (the relay's replay window). */
  replayWindowMs?: number;
  now?: () => number;
  /** A `one` suggestion waiting in the dispatch queue: where it stands there. */
  queued?: (id: string) => { ahead: number; attempt: number; why: string } | undefined;
}

/** Builders whose usual duration is looked up for one answer (a query each); the others are shown without one. */
const MAX_USUAL_LOOKUPS = 64;

/** The time of day on the master's clock, as "14:05". */
function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export function registerWhere(app: FastifyInstance, deps: WhereDeps): void {
  const now = deps.now ?? Date.now;
  app.get('/api/v1/where', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const project = text(q, 'project', 128);
    if (project === undefined) throw new BadQuery('project: required (where is the newest suggestion of which project?)');
    const branch = text(q, 'branch');
    const [newest] = await deps.history.suggestions({ project, ...(branch ? { branch } : {}), limit: 1 });
    if (!newest) return reply.code(404).send({ error: `no suggestion of ${project}${branch ? ` on branch ${branch}` : ''} in the record` });
    const { deliveries, ...suggestion } = newest;
    const online: WhereOnline[] = deps.board.builders().map((b) => ({
      name: b.name, labels: b.labels, jobs: b.jobs, running: new Map(b.running.map((r) => [r.id, r.startedAt])),
    }));
    const usual = new Map<string, number>();
    await Promise.all(deliveries.slice(0, MAX_USUAL_LOOKUPS).map(async (d) => {
      const ms = await usualDuration(deps.history, suggestion.project, suggestion.branch, d.builder);
      if (ms !== undefined) usual.set(d.builder, ms);
    }));
    const waiting = suggestion.one ? deps.queued?.(suggestion.id) : undefined;
    const builders = whereabouts({
      suggestion, deliveries, ...(waiting ? { queued: waiting } : {}), online, known: await deps.history.builderNames(), usual,
      ...(deps.replayWindowMs !== undefined ? { replayWindowMs: deps.replayWindowMs } : {}), now: now(), clock,
    });
    return { suggestion, builders };
  });
}
