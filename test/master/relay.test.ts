// The relay's decisions, driven without sockets: fake peers, a real store in a temp dir, and a log we can read.
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, type Peer } from '../../lib/master/relay.js';
import type { FromMaster, Report } from '../../lib/protocol/messages.js';
import { Store } from '../../lib/store/sqlite.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

class FakePeer implements Peer {
  sent: FromMaster[] = [];
  closedWith: string | undefined;
  readonly address = '127.0.0.1';
  backlog = 0;
  constructor(readonly remote: string) {}
  send(m: FromMaster): boolean { this.sent.push(m); return true; }
  sendLine(line: string): boolean { return this.send(JSON.parse(line) as FromMaster); }
  close(reason: string, error?: string): void { this.closedWith = error ?? reason; }
  of<T extends FromMaster['type']>(type: T): Array<Extract<FromMaster, { type: T }>> {
    return this.sent.filter((m): m is Extract<FromMaster, { type: T }> => m.type === type);
  }
}

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(dir = tempDir()) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } });
  const store = new Store(dir);
  const relay = new Relay(store, pino({ level: 'info' }, sink), { heartbeatMs: 1000, replayWindowMs: 60_000, helloTimeoutMs: 5000, suggestRate: 1000, suggestBurst: 1000 });
  const builder = (name: string, projects: string[] = ['foo'], running: string[] = []) => {
    const p = new FakePeer(`${name}:1`);
    relay.connected(p);
    relay.message(p, { type: 'hello', protocol: 1, role: 'builder', name, uname, node: 'v20', projects, running });
    return p;
  };
  const suggester = () => {
    const p = new FakePeer('s:1');
    relay.connected(p);
    relay.message(p, { type: 'hello', protocol: 1, role: 'suggester' });
    return p;
  };
  const report = (id: string, verdict: Report['verdict'] = 'success'): Report => ({
    type: 'report', id, project: 'foo', branch: 'main', exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 1,
    uname, node: 'v20', outputBytes: 2, outputCut: 0, outputChunks: 1,
  });
  const reports = () => lines.filter((l) => l.event === 'report');
  /** Makes one suggestion and returns the id the master gave it. */
  const suggest = (s: FakePeer, branch = 'main', extra: { follow?: boolean } = {}): string => {
    t0.relay.message(s, { type: 'suggest', project: 'foo', branch, ...extra });
    return s.of('accepted').at(-1)!.id;
  };
  /** A builder's report with its one chunk of output, as a real builder sends it. */
  const deliver = (b: FakePeer, id: string, fields: Partial<Report> = {}): void => {
    t0.relay.message(b, { type: 'report-output', id, data: 'ok' });
    t0.relay.message(b, { ...report(id), ...fields });
  };
  const t0 = { relay, store, lines, reports, builder, suggester, report, suggest, deliver, dir };
  return t0;
}

