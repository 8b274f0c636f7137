// The master's HTTP side as a fastify app: the JSON API, Server-Sent Events, a badge, metrics and the web pages (ui/)
// over the record's read side and the master's events. Handlers are functions of a request (fastify.inject tests
// them without a socket); listening, TLS and limits are the listener's business (listen()).
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Board } from '../master/board.js';
import type { LiveLogs } from '../master/liveLogs.js';
import type { OverdueWatch } from '../master/overdue.js';
import type { Relay } from '../master/relay.js';
import type { History } from '../store/history.js';
import type { LogReader, Outbox, PrunePlan } from '../store/store.js';
import { bearer, readRefusal, writeRefusal, type AccessRules } from './access.js';
import { badgeState, badgeSvg } from './badge.js';
import { cctrayXml } from './cctray.js';
import type { EventLog } from './eventLog.js';
import { BadQuery, flag, integer, label, limit, nextReportCursor, reportCursor, text, verdict } from './query.js';
import { registerNotifications } from './notifications.js';
import { HOOK_BODY_LIMIT, registerHookDeliveries, registerHooks, type HookIntake } from './hooks.js';
import { streamLines } from './ui/liveLines.js';
import { registerPages } from './ui/pages.js';
import { cookie, SESSION_COOKIE, validSession } from './session.js';
import { registerSignIn } from './ui/signIn.js';
import { suggestOverHttp } from './webSuggester.js';
import { registerActing } from './acting.js';
import { ACTION_PATH, registerActions } from './ui/actions.js';
import { registerQueue } from './queue.js';
import { registerWhere } from './where.js';

export interface HttpDeps {
  history: History;
  board: Board;
  relay: Relay;
  log: EventLog;
  live: LiveLogs;
  /** Every build's whole output on disk; without it a log is the report's kept output. */
  logs?: LogReader;
  metrics: Registry;
  /** Which running builds are overdue (pages say so). */
  overdue?: Pick<OverdueWatch, 'overdueOf'>;
  access: AccessRules;
  /** Webhooks from forges (POST /hooks/:forge), when configured; they prove themselves by signature, not by token. */
  hooks?: HookIntake;
  /** The notification outbox, when notifications are on (--notify). */
  notifications?: Pick<Outbox, 'recent'>;
  /** The URL of the listener that takes the webhooks instead (--hooks-http), named in this one's 404. */
  hooksElsewhere?: string;
  /** The clock (sessions expire by it). */
  now?: () => number;
  /** Serve HTTPS with the wire's certificate and key. */
  https?: { cert: Buffer; key: Buffer };
}

/** A body may be at most this large (a suggestion is a few hundred bytes). */
const BODY_LIMIT = 16 * 1024;
/**
 * The time limits, each against a client that holds a connection without finishing what it sends (a request's
 * head is a few hundred bytes, its body at most 16 KiB, or 25 MiB for a webhook from a forge's datacentre).
 * A request's head must be whole within this: a client dribbling header lines (slow loris) is answered 408 and cut.
 */
const HEADERS_TIMEOUT_MS = 5_000;
/** A request, head and body, must be whole within this. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A connection that sends nothing for this long is closed (event and log streams turn it off: they are quiet for long). */
const IDLE_TIMEOUT_MS = 10_000;
/** An idle keep-alive connection between requests is kept this long. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Node checks the header and request limits only this often (its default, 30 s, would let a slow client stay 40 s). */
const TIMEOUT_CHECK_MS = 1_000;
/** A TLS handshake must be done within this (Node's default is 120 s); a loopback one takes ~2 ms, across the world ~0.5 s. */
const TLS_HANDSHAKE_TIMEOUT_MS = 5_000;
/** A stream client may leave this much unread before it is closed (it can reconnect with its last id). */
const MAX_SSE_UNREAD = 1024 * 1024;
/** Badges and the CCTray feed may be cached this long: a monitor polls, and a verdict 30 s old is news enough. */
const BADGE_MAX_AGE_S = 30;
/** A comment this often keeps proxies from closing an idle stream. */
const SSE_KEEPALIVE_MS = 10_000;

