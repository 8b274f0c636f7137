// Pending commit statuses on acceptance and overdue notices: planned into the outbox with the suggestion (or durably
// when a build is found overdue), and sent so that a context's final state is never overtaken by its pending one.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../lib/master/events.js';
import { headline, pageUrl, plainText, type Notice } from '../../lib/notify/notice.js';
import { scriptEnv } from '../../lib/notify/script.js';
import { overduePlanner } from '../../lib/notify/overdue.js';
import { acceptPlanner } from '../../lib/notify/pending.js';
import { planner } from '../../lib/notify/plan.js';
import type { Rule } from '../../lib/notify/rules.js';
import { Sender } from '../../lib/notify/sender.js';
import { StatusSink } from '../../lib/notify/status.js';
import type { Verdict } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type StoredReport, type StoredSuggestion } from '../../lib/store/store.js';
import { cleanup, tempDir, waitFor } from '../helpers.js';

const SHA = 'ab12'.repeat(10);
const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  cleanup();
});

function rule(r: Partial<Rule> & Pick<Rule, 'when'>): Rule {
  return { name: 'r', perBuilder: false, sink: 'forge', ...r };
}

function farm(rules: Rule[], statusSinks = new Set(['forge'])) {
  const store = new SqliteStore(tempDir());
  store.planNotifications(planner(rules, () => 42), acceptPlanner(rules, statusSinks, () => 41));
  let t = 1_000_000;
  const suggest = async (builders: string[], revision: string | undefined = SHA, branch = 'main'): Promise<StoredSuggestion> => {
    const { suggestions: [s] } = await store.commit({
      ...noWrites(), suggestions: [{ id: `s-${t++}`, project: 'widget', branch, ...(revision ? { revision } : {}), from: 'test', createdAt: t, offeredTo: builders }],
    });
    return s!;
  };
  const report = (s: StoredSuggestion, builder: string, verdict: Verdict): StoredReport => ({
    builder, id: s.id, seq: s.seq, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
    exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 5, uname, node: 'v22', output: '', outputBytes: 0, outputCut: 0, receivedAt: t++,
  });
  const send = (...reports: StoredReport[]) => store.commit({ ...noWrites(), reports });
  const due = async (): Promise<Notice[]> => (await store.outbox.due(Number.MAX_SAFE_INTEGER, 100)).map((n) => JSON.parse(n.payload) as Notice);
  return { store, suggest, report, send, due };
}

describe('pending on accept', () => {
  it('is planned in the commit that stores the suggestion, for the builders its rules take, and comes before the final', async () => {
    const f = farm([rule({ name: 'all', when: ['any'], builders: ['linux-*'] }), rule({ name: 'mail', when: ['any'], sink: 'team' })]);
    const s = await f.suggest(['linux-1', 'linux-2', 'mac']);
    const [p, ...rest] = await f.due();
    expect(rest).toEqual([]); // the mail sink is no status sink: nothing on acceptance
    expect(p).toMatchObject({ id: `${s.id}:all:pending`, rule: 'all', revision: SHA, pending: ['linux-1', 'linux-2'], builds: [] });
    expect(p!.perBuilder).toBeUndefined(); // its rule sets the roll-up, so the roll-up is pending too
    await f.send(f.report(s, 'linux-1', 'success'), f.report(s, 'linux-2', 'failure'), f.report(s, 'mac', 'success'));
    // The final of the forge's sink waits for its pending; the mail sink's is due at once.
    expect((await f.due()).map((n) => n.id)).toEqual([`${s.id}:all:pending`, `${s.id}:mail`]);
    await f.store.outbox.sent(`${s.id}:all:pending`, 1);
    expect((await f.due()).map((n) => n.id).sort()).toEqual([`${s.id}:all`, `${s.id}:mail`]);
  });

  it('nothing without a full commit id, for a project no rule of the sink takes, or with no builder; perBuilder rules alone leave the roll-up', async () => {
    const f = farm([rule({ name: 'each', when: ['failure'], perBuilder: true, branches: ['main'] })]);
    await f.suggest(['a'], 'abc1234');
    await f.suggest(['a'], SHA, 'dev');
    await f.suggest([]);
    expect(await f.due()).toEqual([]);
    const s = await f.suggest(['a', 'b']);
    expect(await f.due()).toMatchObject([{ id: `${s.id}:each:pending`, pending: ['a', 'b'], perBuilder: true }]);
  });

  it('a --one suggestion, offered to no one yet, has its roll-up pending alone', async () => {
    const f = farm([rule({ name: 'all', when: ['any'] })]);
    const { suggestions: [s] } = await f.store.commit({
      ...noWrites(), suggestions: [{ id: 's-one', project: 'widget', branch: 'main', revision: SHA, from: 'test', createdAt: 1, offeredTo: [], one: { retries: 1 } }],
    });
    expect(await f.due()).toMatchObject([{ id: `${s!.id}:all:pending`, pending: [] }]);
    expect((await f.due())[0]!.perBuilder).toBeUndefined();
    const g = farm([rule({ name: 'each', when: ['any'], perBuilder: true })]);
    await g.store.commit({ ...noWrites(), suggestions: [{ id: 's-one', project: 'widget', branch: 'main', revision: SHA, from: 'test', createdAt: 1, offeredTo: [], one: { retries: 1 } }] });
    expect(await g.due()).toEqual([]); // a perBuilder rule sets no roll-up: nothing to be pending
  });

  it('a planner that throws stores neither the suggestion nor its pending', async () => {
    const store = new SqliteStore(tempDir());
    store.planNotifications(() => [], () => { throw new Error('boom'); });
    await expect(store.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'p', branch: 'main', revision: SHA, from: 't', createdAt: 1, offeredTo: ['a'] }] })).rejects.toThrow('boom');
    expect(await store.suggestion('s-1')).toBeUndefined();
  });

  it('through the sender to a fake forge that answers the pending statuses slowly: each context gets pending, then its final', async () => {
    const log: string[] = [];
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const b = JSON.parse(Buffer.concat(parts).toString()) as { state: string; context: string };
        log.push(`got ${b.context} ${b.state}`);
        // A pending is answered late: a sender that sent the final meanwhile would have it set before the pending.
        setTimeout(() => { log.push(`set ${b.context} ${b.state}`); res.writeHead(201).end('{}'); }, b.state === 'pending' ? 300 : 0);
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const f = farm([rule({ name: 'all', when: ['any'] }), rule({ name: 'each', when: ['any'], perBuilder: true })]);
    const s = await f.suggest(['a', 'b']);
    await f.send(f.report(s, 'a', 'success'));
    await f.send(f.report(s, 'b', 'failure'));
    const sender = new Sender({
      outbox: f.store.outbox, sinks: new Map([['forge', new StatusSink({ forge: 'github', apiUrl: url, repository: 'acme/widget', token: 'T', timeoutMs: 5000 })]]),
      events: new EventBus(), retry: { baseMs: 20, capMs: 40 }, giveUpAfterMs: 60_000,
    });
    sender.start();
    try {
      await waitFor('every status', () => log.filter((l) => l.startsWith('set')).length === 3 + 2 + 3, 10_000);
    } finally {
      await sender.stop(5000);
    }
    // Every request waited for the one before it to be answered, in plan order: the pending, a's own, then b's commit:
    // the summary (rule 'all' comes first in the file) and b's own.
    expect(log).toEqual([
      'got simplebb/a pending', 'set simplebb/a pending', 'got simplebb/b pending', 'set simplebb/b pending', 'got simplebb pending', 'set simplebb pending',
      'got simplebb/a success', 'set simplebb/a success',
      'got simplebb/a success', 'set simplebb/a success', 'got simplebb/b failure', 'set simplebb/b failure', 'got simplebb failure', 'set simplebb failure',
      'got simplebb/b failure', 'set simplebb/b failure',
    ]);
  });
});

