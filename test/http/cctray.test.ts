// /cctray.xml through the app itself (fastify inject, no socket): one Project per project × branch × builder with
// its newest outcome, Building while one runs, markup in names escaped, an ETag, and the read rule.
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { EventLog } from '../../lib/http/eventLog.js';
import { createHttpApp } from '../../lib/http/server.js';
import type { AccessRules } from '../../lib/http/access.js';
import { Board } from '../../lib/master/board.js';
import { EventBus } from '../../lib/master/events.js';
import { LiveLogs } from '../../lib/master/liveLogs.js';
import type { Relay } from '../../lib/master/relay.js';
import type { Verdict } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6.1.0', version: '#1 SMP', machine: 'x86_64', hostname: 'h1' };
const T0 = 1_796_160_000_000;

/** A record of `builds` (oldest first) and an app over it; `b1` is online. */
async function fixture(builds: Array<[project: string, branch: string, builder: string, verdict: Verdict]>, access: AccessRules = { loopback: true, publicBoard: false }) {
  const store = new SqliteStore(tempDir());
  const events = new EventBus();
  const board = new Board(events);
  const ids: string[] = [];
  for (const [i, [project, branch, builder, verdict]] of builds.entries()) {
    const t = T0 + i * 60_000;
    const id = `mx57dl${String(i).padStart(2, '0')}-ed4a46c20460`;
    const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id, project, branch, from: '127.0.0.1:5000', createdAt: t, offeredTo: [builder] }] });
    await store.commit({
      ...noWrites(), builders: [{ name: builder, lastSeen: t }],
      reports: [{ builder, id, seq: s!.seq, project, branch, exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 100, startedAt: t, uname, node: 'v22.11.0', output: '', outputBytes: 0, outputCut: 0, receivedAt: t + 1000 }],
    });
    ids.push(id);
  }
  events.emit({ type: 'builder-up', name: 'b1', address: '127.0.0.1:40112', instance: 'i', projects: ['foo', 'bar', 'new'], uname, node: 'v22.11.0', jobs: 2, labels: {} });
  const app = createHttpApp({
    history: store.history, board, relay: {} as Relay, log: new EventLog(events), live: new LiveLogs(events), metrics: new Registry(), access,
  });
  return { app, events, ids };
}

/** The feed's Project elements as attribute maps. */
function projects(xml: string): Array<Record<string, string>> {
  return [...xml.matchAll(/<Project ([^>]*)\/>/g)].map((m) => Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}

describe('/cctray.xml', () => {
  it('lists each project × branch × builder once with its newest outcome, Building while one runs, linked to its build', async () => {
    const { app, events, ids } = await fixture([
      ['foo', 'main', 'b1', 'failure'], ['foo', 'main', 'b1', 'success'], ['foo', 'main', 'b2', 'timeout'],
      ['bar', 'dev', 'b1', 'failure'], ['bar', 'dev', 'b2', 'lost'],
    ]);
    events.emit({ type: 'suggestion', suggestion: { id: 'mx57dlzz-ed4a46c20469', seq: 99, project: 'bar', branch: 'dev', from: '127.0.0.1:5000', createdAt: T0 }, builders: ['b1'] });
    events.emit({ type: 'started', id: 'mx57dlzz-ed4a46c20469', builder: 'b1', startedAt: T0 + 600_000 });
    events.emit({ type: 'suggestion', suggestion: { id: 'mx57dlzy-ed4a46c20468', seq: 100, project: 'new', branch: 'main', from: '127.0.0.1:5000', createdAt: T0 }, builders: ['b1'] });
    events.emit({ type: 'started', id: 'mx57dlzy-ed4a46c20468', builder: 'b1', startedAt: T0 + 700_000 });
    const res = await app.inject({ url: '/cctray.xml', headers: { host: 'ci.example:7901' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(res.headers['cache-control']).toBe('max-age=30');
    expect(res.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Projects>\n/);
    expect(res.body.trimEnd()).toMatch(/<\/Projects>$/);
    const feed = projects(res.body);
    expect(feed.map((p) => `${p.name} | ${p.activity} ${p.lastBuildStatus}`)).toEqual([
      'bar :: dev :: b1 | Building Failure', 'foo :: main :: b1 | Sleeping Success', 'foo :: main :: b2 | Sleeping Failure', 'new :: main :: b1 | Building Unknown',
    ]);
    // `lost` is not an outcome: the newest outcome of bar/dev/b2 stays none, so it is not in the feed.
    expect(feed[1]).toEqual({
      name: 'foo :: main :: b1', activity: 'Sleeping', lastBuildStatus: 'Success', lastBuildLabel: ids[1]!,
      lastBuildTime: new Date(T0 + 60_000 + 1000).toISOString(), webUrl: `http://ci.example:7901/b/${ids[1]!}/b1`,
    });
    expect(feed[3]).toMatchObject({ lastBuildLabel: 'mx57dlzy-ed4a46c20468', lastBuildTime: new Date(T0 + 700_000).toISOString() });
  });

  it('escapes markup in names, links by path when the Host header is not a plain host, and answers 304 to its ETag', async () => {
    const { app } = await fixture([['a"<b>&\'c', 'fix/<x>', 'b1', 'success']]);
    const res = await app.inject({ url: '/cctray.xml', headers: { host: 'evil"><x' } });
    expect(res.body).toContain('name="a&quot;&lt;b&gt;&amp;&apos;c :: fix/&lt;x&gt; :: b1"');
    expect(res.body).not.toContain('evil');
    expect(projects(res.body)[0]!.webUrl).toMatch(/^\/b\/mx57dl00-ed4a46c20460\/b1$/);
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect((await app.inject({ url: '/cctray.xml', headers: { host: 'evil"><x', 'if-none-match': etag } })).statusCode).toBe(304);
    expect((await app.inject({ url: '/cctray.xml', headers: { host: 'other:1', 'if-none-match': etag } })).statusCode).toBe(200);
  });

  it('is an empty feed on an empty record, and follows the read rule: a token where one is set, 401 (never a redirect) without', async () => {
    const open = await fixture([]);
    expect((await open.app.inject({ url: '/cctray.xml' })).body).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<Projects>\n</Projects>\n');
    const { app } = await fixture([['foo', 'main', 'b1', 'success']], { loopback: false, readToken: 'r'.repeat(32), publicBoard: false });
    const refused = await app.inject({ url: '/cctray.xml', headers: { accept: 'text/html' } });
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ error: 'this master needs its read token as a bearer (Authorization: Bearer TOKEN)' });
    const allowed = await app.inject({ url: '/cctray.xml', headers: { authorization: `Bearer ${'r'.repeat(32)}` } });
    expect(projects(allowed.body).map((p) => p.name)).toEqual(['foo :: main :: b1']);
  });
});
