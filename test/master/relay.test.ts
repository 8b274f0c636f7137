// The relay's decisions, driven without sockets: fake peers, a real SQLite record in a temp dir, and the events it emits.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type MasterEvent } from '../../lib/master/events.js';
import type { Peer } from '../../lib/master/peer.js';
import { Relay } from '../../lib/master/relay.js';
import { MAX_REPLAY } from '../../lib/protocol/limits.js';
import type { FromMaster, Report } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import type { Owed, Store } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

class FakePeer implements Peer {
  sent: FromMaster[] = [];
  closedWith: string | undefined;
  closedCode: string | undefined;
  readonly address = '127.0.0.1';
  backlog = 0;
  constructor(readonly remote: string) {}
  send(m: FromMaster): boolean { this.sent.push(m); return true; }
  sendLine(line: string): boolean { return this.send(JSON.parse(line) as FromMaster); }
  close(reason: string, error?: string, code?: string): void { this.closedWith = error ?? reason; this.closedCode = code; }
  of<T extends FromMaster['type']>(type: T): Array<Extract<FromMaster, { type: T }>> {
    return this.sent.filter((m): m is Extract<FromMaster, { type: T }> => m.type === type);
  }
}

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
/** Lets group commits and the promises after them run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};
const INSTANCE = 'a1'.repeat(8);

/** A delivery's state as the record holds it. */
function recordedDelivery(dir: string, seq: number, builder: string): string | undefined {
  const db = new Database(join(dir, 'simplebb.db'), { readonly: true });
  try {
    return (db.prepare('SELECT state FROM deliveries WHERE seq = ? AND builder = ?').get(seq, builder) as { state: string } | undefined)?.state;
  } finally {
    db.close();
  }
}

