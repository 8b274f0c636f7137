// The outbox's sender against a real record and sinks that fail on purpose: retried with backoff until the sink takes
// it, marked once, given up after the configured age; an unknown sink is an error on the entry, not a crash.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type MasterEvent } from '../../lib/master/events.js';
import type { Notice } from '../../lib/notify/notice.js';
import { planner } from '../../lib/notify/plan.js';
import { Sender } from '../../lib/notify/sender.js';
import type { Sink } from '../../lib/notify/sink.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites } from '../../lib/store/store.js';
import { cleanup, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };

async function storeWithOne(sink: string) {
  const store = new SqliteStore(tempDir());
  store.planNotifications(planner([{ name: 'r', when: ['failure'], perBuilder: true, sink }]));
  const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'p', branch: 'main', from: 't', createdAt: 1, offeredTo: ['a'] }] });
  await store.commit({ ...noWrites(), reports: [{ builder: 'a', id: 's-1', seq: s!.seq, project: 'p', branch: 'main', exitCode: 1, verdict: 'failure', durationMs: 1, uname, node: 'v22', output: 'no\n', outputBytes: 3, outputCut: 0, receivedAt: Date.now() }] });
  return store;
}

/** A sink that refuses its first `failures` notices. */
function flaky(failures: number): Sink & { took: Notice[]; tries: number } {
  const s = {
    took: [] as Notice[], tries: 0,
    async send(n: Notice) {
      s.tries++;
      if (s.tries <= failures) throw new Error(`refused ${s.tries}\nsecond line`);
      s.took.push(n);
    },
  };
  return s;
}

describe('Sender', () => {
  it('retries a failing sink with backoff, sends once, and marks it sent', async () => {
    const store = await storeWithOne('x');
    const sink = flaky(2);
    const events = new EventBus();
    const seen: MasterEvent[] = [];
    events.on((e) => { if (e.type === 'notification') seen.push(e); });
    const sender = new Sender({ outbox: store.outbox, sinks: new Map([['x', sink]]), events, retry: { baseMs: 20, capMs: 40 }, giveUpAfterMs: 60_000 });
    sender.start();
    await waitFor('the sink to take it', () => sink.took.length > 0, 10_000);
    await waitFor('the mark', () => seen.some((e) => e.type === 'notification' && e.outcome === 'sent'), 10_000);
    await sender.stop(1000);
    expect(sink.took.map((n) => n.id)).toEqual(['s-1:r:a:failure']);
    expect(seen.map((e) => e.type === 'notification' && `${e.outcome} ${e.attempts} ${e.error ?? ''}`)).toEqual(['failed 1 refused 1', 'failed 2 refused 2', 'sent 3 ']);
    expect(await store.outbox.recent(10)).toMatchObject([{ state: 'sent', attempts: 3, lastError: 'refused 2' }]);
  });

  it('gives up after giveUpAfterMs, and names a sink the file no longer has', async () => {
    const store = await storeWithOne('gone');
    const events = new EventBus();
    const sender = new Sender({ outbox: store.outbox, sinks: new Map(), events, retry: { baseMs: 10, capMs: 20 }, giveUpAfterMs: 0 });
    sender.start();
    for (let end = Date.now() + 10_000; Date.now() < end && (await store.outbox.recent(1))[0]!.state === 'pending';) await new Promise((r) => setTimeout(r, 20));
    await sender.stop(1000);
    expect(await store.outbox.recent(10)).toMatchObject([{ state: 'failed', attempts: 1, lastError: 'no sink named gone in the notify file' }]);
  });

  it('draws each delay under a doubling ceiling, never below the base', () => {
    const sender = new Sender({ outbox: {} as never, sinks: new Map(), events: new EventBus(), retry: { baseMs: 1000, capMs: 8000 }, giveUpAfterMs: 1 });
    for (let i = 0; i < 200; i++) {
      expect(sender.delay(0)).toBeGreaterThanOrEqual(1000);
      expect(sender.delay(0)).toBeLessThanOrEqual(1000);
      const d = sender.delay(2);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(4000);
      expect(sender.delay(30)).toBeLessThanOrEqual(8000);
    }
  });

  it("does not give a suggester's own notice (--notify) to a sink that is not a mail sink", async () => {
    const store = new SqliteStore(tempDir());
    store.planNotifications(planner([], Date.now, 'team'));
    const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'p', branch: 'main', from: 't', createdAt: 1, offeredTo: ['a'], notify: 'dev@example.org' }] });
    await store.commit({ ...noWrites(), reports: [{ builder: 'a', id: 's-1', seq: s!.seq, project: 'p', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 1, uname, node: 'v22', output: '', outputBytes: 0, outputCut: 0, receivedAt: Date.now() }] });
    const hook = flaky(0);
    const mail = Object.assign(flaky(0), { addressed: true as const });
    for (const [sink, took] of [[hook, 0], [mail, 1]] as const) {
      const events = new EventBus();
      let outcome: string | undefined;
      events.on((e) => { if (e.type === 'notification') outcome = e.type === 'notification' ? e.outcome : undefined; });
      const sender = new Sender({ outbox: store.outbox, sinks: new Map([['team', sink]]), events, retry: { baseMs: 10, capMs: 20 }, giveUpAfterMs: 60_000 });
      sender.start();
      await waitFor('an attempt', () => outcome, 10_000);
      await sender.stop(1000);
      expect(sink.took.map((n) => n.to)).toEqual(took ? ['dev@example.org'] : []);
    }
    expect(await store.outbox.recent(10)).toMatchObject([{ state: 'sent', lastError: "team is no longer a mail sink: a suggester's notice is only mailed" }]);
  });
});