/** Headers on every answer: nothing runs, frames or leaks from what we serve. */
export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function fail(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).send({ error });
}

export function createHttpApp(deps: HttpDeps): FastifyInstance {
  // maxParamLength: a builder name may have 128 characters and a badge's project 128 (fastify's default is 100).
  const options = {
    bodyLimit: BODY_LIMIT, requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: IDLE_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    return503OnClosing: true, routerOptions: { maxParamLength: 300 },
  };
  // Node's own HTTP server options (fastify passes them on): the header limit and how often the limits are checked.
  const node = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_MS };
  const app = (deps.https
    ? Fastify({ ...options, https: { ...node, ...deps.https, minVersion: 'TLSv1.2', handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } })
    : Fastify({ ...options, http: node })) as unknown as FastifyInstance;
  const { history, board, access } = deps;
  const now = deps.now ?? Date.now;

  app.addHook('onRequest', async (req, reply) => {
    void reply.headers(SECURITY_HEADERS);
    const path = req.url.split('?')[0]!;
    // The sign-in page and the files it needs are open; everything else follows the access rules.
    if (path === '/sign-in' || path === '/sign-out' || path.startsWith('/static/') || path.startsWith('/hooks/')) return;
    // The pages' cancel and rerun buttons check who asks themselves (an operator's cookie, the page's origin).
    if (req.method === 'POST' && ACTION_PATH.test(path)) return;
    const token = bearer(req.headers.authorization);
    const signedIn = access.readToken !== undefined && validSession(access.readToken, cookie(req.headers.cookie, SESSION_COOKIE), now());
    const refusal = req.method === 'POST' ? writeRefusal(access, token) : readRefusal(access, token, signedIn);
    if (!refusal) return;
    // A browser asking for a page is sent to sign in; a program gets the one-line answer.
    const page = req.method === 'GET' && !path.startsWith('/api/') && path !== '/metrics' && path !== '/cctray.xml' && !path.startsWith('/badge/') && /text\/html/.test(req.headers.accept ?? '');
    if (page && access.readToken !== undefined) return reply.code(303).header('location', '/sign-in').send();
    return fail(reply, 401, refusal);
  });
  registerSignIn(app, access, Boolean(deps.https), now);
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof BadQuery) return fail(reply, 400, err.message);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 503;
    // Fastify's own client errors (a body too large, bad JSON) in one line; anything else is the record failing.
    return fail(reply, status, status === 413 ? `the body is larger than ${_req.url.startsWith('/hooks/') ? HOOK_BODY_LIMIT : BODY_LIMIT} bytes` : status === 503 ? 'the master cannot read its record now' : err.message.split('\n')[0]!);
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, `no such page: ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`));

  app.get('/api/v1/builders', async () => {
    const online = board.builders();
    const names = new Set(online.map((b) => b.name));
    const offline = (await history.builderNames()).filter((b) => !names.has(b.name)).map((b) => ({ name: b.name, online: false, lastSeen: b.lastSeen, ...(b.labels ? { labels: b.labels } : {}) }));
    return { builders: [...online.map((b) => ({ ...b, online: true, lastSeen: b.since })), ...offline] };
  });

  app.get('/api/v1/suggestions', async (req) => {
    const q = req.query as Record<string, unknown>;
    const n = limit(q);
    const before = text(q, 'cursor', 20);
    if (before !== undefined && !/^\d{1,16}$/.test(before)) throw new BadQuery('cursor: not one this API gave (use the "next" of the page before)');
    const list = await history.suggestions({
      ...named(q), ...range(q), ...(verdict(q) ? { verdict: verdict(q)! } : {}), ...(before ? { beforeSeq: Number(before) } : {}), limit: n + 1,
    });
    const page = list.slice(0, n);
    return { suggestions: page, ...(list.length > n ? { next: String(page.at(-1)!.seq) } : {}) };
  });

  app.get('/api/v1/suggestions/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const view = await history.suggestionView(id);
    return view ?? fail(reply, 404, `no such suggestion: ${JSON.stringify(id.slice(0, 64))}`);
  });

  app.get('/api/v1/reports', async (req) => {
    const q = req.query as Record<string, unknown>;
    const n = limit(q);
    const after = reportCursor(q);
    const v = verdict(q);
    const l = label(q);
    const list = await history.reports({
      ...named(q), ...range(q), ...(v ? { verdict: v } : {}), ...(l ? { label: l } : {}), latest: flag(q, 'latest'), failing: flag(q, 'failing'), ...(after ? { after } : {}), limit: n + 1,
    });
    const page = list.slice(0, n);
    return { reports: page, ...(list.length > n ? { next: nextReportCursor(page.at(-1)!) } : {}) };
  });

  app.get('/api/v1/reports/:id/:builder', async (req, reply) => {
    const { id, builder } = req.params as { id: string; builder: string };
    const report = await history.report(id, builder);
    if (!report) return fail(reply, 404, `no report of builder ${JSON.stringify(builder.slice(0, 128))} for ${JSON.stringify(id.slice(0, 64))}`);
    const log = await history.log(id, builder);
    return { ...report, ...(log ? { log: { bytes: log.bytes, storedBytes: log.storedBytes, cut: log.cut, missing: log.missing } } : {}) };
  });

  app.get('/api/v1/reports/:id/:builder/log', async (req, reply) => {
    const { id, builder } = req.params as { id: string; builder: string };
    const report = await history.report(id, builder);
    // The whole log when one is kept (from the moment the report is in, it may take a moment to be compressed).
    const whole = report && (await history.log(id, builder)) ? deps.logs?.read(id, builder) : undefined;
    if (whole) return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(whole);
    if (report) return reply.type('text/plain; charset=utf-8').send(report.output);
    if (!deps.live.running(id, builder)) return fail(reply, 404, `no report of builder ${JSON.stringify(builder.slice(0, 128))} for ${JSON.stringify(id.slice(0, 64))}, and it does not run now`);
    followLog(deps, id, builder, reply);
  });

  // The log as server-rendered HTML lines over SSE, resumable by byte offset: a build's page follows it with it.
  app.get('/api/v1/reports/:id/:builder/log/lines', (req, reply) => {
    const { id, builder } = req.params as { id: string; builder: string };
    return streamLines({ history, board, live: deps.live, ...(deps.logs ? { logs: deps.logs } : {}) }, id, builder, req, reply, SECURITY_HEADERS);
  });

  // Retention of full logs: GET shows what a pass would remove now (`simplebb prune --dry-run`), POST removes it.
  app.get('/api/v1/prune', async (_req, reply) => deps.logs ? pruneAnswer(await deps.logs.prune(true)) : fail(reply, 404, 'this master keeps no full logs'));
  app.post('/api/v1/prune', async (_req, reply) => deps.logs ? pruneAnswer(await deps.logs.prune(false)) : fail(reply, 404, 'this master keeps no full logs'));

  app.post('/api/v1/suggestions', async (req, reply) => {
    const outcome = await suggestOverHttp(deps.relay, access.suggestToken, req.ip, req.socket.remotePort ?? 0, req.body);
    if (!outcome.ok) return fail(reply, outcome.status, outcome.error);
    if ('dryRun' in outcome) {
      const { type: _t, ref: _r, ...answer } = outcome.dryRun;
      return reply.code(200).send({ dryRun: true, ...answer });
    }
    const { type: _t, ref: _r, ...accepted } = outcome.accepted;
    return reply.code(201).send(accepted);
  });

  registerActing(app, { relay: deps.relay, history, ...(access.suggestToken !== undefined ? { suggestToken: access.suggestToken } : {}) });

  app.get('/api/v1/events', (req, reply) => streamEvents(deps.log, req, reply));

  app.get('/badge/:file', async (req, reply) => {
    const { file } = req.params as { file: string };
    const q = req.query as Record<string, unknown>;
    if (!file.endsWith('.svg')) return fail(reply, 404, 'a badge is /badge/PROJECT.svg');
    const project = file.slice(0, -4);
    const branch = text(q, 'branch');
    const builder = text(q, 'builder', 128);
    const svg = await badgeSvg(project, await badgeState(history, board, { project, ...(branch ? { branch } : {}), ...(builder ? { builder } : {}) }));
    return cached(req, reply, 'image/svg+xml; charset=utf-8', svg);
  });

  app.get('/cctray.xml', async (req, reply) => {
    const xml = await cctrayXml(history, board, origin(req, Boolean(deps.https)));
    return cached(req, reply, 'application/xml; charset=utf-8', xml);
  });

  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));

  registerWhere(app, { history, board, replayWindowMs: deps.relay.replayWindowMs, now, queued: (id) => deps.relay.queuedOne(id) });
  registerQueue(app, deps.relay);
  registerHookDeliveries(app, history);
  registerNotifications(app, deps.notifications);
  if (deps.hooks) registerHooks(app, deps.hooks);
  else {
    const why = deps.hooksElsewhere ? `this listener takes no webhooks: they go to ${deps.hooksElsewhere}/hooks/FORGE (--hooks-http)` : 'this master takes no webhooks (start it with --hooks FILE)';
    app.post('/hooks/:forge', async (_req, reply) => fail(reply, 404, why));
  }

  registerActions(app, { relay: deps.relay, history, access, now });
  registerPages(app, { history, board, access, live: deps.live, ...(deps.logs ? { logs: deps.logs } : {}), ...(deps.notifications ? { notifications: deps.notifications } : {}), ...(deps.overdue ? { overdue: deps.overdue } : {}), queued: (id) => deps.relay.queuedOne(id) });

  return app;
}