/** A report as the record holds it, read straight from the SQLite file. */
function recorded(dir: string, builder: string, id: string): Record<string, unknown> | undefined {
  const db = new Database(join(dir, 'simplebb.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM reports WHERE builder = ? AND id = ?').get(builder, id) as Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}
const OTHER = 'b2'.repeat(8);

interface BuilderOpts { projects?: string[]; instance?: string; cursor?: number; ignoreUnknown?: boolean; labels?: Record<string, string>; cancel?: boolean }

async function setup(opts: { dir?: string; windowMs?: number; store?: (s: SqliteStore) => Store; clock?: number; notifyRefusal?: () => string | undefined } = {}) {
  const dir = opts.dir ?? tempDir();
  const sqlite = new SqliteStore(dir);
  const store = opts.store ? opts.store(sqlite) : sqlite;
  const events = new EventBus();
  const seen: MasterEvent[] = [];
  events.on((e) => seen.push(e));
  let clock = opts.clock ?? 1_700_000_000_000;
  const relay = await Relay.open(store, events, {
    heartbeatMs: 1000, replayWindowMs: opts.windowMs ?? 60_000, helloTimeoutMs: 5000, suggestRate: 1000, suggestBurst: 100_000,
    ...(opts.notifyRefusal ? { notifyRefusal: opts.notifyRefusal } : {}),
  }, () => clock);
  const builder = async (name: string, b: BuilderOpts = {}) => {
    const p = new FakePeer(`${name}:1`);
    relay.connected(p);
    relay.message(p, {
      type: 'hello', protocol: 2, role: 'builder', name, instance: b.instance ?? INSTANCE, uname, node: 'v20',
      projects: b.projects ?? ['foo'], ignoreUnknown: b.ignoreUnknown ?? false, ...(b.labels ? { labels: b.labels } : {}), ...(b.cancel ? { cancel: true } : {}),
      ...(b.cursor !== undefined ? { cursor: { store: store.id, seq: b.cursor } } : {}),
    });
    await settle();
    return p;
  };
  const suggester = () => {
    const p = new FakePeer('s:1');
    relay.connected(p);
    relay.message(p, { type: 'hello', protocol: 2, role: 'suggester' });
    return p;
  };
  const report = (id: string, verdict: Report['verdict'] = 'success', branch = 'main'): Report => ({
    type: 'report', id, project: 'foo', branch, exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 1,
    uname, node: 'v20', outputBytes: 2, outputCut: 0, outputChunks: 1,
  });
  /** Makes one suggestion, waits until it is accepted, and returns its id and place. */
  const suggest = async (s: FakePeer, branch = 'main', extra: { follow?: boolean; project?: string } = {}) => {
    const before = s.of('accepted').length;
    relay.message(s, { type: 'suggest', project: extra.project ?? 'foo', branch, ...(extra.follow ? { follow: true } : {}) });
    await settle();
    const acc = s.of('accepted')[before];
    if (!acc) throw new Error('not accepted');
    return acc;
  };
  /** A builder's report with its one chunk of output, as a real builder sends it. */
  const deliver = async (b: FakePeer, id: string, fields: Partial<Report> = {}) => {
    relay.message(b, { type: 'report-output', id, data: 'ok' });
    relay.message(b, { ...report(id), ...fields });
    await settle();
  };
  const reports = () => seen.filter((e): e is Extract<MasterEvent, { type: 'report' }> => e.type === 'report').map((e) => e.report);
  const notices = (event: string) => seen.filter((e) => e.type === 'notice' && e.event === event);
  return {
    relay, store, sqlite, seen, builder, suggester, report, suggest, deliver, reports, notices, dir,
    advance: (ms: number) => { clock += ms; },
  };
}

describe('Relay', () => {
  it('greets with a nonce and the record id, records a suggestion before it offers it, and tells the suggester who got it', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const b = await t.builder('b', { projects: ['bar'] });
    expect(a.sent[0]).toMatchObject({ type: 'greeting', protocol: 2, nonce: expect.stringMatching(/^[0-9a-f]{32}$/), store: t.store.id });
    expect(a.of('synced')).toEqual([{ type: 'synced', seq: 0 }]);
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', ref: '0', project: 'foo', branch: 'main' });
    expect(a.of('suggest')).toEqual([]); // not before the commit
    await settle();
    const acc = s.of('accepted')[0]!;
    expect(acc).toMatchObject({ ref: '0', seq: 1, project: 'foo', branch: 'main', builders: ['a', 'b'] });
    expect(a.of('suggest')).toEqual([{ type: 'suggest', id: acc.id, seq: 1, project: 'foo', branch: 'main' }]);
    expect(b.of('suggest')).toHaveLength(1);
    expect(await t.store.suggestion(acc.id)).toMatchObject({ seq: 1, project: 'foo' });
    expect((await t.suggest(s)).seq).toBe(2);
  });

  it('keeps the sequence growing across a restart of the master on the same record', async () => {
    const dir = tempDir();
    const t = await setup({ dir });
    const s = t.suggester();
    await t.suggest(s);
    await t.suggest(s);
    await t.sqlite.close();
    const t2 = await setup({ dir });
    expect(t2.store.id).toBe(t.store.id);
    expect((await t2.suggest(t2.suggester())).seq).toBe(3);
  });

  it('acknowledges a report only after storing it, and stores and tells a resent duplicate once', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const s = t.suggester();
    const { id } = await t.suggest(s);
    t.relay.message(a, { type: 'report-output', id, data: 'ok' });
    t.relay.message(a, t.report(id));
    expect(a.of('ack')).toEqual([]);
    await settle();
    expect(a.of('ack')).toEqual([{ type: 'ack', id }]);
    expect(recorded(t.dir, 'a', id)).toMatchObject({ verdict: 'success', output: 'ok' });
    expect(s.of('report')).toHaveLength(1);
    await t.deliver(a, id);
    expect(a.of('ack')).toHaveLength(2);
    expect(t.reports()).toHaveLength(1);
  });

  it('refuses a report whose output chunks do not match', async () => {
    const t = await setup();
    const a = await t.builder('a');
    t.relay.message(a, t.report('x-1'));
    await settle();
    expect(a.of('error')[0]!.message).toContain('announced 1 output chunks but 0 came before it');
    expect(a.of('ack')).toEqual([]);
  });

  it('tracks each builder\'s part: offered, received, started, reported', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const s = t.suggester();
    const { id, seq } = await t.suggest(s);
    t.relay.message(a, { type: 'received', seq });
    t.relay.message(a, { type: 'started', id, startedAt: 5 });
    await t.deliver(a, id);
    // Offered is told by the suggestion event, which names whom it went to; each later step by a delivery event.
    expect(t.seen.find((e) => e.type === 'suggestion')).toMatchObject({ builders: ['a'] });
    const states = t.seen.filter((e) => e.type === 'delivery' && e.id === id).map((e) => (e as { state: string }).state);
    expect(states).toEqual(['received', 'started', 'reported']);
    expect(await t.store.openDeliveries()).toEqual([]);
    expect(recordedDelivery(t.dir, seq, 'a')).toBe('reported');
  });

  it('a builder that goes away owes its open builds until the window ends; the waiter hears it went away, then lost', async () => {
    const t = await setup({ windowMs: 10_000 });
    const a = await t.builder('a');
    const s = t.suggester();
    const { id, seq } = await t.suggest(s);
    t.relay.message(a, { type: 'received', seq });
    t.relay.closed(a, 'heartbeat');
    await settle();
    expect(s.of('away')).toEqual([{ type: 'away', id, builder: 'a', reason: 'heartbeat', windowMs: 10_000 }]);
    expect(s.of('report')).toEqual([]);
    t.advance(9_000);
    t.relay.tick();
    await settle();
    expect(t.reports()).toEqual([]);
    t.advance(2_000);
    t.relay.tick();
    t.relay.tick();
    await settle();
    expect(s.of('report')).toEqual([expect.objectContaining({ id, builder: 'a', verdict: 'lost', exitCode: -1 })]);
    expect(s.of('report')[0]!.message).toMatch(/did not come back within the replay window \(10 s\) after it went away \(heartbeat\)/);
    expect(t.reports()).toHaveLength(1);
  });

  it('a builder back after the window still delivers its real report: it replaces the lost the master gave, told once', async () => {
    const t = await setup({ windowMs: 1_000 });
    const a = await t.builder('a');
    const s = t.suggester();
    const { id, seq } = await t.suggest(s);
    t.relay.message(a, { type: 'received', seq });
    t.relay.closed(a, 'heartbeat');
    t.advance(2_000);
    t.relay.tick();
    await settle();
    expect(s.of('report').map((r) => r.verdict)).toEqual(['lost']);
    const back = await t.builder('a', { cursor: seq });
    await t.deliver(back, id);
    expect(back.of('ack')).toEqual([{ type: 'ack', id }]);
    expect(recorded(t.dir, 'a', id)).toMatchObject({ verdict: 'success' });
    expect(t.seen.filter((e) => e.type === 'report').map((e) => [(e as { report: { verdict: string } }).report.verdict, (e as { replaced: boolean }).replaced])).toEqual([['lost', false], ['success', true]]);
    expect(s.of('report')).toHaveLength(1); // the waiter heard its one verdict already
  });

  it('a builder back within the window with its cursor is not sent again what it holds, and its report is taken', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const s = t.suggester();
    const { id, seq } = await t.suggest(s);
    t.relay.message(a, { type: 'received', seq });
    t.relay.closed(a, 'gone');
    const a2 = await t.builder('a', { cursor: seq });
    expect(a2.of('suggest')).toEqual([]);
    expect(a2.of('synced')).toEqual([{ type: 'synced', seq }]);
    await t.deliver(a2, id);
    expect(a2.of('ack')).toEqual([{ type: 'ack', id }]);
    expect(s.of('report').map((r) => r.verdict)).toEqual(['success']);
  });

  it('after a master restart, a builder back in time is owed what was made since it went away, even before the last window', async () => {
    const dir = tempDir();
    const T = 1_700_000_000_000;
    const t = await setup({ dir, windowMs: 600_000, clock: T });
    const a = await t.builder('a', { cursor: 0 });
    t.relay.closed(a, 'link cut'); // away from T
    t.advance(10_000);
    const missed = await t.suggest(t.suggester(), 'main'); // made at T + 10 s, offered to no one
    await settle();
    await t.sqlite.close();
    const t2 = await setup({ dir, windowMs: 600_000, clock: T + 200_000 }); // the master restarts at T + 200 s
    t2.advance(450_000); // back at T + 650 s: away 450 s counted from the master's start, so in time
    const back = await t2.builder('a', { cursor: 0 });
    expect(back.of('suggest').map((m) => m.id)).toEqual([missed.id]);
  });

  it('a known builder back without a cursor (it died before its first synced was on disk) is owed what it missed', async () => {
    const t = await setup();
    const a = await t.builder('a'); // no cursor: its state dir is new
    t.relay.closed(a, 'killed');
    const missed = await t.suggest(t.suggester(), 'main');
    const back = await t.builder('a'); // the same state dir, still without a cursor
    expect(back.of('suggest').map((m) => m.id)).toEqual([missed.id]);
    const stranger = await t.builder('b'); // never seen: starts from now
    expect(stranger.of('suggest')).toEqual([]);
  });

  it('offers again an order a builder was sent but never received (its link died first), whatever the time', async () => {
    const t = await setup({ windowMs: 60_000 });
    const a = await t.builder('a', { cursor: 0 });
    const s = t.suggester();
    const { id } = await t.suggest(s);
    t.relay.closed(a, 'heartbeat');
    t.advance(50_000);
    const a2 = await t.builder('a', { cursor: 0 });
    expect(a2.of('suggest')).toEqual([expect.objectContaining({ id, replayed: true })]);
    await t.deliver(a2, id);
    expect(s.of('report').map((r) => r.verdict)).toEqual(['success']);
  });

  it('replays what a builder missed while away, newest per project and branch; the older ones are superseded, each with a report', async () => {
    const t = await setup();
    const a = await t.builder('a', { projects: ['foo'], cursor: 0 });
    t.relay.closed(a, 'gone');
    const s = t.suggester();
    const m1 = await t.suggest(s, 'main');
    const m2 = await t.suggest(s, 'main');
    const d1 = await t.suggest(s, 'dev');
    const back = await t.builder('a', { projects: ['foo'], cursor: 0 });
    expect(back.of('suggest').map((m) => [m.id, m.replayed])).toEqual([[m2.id, true], [d1.id, true]]);
    expect(back.of('synced')).toEqual([{ type: 'synced', seq: d1.seq }]);
    expect(t.reports()).toEqual([expect.objectContaining({ id: m1.id, builder: 'a', verdict: 'superseded' })]);
    expect(t.seen.find((e) => e.type === 'replay')).toMatchObject({ builder: 'a', sent: [m2.id, d1.id], superseded: [m1.id] });
  });

  it('sends a returning builder synced only once the verdicts its replay gave are in the record', async () => {
    // Found by the chaos suite: a master killed between `synced` (the builder's cursor passes the superseded
    // place) and the commit of the superseded verdict left that delivery open for good.
    const held: Array<() => void> = [];
    const t = await setup({
      store: (sq) => Object.assign(Object.create(sq) as SqliteStore, {
        commit: async (w: Parameters<SqliteStore['commit']>[0]) => {
          if (w.reports.length) await new Promise<void>((r) => held.push(r));
          return sq.commit(w);
        },
      }),
    });
    const a = await t.builder('a', { projects: ['foo'], cursor: 0 });
    t.relay.closed(a, 'gone');
    const s = t.suggester();
    const m1 = await t.suggest(s, 'main');
    const m2 = await t.suggest(s, 'main');
    const back = await t.builder('a', { projects: ['foo'], cursor: 0 });
    // The order waits for its delivery to be in the record, which goes in the commit the verdict is held in.
    expect(back.of('synced')).toEqual([]);
    expect(held).toHaveLength(1);
    held[0]!();
    await settle();
    expect(back.of('suggest').map((m) => m.id)).toEqual([m2.id]);
    expect(t.reports()).toEqual([expect.objectContaining({ id: m1.id, builder: 'a', verdict: 'superseded' })]);
    expect(back.of('synced')).toEqual([{ type: 'synced', seq: m2.seq }]);
  });

  it('replays to a builder that ignores unknown projects only what it has scripts for', async () => {
    const t = await setup();
    const a = await t.builder('a', { projects: ['foo'], cursor: 0, ignoreUnknown: true });
    t.relay.closed(a, 'gone');
    const s = t.suggester();
    await t.suggest(s, 'main', { project: 'bar' });
    const foo = await t.suggest(s, 'main');
    const back = await t.builder('a', { projects: ['foo'], cursor: 0, ignoreUnknown: true });
    expect(back.of('suggest').map((m) => m.id)).toEqual([foo.id]);
  });

  it('sends a builder that comes back after the window what was made within it, and nothing older', async () => {
    const t = await setup({ windowMs: 10_000 });
    const a = await t.builder('a', { cursor: 0 });
    t.relay.closed(a, 'gone');
    const s = t.suggester();
    await t.suggest(s, 'old');
    t.advance(20_000);
    const fresh = await t.suggest(s, 'fresh');
    const back = await t.builder('a', { cursor: 0 });
    expect(back.of('suggest').map((m) => m.id)).toEqual([fresh.id]);
  });

  it('refuses a second clientd under a connected builder\'s name, with a code, and keeps the first', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const impostor = await t.builder('a', { instance: OTHER });
    expect(impostor.closedCode).toBe('name-in-use');
    expect(impostor.closedWith).toMatch(/^builder name a is in use by another simplebb-clientd, connected from 127\.0\.0\.1/);
    expect(a.closedWith).toBeUndefined();
    const s = t.suggester();
    await t.suggest(s);
    expect(a.of('suggest')).toHaveLength(1);
    expect(impostor.of('suggest')).toHaveLength(0);
    expect(t.notices('name-in-use')).toHaveLength(1);
  });

  it('lets the same clientd (same state dir) replace its own old connection', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const again = await t.builder('a');
    expect(a.closedWith).toContain('replaced');
    expect(again.closedWith).toBeUndefined();
  });

  it('a builder back with another state dir: what it had started is lost, what it was only offered is offered again', async () => {
    const t = await setup();
    const a = await t.builder('a', { cursor: 0 });
    const s = t.suggester();
    const started = await t.suggest(s, 'one');
    t.relay.message(a, { type: 'received', seq: started.seq });
    t.relay.message(a, { type: 'started', id: started.id, startedAt: 1 });
    t.relay.closed(a, 'gone');
    const offered = await t.suggest(s, 'two');
    await settle();
    // Offered while away: not a delivery yet. Made a delivery by a live offer instead:
    const a2 = await t.builder('a', { instance: OTHER });
    expect(s.of('report')).toEqual([expect.objectContaining({ id: started.id, verdict: 'lost', message: expect.stringContaining('another state dir') })]);
    expect(a2.of('suggest').map((m) => m.id)).not.toContain(started.id);
    expect(a2.of('suggest').map((m) => m.id)).not.toContain(offered.id); // made while away: a new state dir starts from now
  });

  it('holds live suggestions for a builder still catching up, and sends them after what it missed, in order', async () => {
    let release: () => void = () => undefined;
    const t = await setup({
      store: (sql) => new Proxy(sql, {
        get(target, prop, recv) {
          if (prop === 'owed') {
            return async (...args: [string, number, number]): Promise<Owed> => {
              const r = await target.owed(...args);
              await new Promise<void>((res) => { release = res; });
              return r;
            };
          }
          const v = Reflect.get(target, prop, recv) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }),
    });
    const s = t.suggester();
    const a = await t.builder('a', { cursor: 0 });
    release();
    await settle();
    t.relay.closed(a, 'gone');
    const missed = await t.suggest(s, 'missed');
    const back = await t.builder('a', { cursor: 0 }); // catching up: owed() is held
    const live = await t.suggest(s, 'live');
    expect(live.builders).toEqual(['a']);
    expect(back.of('suggest')).toEqual([]);
    release();
    await settle();
    expect(back.of('suggest').map((m) => m.id)).toEqual([missed.id, live.id]);
    expect(back.of('synced')).toEqual([{ type: 'synced', seq: live.seq }]);
  });

  /** Makes `n` suggestions on distinct branches (b0, b1, …) while builder `a` is away; their places, oldest first. */
  async function missed(t: Awaited<ReturnType<typeof setup>>, n: number): Promise<Array<{ id: string; seq: number }>> {
    const a = await t.builder('a', { cursor: 0 });
    t.relay.closed(a, 'gone');
    const suggesters = Array.from({ length: Math.ceil(n / 1000) }, () => t.suggester()); // 1000 each: the burst
    for (let i = 0; i < n; i++) t.relay.message(suggesters[Math.floor(i / 1000)]!, { type: 'suggest', project: 'foo', branch: `b${i}` });
    for (let i = 0; i < 20 && suggesters.reduce((k, s) => k + s.of('accepted').length, 0) < n; i++) await settle();
    const accepted = suggesters.flatMap((s) => s.of('accepted')).sort((x, y) => x.seq - y.seq);
    expect(accepted).toHaveLength(n);
    return accepted;
  }

  /** Says hello as builder `a` with `peer`, without waiting for anything. */
  const hello = (t: Awaited<ReturnType<typeof setup>>, peer: FakePeer): void => {
    t.relay.connected(peer);
    t.relay.message(peer, { type: 'hello', protocol: 2, role: 'builder', name: 'a', instance: INSTANCE, uname, node: 'v20', projects: ['foo'], cursor: { store: t.store.id, seq: 0 } });
  };

  it('replays to a builder owed more than the bound only the newest, and gives each older one refused in the record before synced', async () => {
    const t = await setup();
    const made = await missed(t, MAX_REPLAY + 3);
    const back = await t.builder('a', { cursor: 0 });
    for (let i = 0; i < 20 && !back.of('synced').length; i++) await settle();
    const orders = back.of('suggest');
    expect(orders.map((m) => m.id)).toEqual(made.slice(3).map((m) => m.id));
    expect(orders.every((m) => m.replayed === true)).toBe(true);
    expect(back.of('synced')).toEqual([{ type: 'synced', seq: made.at(-1)!.seq }]);
    const refused = t.reports().filter((r) => r.verdict === 'refused');
    expect(refused.map((r) => r.id)).toEqual(made.slice(0, 3).map((m) => m.id));
    expect(refused[0]).toMatchObject({ builder: 'a', exitCode: -1, message: `not replayed: builder a was owed more than ${MAX_REPLAY} builds when it came back, and only the newest ${MAX_REPLAY} were sent` });
    for (const m of made.slice(0, 3)) expect(recorded(t.dir, 'a', m.id)).toMatchObject({ verdict: 'refused' });
    expect(t.seen.find((e) => e.type === 'replay')).toMatchObject({ builder: 'a', refused: made.slice(0, 3).map((m) => m.id), superseded: [] });
    // Not owed again: the next return of the builder gets nothing it was refused.
    t.relay.closed(back, 'gone');
    const again = await t.builder('a', { cursor: 0 });
    expect(again.of('suggest').map((m) => m.id)).not.toContain(made[0]!.id);
  });

  it('sends a long replay a batch per turn of the event loop: another peer is answered before it ends', async () => {
    const t = await setup();
    await missed(t, MAX_REPLAY);
    const order: string[] = [];
    class Logged extends FakePeer {
      override send(m: FromMaster): boolean { order.push(`${this.remote} ${m.type}`); return super.send(m); }
    }
    const other = new Logged('o:1');
    t.relay.connected(other);
    t.relay.message(other, { type: 'hello', protocol: 2, role: 'suggester' });
    const back = new Logged('a:2');
    hello(t, back);
    setImmediate(() => t.relay.message(other, { type: 'ping', t: 1 }));
    for (let i = 0; i < 40 && !back.of('synced').length; i++) await settle();
    expect(back.of('suggest')).toHaveLength(MAX_REPLAY);
    const pong = order.indexOf('o:1 pong');
    const lastOrder = order.lastIndexOf('a:2 suggest');
    expect(pong).toBeGreaterThan(order.indexOf('a:2 suggest'));
    expect(pong).toBeLessThan(lastOrder); // a replay written in one go would come before the ping is even read
  });

  it('holds live suggestions made while a long replay is being sent, and sends them right after it, before synced', async () => {
    const t = await setup();
    const made = await missed(t, MAX_REPLAY);
    const s = t.suggester();
    const back = new FakePeer('a:2');
    hello(t, back);
    const live = await t.suggest(s, 'live'); // while the replay is still being written
    expect(live.builders).toEqual(['a']);
    expect(back.of('suggest').length).toBeLessThan(MAX_REPLAY);
    for (let i = 0; i < 40 && !back.of('synced').length; i++) await settle();
    const orders = back.of('suggest');
    expect(orders.map((m) => m.id)).toEqual([...made.map((m) => m.id), live.id]);
    expect(orders.at(-1)!.replayed).toBeUndefined();
    expect(back.of('synced')).toEqual([{ type: 'synced', seq: live.seq }]);
    expect(back.sent.at(-1)).toEqual({ type: 'synced', seq: live.seq });
  });

  it('a builder that goes away in the middle of a long replay is owed the rest when it is back', async () => {
    const t = await setup();
    const made = await missed(t, MAX_REPLAY);
    const back = new FakePeer('a:2');
    hello(t, back);
    await new Promise((r) => setImmediate(r));
    const got = back.of('suggest').length;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(MAX_REPLAY);
    t.advance(1000);
    t.relay.closed(back, 'gone'); // away since now: what was made before is owed only as deliveries still open
    await settle();
    const again = await t.builder('a', { cursor: made[got - 1]!.seq });
    for (let i = 0; i < 40 && !again.of('synced').length; i++) await settle();
    expect(again.of('suggest').map((m) => m.id)).toEqual(made.slice(got).map((m) => m.id));
  });

  it('a builder that skips a suggestion releases its waiter, is acknowledged, and nothing is stored', async () => {
    const t = await setup();
    const a = await t.builder('a', { projects: ['foo'] });
    const s = t.suggester();
    const { id } = await t.suggest(s);
    t.relay.message(a, { type: 'skipped', id });
    await settle();
    expect(s.of('report')).toEqual([expect.objectContaining({ id, builder: 'a', verdict: 'no-script' })]);
    expect(a.of('ack')).toEqual([{ type: 'ack', id }]);
    expect(t.reports()).toEqual([]);
    expect(await t.store.openDeliveries()).toEqual([]);
  });

  it('refuses a report whose project or branch does not match the suggestion it names, and one for no suggestion at all', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const s = t.suggester();
    const { id } = await t.suggest(s);
    t.relay.message(a, { type: 'report-output', id, data: 'ok' });
    t.relay.message(a, { ...t.report(id), branch: 'other' });
    await settle();
    t.relay.message(a, { type: 'report-output', id: 'zz-fake', data: 'ok' });
    t.relay.message(a, t.report('zz-fake'));
    await settle();
    expect(a.of('error').map((e) => e.message)).toEqual([
      `report ${id}: does not match that suggestion's project, branch and revision; not stored`,
      'report zz-fake: no such suggestion; not stored',
    ]);
    expect(a.of('ack').map((m) => m.id)).toEqual([id, 'zz-fake']);
    expect(t.reports()).toEqual([]);
  });

  it('takes a report only from a builder the suggestion was offered to, also once its delivery is final or the master has restarted', async () => {
    const dir = tempDir();
    const t = await setup({ dir });
    const a = await t.builder('a', { projects: ['foo'], ignoreUnknown: true });
    const b = await t.builder('b', { projects: ['bar'], ignoreUnknown: true });
    const s = t.suggester();
    const { id, seq } = await t.suggest(s);
    // Written with the suggestion, before anyone was sent it: a crash before the next commit keeps who it was for.
    expect(recordedDelivery(dir, seq, 'a')).toBe('offered');
    expect(recordedDelivery(dir, seq, 'b')).toBeUndefined();
    await t.deliver(b, id);
    expect(b.of('error').map((e) => e.message)).toEqual([`report ${id}: that suggestion was not offered to builder b; not stored`]);
    expect(b.of('ack').map((m) => m.id)).toEqual([id]); // acknowledged, so it is not sent for ever
    expect(t.reports()).toEqual([]);
    await t.deliver(a, id);
    expect(t.reports().map((r) => r.builder)).toEqual(['a']);
    await t.sqlite.close();
    const again = await setup({ dir });
    const a2 = await again.builder('a', { projects: ['foo'], ignoreUnknown: true, cursor: seq });
    const b2 = await again.builder('b', { projects: ['bar'], ignoreUnknown: true, cursor: seq });
    await again.deliver(a2, id); // a repeat whose ack was lost: taken, and a duplicate
    await again.deliver(b2, id);
    expect(a2.of('ack').map((m) => m.id)).toEqual([id]);
    expect(a2.of('error')).toEqual([]);
    expect(b2.of('error').map((e) => e.message)).toEqual([`report ${id}: that suggestion was not offered to builder b; not stored`]);
    expect(recorded(dir, 'b', id)).toBeUndefined();
  });

  it('a builder that goes away while its suggestion is being committed is still owed it: lost after the window, not open for good', async () => {
    const held: Array<() => void> = [];
    const t = await setup({
      windowMs: 1000,
      store: (sq) => Object.assign(Object.create(sq) as SqliteStore, {
        commit: async (w: Parameters<SqliteStore['commit']>[0]) => {
          if (w.suggestions.length) await new Promise<void>((r) => held.push(r));
          return sq.commit(w);
        },
      }),
    });
    const a = await t.builder('a');
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', project: 'foo', branch: 'main' });
    await settle();
    expect(held).toHaveLength(1);
    t.relay.closed(a, 'gone'); // during the commit
    held[0]!();
    await settle();
    const acc = s.of('accepted')[0]!;
    expect(acc.count).toBe(0);
    expect(recordedDelivery(t.dir, acc.seq, 'a')).toBe('offered');
    // It never comes back: when the window has passed, its delivery is given lost instead of staying open for good.
    t.advance(2000);
    t.relay.tick();
    await settle();
    expect(t.reports()).toEqual([expect.objectContaining({ id: acc.id, builder: 'a', verdict: 'lost' })]);
    expect(recordedDelivery(t.dir, acc.seq, 'a')).toBe('reported');
  });

  it('takes a builder\'s own lost verdict (its clientd died during the build) as final', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const s = t.suggester();
    const { id } = await t.suggest(s);
    await t.deliver(a, id, { verdict: 'lost', exitCode: -1, message: 'exit status unknown' });
    expect(s.of('report')).toEqual([expect.objectContaining({ verdict: 'lost', message: 'exit status unknown' })]);
    expect(await t.store.openDeliveries()).toEqual([]);
  });

  it('skips live output for a follower that reads too slowly, marks the gap, and keeps it connected', async () => {
    const t = await setup();
    const a = await t.builder('a');
    const s = t.suggester();
    const { id } = await t.suggest(s, 'main', { follow: true });
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: Buffer.from('one\n') });
    s.backlog = 64 * 1024 * 1024;
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: Buffer.from('two\n') });
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: Buffer.from('three\n') });
    s.backlog = 0;
    t.relay.message(a, { type: 'output', id, stream: 'stdout', data: Buffer.from('four\n') });
    expect(s.of('output').map((o) => (o.data as Buffer).toString())).toEqual([
      'one\n', expect.stringContaining('[simplebb: 10 bytes of live output skipped'), 'four\n',
    ]);
    expect(s.closedWith).toBeUndefined();
  });

  it('answers a ping only after hello: before it, a ping is one line too many and closes the connection', async () => {
    const t = await setup();
    const p = new FakePeer('x:1');
    t.relay.connected(p);
    t.relay.message(p, { type: 'ping', t: 1 });
    expect(p.closedWith).toBe('expected a hello message first, got ping');
    expect(p.of('pong')).toEqual([]);
    const s = t.suggester();
    t.relay.message(s, { type: 'ping', t: 7 });
    expect(s.of('pong')).toEqual([{ type: 'pong', t: 7 }]);
  });

  it('closes a connection whose first line is invalid, and logs bad lines at a limited rate per address, counting those left out', async () => {
    const t = await setup();
    const p = new FakePeer('x:1');
    t.relay.connected(p);
    t.relay.invalid(p, 'line is not valid JSON', false);
    expect(p.closedWith).toBe('line is not valid JSON');
    const s = t.suggester();
    // Both fake peers are on 127.0.0.1: the first line used one of the address's burst of 10.
    const logged = () => t.notices('invalid').filter((n) => n.type === 'notice' && n.fields.address === 's:1')
      .map((n) => (n.type === 'notice' ? n.fields.suppressed : undefined));
    for (let i = 0; i < 50; i++) t.relay.invalid(s, 'junk', false);
    expect(s.of('error')).toHaveLength(50); // every one is answered
    expect(logged()).toEqual(Array(9).fill(undefined)); // a burst of 10 per address, then at most one a second
    t.advance(5000);
    for (let i = 0; i < 20; i++) t.relay.invalid(s, 'junk', false);
    expect(logged().slice(9)).toEqual([41, undefined, undefined, undefined, undefined]);
    t.relay.tick(); // the sweep says how many were left out since
    expect(t.notices('suppressed').map((n) => (n.type === 'notice' ? n.fields : undefined))).toEqual([{ address: '127.0.0.1', suppressed: 15 }]);
  });

  it('answers a builder message from a suggester with an error and keeps the connection', async () => {
    const t = await setup();
    const s = t.suggester();
    t.relay.message(s, { type: 'started', id: 'a-1', startedAt: 1 });
    expect(s.of('error')[0]!.message).toBe('a suggester may not send started');
    expect(s.closedWith).toBeUndefined();
  });

  it('refuses a builder hello without an instance', async () => {
    const t = await setup();
    const p = new FakePeer('x:1');
    t.relay.connected(p);
    t.relay.message(p, { type: 'hello', protocol: 2, role: 'builder', name: 'a', uname, node: 'v20' });
    expect(p.closedWith).toBe('a builder hello needs name, instance, uname and node');
  });
});

