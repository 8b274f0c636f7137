// The commit-status sink against a fake forge on loopback: what it posts for a notice, and which answers count as set.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../lib/notify/notice.js';
import { StatusSink } from '../../lib/notify/status.js';

const SHA = 'cd34'.repeat(10);
const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** A forge answering each request with `answer(body)`; keeps what it was sent. */
async function forge(answer: (body: Record<string, unknown>) => [number, string]): Promise<{ url: string; got: Array<Record<string, unknown>> }> {
  const got: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown>;
      got.push(body);
      const [status, text] = answer(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, got };
}

function notice(over: Partial<Notice> = {}): Notice {
  return {
    id: 's1:rule1', rule: 'rule1', suggestion: 's1', project: 'widget', branch: 'main', revision: SHA, verdict: 'failure', transition: 'broken', at: 0,
    builds: [
      { builder: 'a', verdict: 'success', transition: 'passing', exitCode: 0, durationMs: 1200 },
      { builder: 'b', verdict: 'no-script', transition: 'none', exitCode: -1, durationMs: 0 },
      { builder: 'c', verdict: 'lost', transition: 'lost', exitCode: -1, durationMs: 3000, message: 'builder went away' },
    ],
    ...over,
  };
}

describe('StatusSink', () => {
  it('posts a context per builder that ran (none for no-script) and the roll-up; a one-builder notice has no roll-up', async () => {
    const f = await forge(() => [201, '{}']);
    const sink = new StatusSink({ forge: 'gitea', apiUrl: f.url, repository: 'acme/widget', token: 'T', timeoutMs: 5000 });
    await sink.send(notice());
    expect(f.got.map((b) => `${String(b.context)} ${String(b.state)} ${String(b.description)}`)).toEqual([
      'simplebb/a success passed in 1.2 s', 'simplebb/c error lost after 3.0 s: builder went away', 'simplebb error 1 of 2 builders did not pass: c']);
    await sink.send(notice({ perBuilder: true, builds: [notice().builds[0]!] }));
    expect(f.got).toHaveLength(4);
  });

  it('an acceptance notice: each builder pending and the roll-up (not for perBuilder rules alone); an overdue notice posts nothing', async () => {
    const f = await forge(() => [201, '{}']);
    const sink = new StatusSink({ forge: 'github', apiUrl: f.url, repository: 'acme/widget', token: 'T', timeoutMs: 5000, baseUrl: 'https://ci.example.org/' });
    await sink.send(notice({ verdict: 'running', transition: 'none', builds: [], pending: ['a', 'b'] }));
    expect(f.got.map((b) => `${String(b.context)} ${String(b.state)} ${String(b.description)} ${String(b.target_url)}`)).toEqual([
      'simplebb/a pending accepted, waiting for a https://ci.example.org/b/s1/a', 'simplebb/b pending accepted, waiting for b https://ci.example.org/b/s1/b',
      'simplebb pending waiting for 2 builders https://ci.example.org/s/s1']);
    await sink.send(notice({ verdict: 'running', transition: 'none', builds: [], pending: ['a'], perBuilder: true }));
    await sink.send(notice({ verdict: 'running', transition: 'none', builds: [], pending: [] }));
    expect(f.got.slice(3).map((b) => `${String(b.context)} ${String(b.state)} ${String(b.description)}`)).toEqual([
      'simplebb/a pending accepted, waiting for a', 'simplebb pending waiting for a free builder']);
    await sink.send(notice({ verdict: 'running', transition: 'overdue', builds: [], overdue: { builder: 'a', startedAt: 0, usualMs: 1000, runningMs: 3000 } }));
    expect(f.got).toHaveLength(5);
  });

  it('posts nothing for a suggestion without a full commit id', async () => {
    const f = await forge(() => [201, '{}']);
    await new StatusSink({ forge: 'github', apiUrl: f.url, repository: 'a/b', token: 'T', timeoutMs: 5000 }).send(notice({ revision: 'abc1234' }));
    expect(f.got).toHaveLength(0);
  });

  it('takes GitLab\'s "cannot transition" (the state is set already) as done, and throws one line for other refusals', async () => {
    const f = await forge(() => [400, '{"message":"Cannot transition status via :run from :success"}']);
    await new StatusSink({ forge: 'gitlab', apiUrl: f.url, repository: 'g/p', token: 'T', timeoutMs: 5000 }).send(notice());
    const g = await forge(() => [403, '{"message":"Resource not accessible by integration"}']);
    await expect(new StatusSink({ forge: 'github', apiUrl: g.url, repository: 'a/b', token: 'T', timeoutMs: 5000 }).send(notice()))
      .rejects.toThrow('github a/b answered 403 to the simplebb/a status: {"message":"Resource not accessible by integration"}');
  });
});