describe('overdue notices', () => {
  it('one per rule that asks (overdue or any) and takes the build, none to a status sink; enqueued durably, once', async () => {
    const rules = [rule({ name: 'late', when: ['overdue'], sink: 'chat' }), rule({ name: 'all', when: ['any'], sink: 'audit', builders: ['mac'] }),
      rule({ name: 'st', when: ['any'], sink: 'forge' }), rule({ name: 'red', when: ['broken'], sink: 'chat' })];
    const f = farm(rules);
    const plan = overduePlanner(rules, new Set(['forge']), () => 7);
    const s = await f.suggest(['linux']);
    await f.store.outbox.sent(`${s.id}:st:pending`, 1);
    const build = { builder: 'linux', startedAt: 100, usualMs: 1000, runningMs: 2500 };
    const planned = plan(s, build);
    expect(planned.map((p) => `${p.id} ${p.sink}`)).toEqual([`${s.id}:late:linux:overdue chat`]);
    await f.store.outbox.enqueue(s.seq, planned, 5);
    await f.store.outbox.enqueue(s.seq, plan(s, { ...build, runningMs: 9000 }), 6); // found again after a restart: the same one
    const due = await f.due();
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ rule: 'late', transition: 'overdue', verdict: 'running', overdue: build, builds: [], suggestion: s.id });
    expect(plan(s, { ...build, builder: 'mac' }).map((p) => p.rule)).toEqual(['late', 'all']);
  });

  it('reads as an overdue build: headline, plain text, link to the build, a script\'s environment', () => {
    const n: Notice = {
      id: 's1:late:linux:overdue', rule: 'late', suggestion: 's1', project: 'widget', branch: 'main', revision: SHA, verdict: 'running', transition: 'overdue',
      builds: [], overdue: { builder: 'linux', startedAt: 0, usualMs: 3000, runningMs: 7000 }, at: 0, perBuilder: true,
    };
    expect(headline(n)).toBe(`overdue: widget main at ${SHA.slice(0, 12)} (linux: running for 7.0 s, usually 3.0 s)`);
    expect(plainText(n, undefined)).toContain('linux: still running after 7.0 s (started 1970-01-01T00:00:00.000Z), more than twice its usual 3.0 s');
    expect(pageUrl(n, 'https://ci.example.org')).toBe('https://ci.example.org/b/s1/linux');
    expect(scriptEnv(n, undefined, {})).toMatchObject({ SIMPLEBB_TRANSITION: 'overdue', SIMPLEBB_VERDICT: 'running', SIMPLEBB_BUILDER: 'linux' });
  });
});