describe('Relay with selectors', () => {
  it('offers a suggestion with a selector only to matching builders with the script, and follows label changes live', async () => {
    const t = await setup();
    const m1 = await t.builder('m1', { labels: { arch: 'x64' } });
    const m2 = await t.builder('m2', { labels: { arch: 'arm64' }, instance: OTHER });
    expect(m1.of('greeting')[0]).toMatchObject({ labels: true });
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', ref: '0', project: 'foo', branch: 'main', on: 'arch=arm64' });
    await settle();
    expect(s.of('accepted')[0]).toMatchObject({ count: 1, builders: ['m2'] });
    expect(m1.of('suggest')).toHaveLength(0);
    expect(m2.of('suggest')).toHaveLength(1);
    // The suggestion's selector is in the record.
    const db = new Database(join(t.dir, 'simplebb.db'), { readonly: true });
    expect(db.prepare('SELECT selector FROM suggestions').get()).toEqual({ selector: 'arch=arm64' });
    db.close();

    t.relay.message(m1, { type: 'labels', labels: { arch: 'arm64' } });
    t.relay.message(s, { type: 'suggest', ref: '1', project: 'foo', branch: 'dev', on: 'arch=arm64' });
    await settle();
    expect(s.of('accepted')[1]).toMatchObject({ count: 2 });
  });

  it('refuses at once, recording nothing, when no known builder matches; a dry run names who would and who not', async () => {
    const t = await setup();
    await t.builder('m1', { labels: { arch: 'x64' } });
    await t.builder('m2', { labels: { arch: 'arm64' }, projects: ['bar'], instance: OTHER });
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', ref: '0', project: 'foo', branch: 'main', on: 'arch=arm64' });
    t.relay.message(s, { type: 'suggest', ref: '1', project: 'foo', branch: 'main', on: 'arch=x64', dryRun: true });
    await settle();
    expect(s.of('error')[0]).toEqual({ type: 'error', ref: '0', code: 'no-match', message: 'no builder matches arch=arm64: m1 lacks arch=arm64 (has arch=x64); m2 has no script foo' });
    expect(s.of('dry-run')[0]).toEqual({ type: 'dry-run', ref: '1', project: 'foo', branch: 'main', builders: ['m1'], later: [], misses: [{ builder: 'm2', why: 'lacks arch=x64 (has arch=arm64), has no script foo' }] });
    expect(s.of('accepted')).toHaveLength(0);
    expect(await t.store.history.suggestions({ limit: 10 })).toEqual([]);
  });

  it('a matching builder away within the window gets the build when back; one that no longer matches is not sent it', async () => {
    const t = await setup();
    const m1 = await t.builder('m1', { labels: { pool: 'fast' } });
    t.relay.closed(m1, 'gone');
    await settle();
    const s = t.suggester();
    t.relay.message(s, { type: 'suggest', ref: '0', project: 'foo', branch: 'main', on: 'pool=fast' });
    await settle();
    expect(s.of('accepted')[0]).toMatchObject({ count: 0 });
    const slow = await t.builder('m1', { labels: { pool: 'slow' }, cursor: 0 });
    expect(slow.of('suggest')).toHaveLength(0);
    t.relay.closed(slow, 'gone');
    await settle();
    const fast = await t.builder('m1', { labels: { pool: 'fast' }, cursor: 0 });
    expect(fast.of('suggest')).toMatchObject([{ project: 'foo', branch: 'main', replayed: true }]);
  });
});