/** Sends what a monitor polls (a badge, the feed) with an ETag of its text and a short max-age; 304 when the client has it. */
function cached(req: FastifyRequest, reply: FastifyReply, type: string, body: string): FastifyReply {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  void reply.header('etag', etag).header('cache-control', `max-age=${BADGE_MAX_AGE_S}`);
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type(type).send(body);
}

/** The address the client reached us by, for absolute links; none (paths only) when its Host header is not a plain host[:port]. */
function origin(req: FastifyRequest, https: boolean): string {
  const host = req.headers.host;
  return host !== undefined && /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/.test(host) ? `${https ? 'https' : 'http'}://${host}` : '';
}

/** The project, branch and builder filters. */
function named(q: Record<string, unknown>): { project?: string; branch?: string; builder?: string } {
  const project = text(q, 'project', 128);
  const branch = text(q, 'branch');
  const builder = text(q, 'builder', 128);
  return { ...(project ? { project } : {}), ...(branch ? { branch } : {}), ...(builder ? { builder } : {}) };
}

function range(q: Record<string, unknown>): { since?: number; until?: number } {
  const since = integer(q, 'since', 0, 8.64e15);
  const until = integer(q, 'until', 0, 8.64e15);
  return { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

function pruneAnswer(plan: PrunePlan): Record<string, unknown> {
  return {
    dryRun: plan.dryRun, ...(Number.isFinite(plan.before) ? { before: plan.before } : {}), count: plan.logs.length, storedBytes: plan.storedBytes,
    logs: plan.logs.map((l) => ({ id: l.id, builder: l.builder, bytes: l.bytes, storedBytes: l.storedBytes, finishedAt: l.finishedAt })),
  };
}

/** A follower may leave this much of a running build's output unread before it is cut off. */
const MAX_LOG_UNREAD = 4 * 1024 * 1024;

/** Streams a running build's output as it comes, like `tail -f`, until its report (then the stream ends). */
function followLog(deps: HttpDeps, id: string, builder: string, reply: FastifyReply): void {
  void reply.hijack();
  const res = reply.raw;
  res.socket?.setTimeout(0); // a build may print nothing for minutes
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  // Sent now, not with the first output: a build may print nothing for long, and a follower waits for the head to know it follows.
  res.flushHeaders();
  // Taken in the same turn: the log so far on disk ends exactly where the first live piece begins.
  const sofar = deps.logs?.sofar(id, builder);
  // Pieces that come while the part on disk is still being sent wait here, in order.
  let held: Array<Buffer | 'end'> | undefined = sofar ? [] : undefined;
  let heldBytes = 0;
  const send = (piece: Buffer | 'end'): void => {
    if (held) {
      heldBytes += piece === 'end' ? 0 : piece.length;
      if (heldBytes > MAX_LOG_UNREAD) return void res.destroy();
      return void held.push(piece);
    }
    if (piece === 'end') return void res.end();
    if (res.writableLength > MAX_LOG_UNREAD) res.destroy();
    else res.write(piece);
  };
  const following = deps.live.follow(id, builder, (piece) => {
    if ('data' in piece) return send(piece.data);
    if (piece.end === 'gone') send(Buffer.from(`\n[simplebb: builder ${builder} went away during the build; its report will say how it ended]\n`));
    send('end');
  });
  if (!following) {
    sofar?.destroy();
    // It ended between the two looks: its report is in the record now.
    void deps.history.report(id, builder).then((r) => res.end(r?.output ?? ''), () => res.end());
    return;
  }
  res.on('close', () => {
    following.stop();
    sofar?.destroy();
  });
  if (!sofar) {
    if (following.dropped) res.write(`[simplebb: the first ${following.dropped} bytes of this build's output are not kept for live readers; the report keeps its first and last part]\n`);
    for (const c of following.kept) res.write(c);
    return;
  }
  sofar.on('data', (c: Buffer) => {
    if (!res.write(c)) {
      sofar.pause();
      res.once('drain', () => sofar.resume());
    }
  });
  sofar.once('error', () => res.destroy());
  sofar.once('end', () => {
    const waiting = held ?? [];
    held = undefined;
    for (const p of waiting) send(p);
  });
}

/** One SSE frame. */
function frame(e: { id: string; type: string; data: string }): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${e.data}\n\n`;
}

/** Event streams open at once, from all addresses; beyond it a new one is answered 503. */
const MAX_STREAMS = 1000;
/** Frames one stream may have waiting to be written (the backlog of a reconnect included); beyond it, it is closed. */
const MAX_SSE_QUEUED = 20_000;
let streams = 0;

/**
 * Streams the master's events: what a reconnecting client missed (by Last-Event-ID), then each one live. Frames are
 * written only while the client takes them (at most MAX_SSE_UNREAD bytes unread), the rest wait as references to the
 * shared event texts: a client that stops reading costs a bounded queue, then its connection.
 */
function streamEvents(log: EventLog, req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (streams >= MAX_STREAMS) return fail(reply, 503, `${MAX_STREAMS} event streams are open; try again later`);
  const last = req.headers['last-event-id'];
  const missed = log.since(typeof last === 'string' && last.length <= 64 ? last : undefined);
  void reply.hijack();
  streams++;
  const res = reply.raw;
  // An event stream is quiet for long stretches: the server's idle timeout must not end it (the keepalive does its job).
  req.raw.socket.setTimeout(0);
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const queue: string[] = ['retry: 2000\n\n'];
  let waiting = false;
  const pump = (): void => {
    waiting = false;
    while (queue.length && res.writableLength <= MAX_SSE_UNREAD) res.write(queue.shift()!);
    if (queue.length && !waiting) {
      waiting = true;
      res.once('drain', pump);
    }
  };
  const push = (text: string): void => {
    if (queue.length >= MAX_SSE_QUEUED) {
      res.destroy();
      return;
    }
    queue.push(text);
    if (!waiting) pump();
  };
  // Subscribed before the backlog is queued, in the same turn: nothing falls between the two.
  const stop = log.subscribe((e) => push(frame(e)));
  // A client from another run (or too far behind) is told to reload what it shows; it gets no backlog it cannot place.
  if (missed.reset) queue.push(`event: reset\ndata: {"run":"${log.run}"}\n\n`);
  else for (const e of missed.events) queue.push(frame(e));
  pump();
  const keepalive = setInterval(() => push(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  keepalive.unref();
  res.on('close', () => {
    streams--;
    stop();
    clearInterval(keepalive);
  });
  return undefined;
}