describe('Relay', () => {
  it('greets with a nonce, relays a suggestion to every builder and tells the suggester how many', () => {
    const t = setup();
    const a = t.builder('a');
    const b = t.builder('b', ['bar']);
    expect(a.sent[0]).toMatchObject({ type: 'greeting', protocol: 1, nonce: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', ref: '0', project: 'foo', branch: 'main' });
    const acc = s.of('accepted')[0]!;
    expect(acc).toMatchObject({ ref: '0', project: 'foo', branch: 'main', builders: ['a', 'b'] });
    expect(a.of('suggest')).toEqual([{ type: 'suggest', id: acc.id, project: 'foo', branch: 'main' }]);
    expect(b.of('suggest')).toHaveLength(1);
  });

  it('acknowledges a report only after storing it, and stores and logs a resent duplicate once', async () => {
    const t = setup();
    const a = t.builder('a');
    const s = t.suggester();
    const id = t.suggest(s);
    t.deliver(a, id);
    expect(a.of('ack')).toEqual([]); // not before the commit
    await tick();
    expect(a.of('ack')).toEqual([{ type: 'ack', id }]);
    expect(t.store.report('a', id)).toMatchObject({ verdict: 'success', output: 'ok' });
    expect(s.of('report')).toHaveLength(1);
    t.deliver(a, id);
    await tick();
    expect(a.of('ack')).toHaveLength(2);
    expect(t.reports()).toHaveLength(1);
    expect(t.store.reportCount()).toBe(1);
  });

  it('refuses a report whose output chunks do not match', async () => {
    const t = setup();
    const a = t.builder('a');
    t.relay.message(a, t.report('x-1'));
    await tick();
    expect(a.of('error')[0]!.message).toContain('announced 1 output chunks but 0 came before it');
    expect(a.of('ack')).toEqual([]);
  });

  it('marks held builds lost when a builder disconnects, tells the waiter at once, and replaces lost by the real report', async () => {
    const t = setup();
    const a = t.builder('a');
    const s = t.suggester();
    const id = t.suggest(s);
    t.relay.closed(a, 'heartbeat');
    await tick();
    expect(s.of('report')).toEqual([expect.objectContaining({ id, builder: 'a', verdict: 'lost', exitCode: -1 })]);
    const a2 = t.builder('a', ['foo'], [id]);
    t.deliver(a2, id);
    await tick();
    expect(a2.of('ack')).toEqual([{ type: 'ack', id }]);
    expect(t.store.report('a', id)?.verdict).toBe('success');
    expect(t.reports().map((r) => r.verdict)).toEqual(['lost', 'success']);
    expect(a2.of('suggest')).toEqual([]); // known to the builder: not replayed
  });

  it('replays missed suggestions to a returning builder, newest per project and branch, only for its projects', async () => {
    const t = setup();
    const a = t.builder('a', ['foo']);
    t.relay.closed(a, 'gone');
    const s = t.suggester();
    for (const [project, branch] of [['foo', 'main'], ['foo', 'main'], ['foo', 'dev'], ['bar', 'main']]) {
      t.relay.message(s, { type: 'suggest', project: project!, branch: branch! });
      await new Promise((r) => setTimeout(r, 2));
    }
    const ids = s.of('accepted').map((m) => m.id);
    const back = t.builder('a', ['foo']);
    expect(back.of('suggest').map((m) => [m.id, m.replayed])).toEqual([[ids[1], true], [ids[2], true]]);
  });

  it('logs reports stored but never logged when it starts again', () => {
    const dir = tempDir();
    const store = new Store(dir);
    store.storeReports([{ builder: 'a', id: 'r-1', project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 1, uname, node: 'v20', output: '', outputBytes: 0, outputCut: 0, receivedAt: 1 }]);
    store.close();
    const t = setup(dir);
    expect(t.reports()).toEqual([expect.objectContaining({ id: 'r-1', note: 'recovered' })]);
    const again = setup(dir);
    expect(again.reports()).toEqual([]);
  });

  it('a builder that skips a suggestion releases its waiter without storing anything', async () => {
    const t = setup();
    const a = t.builder('a', ['foo']);
    const s = t.suggester();
    const id = t.suggest(s);
    t.relay.message(a, { type: 'skipped', id });
    expect(s.of('report')).toEqual([expect.objectContaining({ id, builder: 'a', verdict: 'no-script' })]);
    await tick();
    expect(t.store.reportCount()).toBe(0);
    t.relay.closed(a, 'gone');
    await tick();
    expect(t.reports()).toEqual([]); // not held any more, so not lost either
  });

  it('refuses a report whose project or branch does not match the suggestion it names, and one for no suggestion at all', async () => {
    const t = setup();
    const a = t.builder('a');
    const s = t.suggester();
    const id = t.suggest(s);
    t.relay.message(a, { type: 'report-output', id, data: 'ok' });
    t.relay.message(a, { ...t.report(id), branch: 'other' });
    t.relay.message(a, { type: 'report-output', id: 'zz-fake', data: 'ok' });
    t.relay.message(a, t.report('zz-fake'));
    await tick();
    expect(a.of('error').map((e) => e.message)).toEqual([
      `report ${id}: does not match that suggestion's project, branch and revision; not stored`,
      'report zz-fake: no such suggestion; not stored',
    ]);
    expect(a.of('ack').map((m) => m.id)).toEqual([id, 'zz-fake']);
    expect(t.store.reportCount()).toBe(0);
  });

  it('refuses a builder report with the master-only verdict lost', async () => {
    const t = setup();
    const a = t.builder('a');
    t.relay.message(a, { type: 'report-output', id: 'x-1', data: 'ok' });
    t.relay.message(a, t.report('x-1', 'lost'));
    await tick();
    expect(a.of('error')[0]!.message).toContain('verdict lost');
    expect(t.store.reportCount()).toBe(0);
  });

  it('skips live output for a follower that reads too slowly, marks the gap, and keeps it connected', () => {
    const t = setup();
    const a = t.builder('a');
    const s = t.suggester();
    const id = t.suggest(s, 'main', { follow: true });
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: 'one\n' });
    s.backlog = 64 * 1024 * 1024;
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: 'two\n' });
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: 'three\n' });
    s.backlog = 0;
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: 'four\n' });
    expect(s.of('output').map((o) => o.data)).toEqual([
      'one\n', expect.stringContaining('[simplebb: 10 characters of live output skipped'), 'four\n',
    ]);
    expect(s.closedWith).toBeUndefined();
  });

  it('sends a reconnecting builder the orders its old connection held that it no longer knows', () => {
    const t = setup();
    const a = t.builder('a');
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', project: 'foo', branch: 'main' });
    t.relay.message(s, { type: 'suggest', project: 'foo', branch: 'dev' });
    const [lost, known] = s.of('accepted').map((m) => m.id);
    // The old link is dead but not yet noticed; the builder is back, still running `known` but not `lost`.
    const a2 = t.builder('a', ['foo'], [known!]);
    expect(a.closedWith).toContain('replaced');
    expect(a2.of('suggest')).toEqual([{ type: 'suggest', id: lost, project: 'foo', branch: 'main', replayed: true }]);
  });

  it('closes a connection whose first line is invalid, and logs only the first few invalid lines of any connection', () => {
    const t = setup();
    const p = new FakePeer('x:1');
    t.relay.connected(p);
    t.relay.invalid(p, 'line is not valid JSON', false);
    expect(p.closedWith).toBe('line is not valid JSON');
    const s = t.suggester();
    for (let i = 0; i < 50; i++) t.relay.invalid(s, 'junk', false);
    expect(s.of('error')).toHaveLength(50);
    expect(t.lines.filter((l) => l.event === 'invalid' && l.address === 's:1')).toHaveLength(11);
  });

  it('answers a builder message from a suggester with an error and keeps the connection', () => {
    const t = setup();
    const s = t.suggester();
    t.relay.message(s, { type: 'started', id: 'a-1', startedAt: 1 });
    expect(s.of('error')[0]!.message).toBe('a suggester may not send started');
    expect(s.closedWith).toBeUndefined();
  });
});