describe('Relay with notify (simplebb-suggest --notify)', () => {
  it('says it takes notify, and refuses it, recording nothing, when no mail sink is configured for it', async () => {
    const bare = await setup();
    const m1 = await bare.builder('m1');
    expect(m1.of('greeting')[0]).toMatchObject({ notify: true });
    const s = bare.suggester();
    bare.relay.message(s, { type: 'suggest', ref: '0', project: 'foo', branch: 'main', notify: 'dev@example.org' });
    await settle();
    expect(s.of('error')[0]).toEqual({
      type: 'error', ref: '0', code: 'no-notify',
      message: 'cannot mail dev@example.org: this master mails no one: it was started without --notify FILE (with "suggesterMail" naming a mail sink, docs/NOTIFICATIONS.md)',
    });
    expect(m1.of('suggest')).toHaveLength(0);
    expect(await bare.store.history.suggestions({ limit: 10 })).toEqual([]);

    let refusal: string | undefined = 'its notify file names no mail sink for suggesters';
    const t = await setup({ notifyRefusal: () => refusal });
    const m2 = await t.builder('m2');
    const s2 = t.suggester();
    t.relay.message(s2, { type: 'suggest', ref: '0', project: 'foo', branch: 'main', notify: 'dev@example.org' });
    await settle();
    expect(s2.of('error')[0]).toMatchObject({ code: 'no-notify', message: 'cannot mail dev@example.org: its notify file names no mail sink for suggesters' });
    // The notify file changed: asked again for the next suggestion.
    refusal = undefined;
    t.relay.message(s2, { type: 'suggest', ref: '1', project: 'foo', branch: 'main', notify: 'dev@example.org' });
    await settle();
    expect(s2.of('accepted')[0]).toMatchObject({ ref: '1', count: 1, builders: ['m2'] });
    expect(m2.of('suggest')).toHaveLength(1);
    const db = new Database(join(t.dir, 'simplebb.db'), { readonly: true });
    expect(db.prepare('SELECT notify FROM suggestions').all()).toEqual([{ notify: 'dev@example.org' }]);
    db.close();
  });
});

