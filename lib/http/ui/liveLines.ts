// A build's log as Server-Sent Events of lines rendered on the server (the same escaped HTML as its page), each
// event's id the byte offset after its last line: a page that reconnects (Last-Event-ID) or comes from a page
// rendered up to an offset (`?from=`) gets every line after it once. The last event is the build's facts.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { buildFacts, type BuildDeps } from './build.js';
import { LogLines } from './log.js';
import { newlines } from './logBudget.js';
import { finishedLog, runningLog } from './logSource.js';

/** A client may leave this much unread before it is closed (it reconnects from its last id). */
const MAX_UNREAD = 1024 * 1024;
/** A comment this often keeps proxies from closing a stream while the build prints nothing. */
const KEEPALIVE_MS = 10_000;
/** Line streams open at once; beyond it a new one is answered 503. */
const MAX_STREAMS = 1000;
/** The largest offset a client may name (a log is at most --max-log-bytes; this is far beyond any). */
const MAX_OFFSET = 2 ** 50;

const NEWLINE = 0x0a;
let streams = 0;

/** The offset to resume from: Last-Event-ID (a reconnect) over `?from=` (the page's end), else the start. */
export function resumeOffset(lastEventId: unknown, from: unknown): number | undefined {
  for (const v of [lastEventId, from]) {
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^\d{1,16}$/.test(v) || Number(v) > MAX_OFFSET) return undefined;
    return Number(v);
  }
  return 0;
}

/** Streams the log's lines from the offset asked for, then (when the build has ended) the facts, and ends. */
export async function streamLines(deps: BuildDeps, id: string, builder: string, req: FastifyRequest, reply: FastifyReply, headers: Record<string, string>): Promise<FastifyReply | undefined> {
  const from = resumeOffset(req.headers['last-event-id'], (req.query as Record<string, unknown>).from);
  if (from === undefined) return reply.code(400).send({ error: 'from: a byte offset this API gave (an integer), as is Last-Event-ID' });
  if (streams >= MAX_STREAMS) return reply.code(503).send({ error: `${MAX_STREAMS} line streams are open; try again later` });
  const running = runningLog(deps, id, builder, true);
  const report = running ? undefined : await deps.history.report(id, builder);
  if (!running && !report) return reply.code(404).send({ error: `no report of builder ${JSON.stringify(builder.slice(0, 128))} for ${JSON.stringify(id.slice(0, 64))}, and it does not run now` });
  const pieces = running ? running.pieces : (await finishedLog(deps, report!)).pieces;
  void reply.hijack();
  streams++;
  const res = reply.raw;
  // A build may print nothing for minutes: the server's idle timeout must not end the stream (the keepalive does).
  res.socket?.setTimeout(0);
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write('retry: 1000\n\n');
  let closed = false;
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  res.on('close', () => {
    closed = true;
    streams--;
    clearInterval(keepalive);
    running?.stop();
  });
  const send = (event: string, data: unknown, eventId?: number): void => {
    if (closed) return;
    if (res.writableLength > MAX_UNREAD) return void res.destroy();
    res.write(`${eventId !== undefined ? `id: ${eventId}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const lines = new LogLines({ blocks: false });
  let offset = running ? running.start : 0;
  try {
    for await (const piece of pieces) {
      if (closed) break;
      let c = piece;
      // What the client has: counted (for the numbers of the lines after it), not sent again.
      if (offset < from) {
        const have = Math.min(from - offset, c.length);
        lines.line += newlines(c.subarray(0, have));
        offset += have;
        c = c.subarray(have);
        if (c.length === 0) continue;
      }
      const before = offset;
      offset += c.length;
      const h = lines.push(c);
      if (h !== '') send('lines', { html: h }, before + c.lastIndexOf(NEWLINE) + 1);
    }
  } catch {
    // A reader that fell behind or a log that cannot be read: the client reconnects from its last id.
    return void res.destroy();
  }
  if (closed) return undefined;
  const ended = running ? running.ended() : 'report';
  if (ended !== 'report' && ended !== 'gone') return void res.end();
  const last = lines.end();
  if (last !== '' && offset >= from) send('lines', { html: last }, offset);
  send('end', { html: (await buildFacts(deps, id, builder)).value, gone: ended === 'gone' });
  res.end();
  return undefined;
}
