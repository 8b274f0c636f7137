// The master's web pages on the HTTP app: server-rendered HTML that is whole with JavaScript off, under a CSP that
// lets them load only their own stylesheet and script and open only the master's event stream.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Board } from '../../master/board.js';
import type { LiveLogs } from '../../master/liveLogs.js';
import type { OverdueWatch } from '../../master/overdue.js';
import type { History } from '../../store/history.js';
import type { LogReader, Outbox } from '../../store/store.js';
import type { AccessRules } from '../access.js';
import { mayAct } from '../operator.js';
import { BadQuery } from '../query.js';
import { loadAssets } from './assets.js';
import { buildersPage } from './builders.js';
import { buildPage } from './build.js';
import { hooksPage } from './hooks.js';
import { notificationsPage } from './notifications.js';
import { html, type Html } from './html.js';
import { page } from './layout.js';
import { matrixPage } from './matrix.js';
import { projectPage } from './project.js';
import { suggestionPage, type QueuedOf } from './suggestion.js';
import { suggestionsPage } from './suggestions.js';

/** A page's policy: its own CSS and JS, images of its own (the badge) or inline SVG, the event stream; nothing else. */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface PageDeps {
  history: History;
  board: Board;
  /** Running builds' output (a build's page follows it); every build's whole log on disk. */
  live?: LiveLogs;
  logs?: LogReader;
  /** The notification outbox (with --notify). */
  notifications?: Pick<Outbox, 'recent'>;
  /** Which running builds are overdue (the build and suggestion pages say so). */
  overdue?: Pick<OverdueWatch, 'overdueOf'>;
  /** A `one` suggestion waiting in the dispatch queue: where it stands (the suggestion page says so). */
  queued?: QueuedOf;
  /** Who may read and write: the suggestion page offers cancel and rerun to whoever may act (operator.ts). */
  access?: AccessRules;
  now?: () => number;
}

/** Answers with a page, under the pages' CSP and never cached. */
export function send(reply: FastifyReply, status: number, body: Html): FastifyReply {
  return reply.code(status).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body.value);
}

/** Answers with a page sent as it is rendered (a build's log): the browser shows its first screen while the rest comes. */
function sendStream(reply: FastifyReply, chunks: AsyncIterable<string>): FastifyReply {
  return reply.code(200).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(Readable.from(chunks));
}

/** Renders a page; a bad filter is a 400 page naming the parameter, as the API would say it. */
async function answer(reply: FastifyReply, make: () => Promise<{ status: number; body: Html } | Html>): Promise<FastifyReply> {
  try {
    const made = await make();
    return 'status' in made ? send(reply, made.status, made.body) : send(reply, 200, made);
  } catch (err) {
    if (err instanceof BadQuery) return send(reply, 400, page('Bad request', 'none', html`<h1>Bad request</h1>\n<p class="explain">${err.message}</p>`));
    throw err;
  }
}

export function registerPages(app: FastifyInstance, deps: PageDeps): void {
  const { history, board } = deps;
  const now = deps.now ?? Date.now;
  const assets = loadAssets();
  for (const [path, a] of assets) {
    app.get(path, async (req, reply) => {
      void reply.header('etag', a.etag).header('cache-control', 'max-age=300');
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.type(a.type).send(a.body);
    });
  }
  app.get('/', (_req, reply) => answer(reply, () => matrixPage(history, board, now())));
  app.get('/builders', (_req, reply) => answer(reply, () => buildersPage(history, board, now())));
  app.get('/suggestions', (req, reply) => answer(reply, () => suggestionsPage(history, req.query as Record<string, unknown>, now())));
  app.get('/hooks', (req, reply) => answer(reply, () => hooksPage(history, req.query as Record<string, unknown>, now())));
  app.get('/notifications', (_req, reply) => answer(reply, () => notificationsPage(deps.notifications, now())));
  app.get('/s/:id', (req, reply) => answer(reply, () => suggestionPage(history, (req.params as { id: string }).id, deps.overdue,
    deps.access !== undefined && mayAct(deps.access, req.headers, now()), deps.queued)));
  app.get('/b/:id/:builder', (req, reply) => {
    const { id, builder } = req.params as { id: string; builder: string };
    const canAct = deps.access !== undefined && mayAct(deps.access, req.headers, now());
    return buildPage({ history, board, canAct, ...(deps.live ? { live: deps.live } : {}), ...(deps.logs ? { logs: deps.logs } : {}), ...(deps.overdue ? { overdue: deps.overdue } : {}) }, id, builder)
      .then((made) => ('stream' in made ? sendStream(reply, made.stream) : send(reply, made.status, made.body)));
  });
  app.get('/p/:project', (req, reply) => answer(reply, () => projectPage(history, (req.params as { project: string }).project, req.query as Record<string, unknown>, now())));
}