describe('Relay.cancel', () => {
  it('tells a builder that takes cancel, not an older one, records cancelled for one away, and tells that one when it is back', async () => {
    const t = await setup();
    const fresh = await t.builder('fresh', { cancel: true });
    const old = await t.builder('old');
    const away = await t.builder('away', { cancel: true, instance: OTHER });
    expect(fresh.of('greeting')[0]).toMatchObject({ cancel: true });
    const s = t.suggester();
    const acc = await t.suggest(s);
    t.relay.message(fresh, { type: 'started', id: acc.id, startedAt: 1 });
    t.relay.message(away, { type: 'received', seq: acc.seq });
    t.relay.closed(away, 'gone');
    await settle();

    const outcome = await t.relay.cancel(acc.id, '127.0.0.1 (http)', { reason: 'wrong branch' });
    expect(outcome).toEqual({
      ok: true, id: acc.id, finished: [], steps: [
        { builder: 'away', action: 'record', state: 'received' },
        { builder: 'fresh', action: 'send', state: 'started' },
        { builder: 'old', action: 'unable', state: 'offered', why: expect.stringMatching(/^builder old runs an older simplebb-clientd that does not know cancel/) as unknown },
      ].sort((a, b) => (a.builder < b.builder ? -1 : 1)),
    });
    expect(fresh.of('cancel')).toEqual([{ type: 'cancel', id: acc.id, reason: 'cancelled by 127.0.0.1 (http): wrong branch' }]);
    expect(old.of('cancel')).toEqual([]);
    expect(recorded(t.dir, 'away', acc.id)).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (http): wrong branch (builder away was not connected)' });

    // The one away had it on its disk: told right after its synced when it is back.
    const back = await t.builder('away', { cancel: true, instance: OTHER, cursor: acc.seq });
    const synced = back.sent.findIndex((m) => m.type === 'synced');
    const told = back.sent.findIndex((m) => m.type === 'cancel');
    expect(told).toBeGreaterThan(synced);
    expect(back.of('cancel')).toEqual([{ type: 'cancel', id: acc.id, reason: 'cancelled by 127.0.0.1 (http): wrong branch' }]);
    expect(back.of('suggest')).toEqual([]);

    // Once fresh reports it cancelled: only old's part is open, and old cannot be told; cancelling fresh again says it has finished.
    await t.deliver(fresh, acc.id, { verdict: 'cancelled', exitCode: 143, message: 'cancelled by 127.0.0.1 (http): wrong branch' });
    expect(await t.relay.cancel(acc.id, 'x', { builder: 'fresh' })).toEqual({
      ok: false, status: 409, error: `builder fresh's build of ${acc.id} has already finished (fresh cancelled): nothing to cancel`,
    });
    expect(await t.relay.cancel('zz-none', 'x')).toEqual({ ok: false, status: 404, error: 'no such suggestion: zz-none' });
  });

  it('limits a suggestion with builder to that builder, also in replay, and refuses an unknown builder or rerunOf', async () => {
    const t = await setup();
    const a = await t.builder('a');
    await t.builder('b', { instance: OTHER });
    const s = t.suggester();
    const first = await t.suggest(s);
    t.relay.message(s, { type: 'suggest', ref: 'r', project: 'foo', branch: 'main', rerunOf: first.id, builder: 'b' });
    await settle();
    const acc = s.of('accepted').find((x) => x.ref === 'r')!;
    expect(acc).toMatchObject({ count: 1, builders: ['b'] });
    expect(a.of('suggest').map((o) => o.id)).toEqual([first.id]);
    expect(await t.store.suggestion(acc.id)).toMatchObject({ rerunOf: first.id, builder: 'b' });
    t.relay.message(s, { type: 'suggest', ref: 'g', project: 'foo', branch: 'main', builder: 'ghost' });
    t.relay.message(s, { type: 'suggest', ref: 'n', project: 'foo', branch: 'main', rerunOf: 'zz-none' });
    await settle();
    expect(s.of('error')).toEqual(expect.arrayContaining([
      { type: 'error', ref: 'g', code: 'no-match', message: 'no builder named ghost is known to this master' },
      { type: 'error', ref: 'n', code: 'not-found', message: 'rerunOf: no such suggestion: zz-none' },
    ]));
    // a goes away and comes back with nothing on its disk: it is not owed the one for b.
    t.relay.closed(a, 'gone');
    const back = await t.builder('a', { cursor: 0 });
    expect(back.of('suggest').map((o) => o.id)).toEqual([first.id]);
  });
});
