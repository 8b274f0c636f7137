// A fake of the master's HTTP API for the simplebb command's tests: a node:http server on 127.0.0.1 (port 0) that
// serves docs/API.md's JSON shapes from what the test gives it, pages lists with `next` cursors, checks the bearer
// token, and records every request. It is not the server: only enough of the contract to test a client against.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface FakeReport {
  id: string; seq: number; builder: string; project: string; branch: string; revision?: string; verdict: string;
  exitCode: number; signal?: string; durationMs: number; startedAt?: number; receivedAt: number; node?: string;
  uname?: Record<string, string>; outputBytes?: number; outputCut?: number; message?: string;
  /** The kept output, served by the report and its log. */
  output?: string | Buffer;
}

export interface FakeData {
  builders?: Array<Record<string, unknown>>;
  reports?: FakeReport[];
  suggestions?: Array<Record<string, unknown> & { id: string }>;
}

export interface FakeRequest { method: string; path: string; query: Record<string, string>; authorization?: string; body?: string }

const RED = new Set(['failure', 'timeout']);
const key = (r: FakeReport): string => `${r.receivedAt}:${r.id}:${r.builder}`;
const withoutOutput = ({ output: _output, ...r }: FakeReport): Omit<FakeReport, 'output'> => r;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The reports filtered and ordered as `GET /api/v1/reports` promises: newest first, `latest` and `failing` per project × branch × builder. */
function reportsFor(all: FakeReport[], q: Record<string, string>): FakeReport[] {
  let list = [...all].sort((a, b) => b.receivedAt - a.receivedAt || (key(a) < key(b) ? 1 : -1));
  for (const f of ['project', 'branch', 'builder', 'verdict'] as const) if (q[f] !== undefined) list = list.filter((r) => r[f] === q[f]);
  if (q.latest === '1' || q.failing === '1') {
    const seen = new Set<string>();
    list = list.filter((r) => {
      const k = `${r.project}\0${r.branch}\0${r.builder}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  if (q.failing === '1') list = list.filter((r) => RED.has(r.verdict));
  return list;
}

/** Starts the fake; `token` makes reads need it as a bearer, `suggestToken` writes; `pageSize` gives pages shorter than asked. */
export async function fakeApi(data: FakeData, opts: { token?: string; suggestToken?: string; pageSize?: number } = {}) {
  const requests: FakeRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    let body = '';
    for await (const chunk of req) body += String(chunk);
    requests.push({ method: req.method ?? '', path: url.pathname, query, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(body ? { body } : {}) });
    const need = req.method === 'POST' ? opts.suggestToken : opts.token;
    if (need !== undefined && req.headers.authorization !== `Bearer ${need}`) {
      return send(res, 401, { error: req.headers.authorization ? 'wrong token' : 'this master needs a token' });
    }
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return send(res, 400, { error: 'limit must be a whole number from 1 to 500' });
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const [api, v1, what, id, builder, log] = parts;
    if (api !== 'api' || v1 !== 'v1') return send(res, 404, { error: 'not found' });
    if (req.method === 'POST' && what === 'suggestions' && parts.length === 3) {
      const s = JSON.parse(body) as { project: string; branch: string; revision?: string };
      const names = (data.builders ?? []).filter((b) => b.online).map((b) => b.name as string);
      return send(res, 201, { id: 'mx57dlhd-0000000000ff', seq: 99, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}), count: names.length, builders: names });
    }
    if (what === 'builders' && parts.length === 3) return send(res, 200, { builders: data.builders ?? [] });
    if (what === 'suggestions' && parts.length === 4) {
      const s = (data.suggestions ?? []).find((x) => x.id === id);
      return s ? send(res, 200, s) : send(res, 404, { error: `no suggestion ${id}` });
    }
    if (what === 'reports' && parts.length === 3) {
      const list = reportsFor(data.reports ?? [], query);
      const from = query.cursor === undefined ? 0 : list.findIndex((r) => key(r) === query.cursor) + 1;
      if (from === 0 && query.cursor !== undefined) return send(res, 400, { error: 'cursor is not one of this list' });
      const size = Math.min(limit, opts.pageSize ?? limit);
      const page = list.slice(from, from + size);
      const more = from + size < list.length;
      return send(res, 200, { reports: page.map(withoutOutput), ...(more ? { next: key(page[page.length - 1]!) } : {}) });
    }
    if (what === 'reports' && (parts.length === 5 || (parts.length === 6 && log === 'log'))) {
      const r = (data.reports ?? []).find((x) => x.id === id && x.builder === builder);
      if (!r) return send(res, 404, { error: `no report of ${builder} for ${id}` });
      if (log) {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end(r.output ?? '');
      }
      return send(res, 200, { ...r, output: Buffer.isBuffer(r.output) ? r.output.toString('utf8') : (r.output ?? '') });
    }
    return send(res, 404, { error: 'not found' });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: err.message }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url, requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
