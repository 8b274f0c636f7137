// The planner against a real record: notifications kept in the report's own commit, one per suggestion once every
// expected builder has reported (or one per builder with perBuilder), judged from the stored previous verdict.
import { afterEach, describe, expect, it } from 'vitest';
import { planner, SUGGESTER_RULE } from '../../lib/notify/plan.js';
import { plainText, type Notice } from '../../lib/notify/notice.js';
import type { Rule } from '../../lib/notify/rules.js';
import type { Verdict } from '../../lib/protocol/messages.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type StoredReport, type StoredSuggestion } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };

function rule(r: Partial<Rule> & Pick<Rule, 'when'>): Rule {
  return { name: 'r', perBuilder: false, sink: 'mail', ...r };
}

function farm(rules: Rule[], suggesterMail?: string) {
  const store = new SqliteStore(tempDir());
  store.planNotifications(planner(rules, () => 42, suggesterMail));
  let t = 1_000_000;
  const suggest = async (builders: string[], revision = `rev${t}`, branch = 'main', notify?: string): Promise<StoredSuggestion> => {
    const { suggestions: [s] } = await store.commit({
      ...noWrites(), suggestions: [{ id: `s-${t++}`, project: 'widget', branch, revision, from: 'test', createdAt: t, offeredTo: builders, ...(notify ? { notify } : {}) }],
    });
    return s!;
  };
  const report = (s: StoredSuggestion, builder: string, verdict: Verdict): StoredReport => ({
    builder, id: s.id, seq: s.seq, project: s.project, branch: s.branch, ...(s.revision ? { revision: s.revision } : {}),
    exitCode: verdict === 'success' ? 0 : 1, verdict, durationMs: 5, uname, node: 'v22',
    output: `line 1\nerror: ${builder} broke\n`, outputBytes: 20, outputCut: 0, receivedAt: t++,
  });
  const send = (...reports: StoredReport[]) => store.commit({ ...noWrites(), reports });
  const notices = async (): Promise<Notice[]> => (await store.outbox.due(Number.MAX_SAFE_INTEGER, 100)).map((n) => JSON.parse(n.payload) as Notice);
  return { store, suggest, report, send, notices };
}

describe('planning notifications', () => {
  it('broken, then still failing, then fixed, then green again: one message per suggestion, only when all have reported', async () => {
    const f = farm([rule({ name: 'team', when: ['broken', 'fixed'] })]);
    const green = await f.suggest(['a', 'b']);
    await f.send(f.report(green, 'a', 'success'), f.report(green, 'b', 'success'));
    expect(await f.notices()).toEqual([]); // the first green is no news

    const red = await f.suggest(['a', 'b'], 'bad1');
    await f.send(f.report(red, 'a', 'failure'));
    expect(await f.notices()).toEqual([]); // b has not reported yet
    await f.send(f.report(red, 'b', 'success'));
    const [broken] = await f.notices();
    expect(broken).toMatchObject({ id: `${red.id}:team`, rule: 'team', project: 'widget', branch: 'main', revision: 'bad1', verdict: 'failure', transition: 'broken' });
    expect(broken!.builds).toHaveLength(1);
    expect(broken!.builds[0]).toMatchObject({ builder: 'a', verdict: 'failure', lastVerdict: 'success', transition: 'broken', sinceGreen: ['bad1'] });
    expect(broken!.builds[0]!.tail).toContain('error: a broke');

    const still = await f.suggest(['a', 'b'], 'bad2');
    await f.send(f.report(still, 'a', 'failure'), f.report(still, 'b', 'success'));
    expect(await f.notices()).toHaveLength(1); // still failing: not asked for

    const fix = await f.suggest(['a', 'b'], 'good');
    await f.send(f.report(fix, 'a', 'success'), f.report(fix, 'b', 'success'));
    const all = await f.notices();
    expect(all.map((n) => `${n.suggestion}:${n.transition}`)).toEqual([`${red.id}:broken`, `${fix.id}:fixed`]);
    expect(all[1]!.builds.map((b) => b.builder)).toEqual(['a']);

    const again = await f.suggest(['a', 'b']);
    await f.send(f.report(again, 'a', 'success'), f.report(again, 'b', 'success'));
    expect(await f.notices()).toHaveLength(2);
  });

  it('perBuilder: one message per report as it comes; a duplicate report plans nothing twice', async () => {
    const f = farm([rule({ name: 'each', when: ['failure'], perBuilder: true, builders: ['linux-*'] })]);
    const s = await f.suggest(['linux-1', 'linux-2', 'mac']);
    const r1 = f.report(s, 'linux-1', 'failure');
    await f.send(r1);
    expect((await f.notices()).map((n) => n.id)).toEqual([`${s.id}:each:linux-1:failure`]);
    await f.send(r1);
    await f.send(f.report(s, 'mac', 'failure'), f.report(s, 'linux-2', 'timeout'));
    // One suggestion's entries to one sink go in the order planned: linux-2's is due once linux-1's is sent.
    expect((await f.notices()).map((n) => n.builds[0]!.builder)).toEqual(['linux-1']);
    await f.store.outbox.sent(`${s.id}:each:linux-1:failure`, 1);
    expect((await f.notices()).map((n) => n.builds[0]!.builder)).toEqual(['linux-2']);
  });

  it('a lost verdict replaced by the real report; rules narrowed by project and branch', async () => {
    const f = farm([rule({ name: 'lost', when: ['lost'], perBuilder: true }), rule({ name: 'rel', when: ['any'], branches: ['release/*'] })]);
    const s = await f.suggest(['a']);
    await f.send(f.report(s, 'a', 'lost'));
    expect((await f.notices()).map((n) => n.id)).toEqual([`${s.id}:lost:a:lost`]);
    const replaced = f.report(s, 'a', 'success');
    expect((await f.send(replaced)).reports).toEqual(['replaced']);
    expect(await f.notices()).toHaveLength(1);
    const rel = await f.suggest(['a'], 'r1', 'release/1.0');
    await f.send(f.report(rel, 'a', 'success'));
    expect((await f.notices()).map((n) => n.id)).toEqual([`${s.id}:lost:a:lost`, `${rel.id}:rel`]);
  });

  it('the outbox entry and the report are one commit: a planner that throws stores neither', async () => {
    const store = new SqliteStore(tempDir());
    store.planNotifications(() => { throw new Error('boom'); });
    const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id: 's-1', project: 'p', branch: 'main', from: 't', createdAt: 1, offeredTo: ['a'] }] });
    const r: StoredReport = { builder: 'a', id: s!.id, seq: s!.seq, project: 'p', branch: 'main', exitCode: 1, verdict: 'failure', durationMs: 1, uname, node: 'v22', output: '', outputBytes: 0, outputCut: 0, receivedAt: 2 };
    await expect(store.commit({ ...noWrites(), reports: [r] })).rejects.toThrow('boom');
    expect(await store.history.reports({ limit: 10 })).toEqual([]);
    store.planNotifications(planner([rule({ when: ['failure'] })]));
    await store.commit({ ...noWrites(), reports: [r] });
    expect(await store.history.reports({ limit: 10 })).toHaveLength(1);
    expect(await store.outbox.recent(10)).toMatchObject([{ id: 's-1:r', sink: 'mail', state: 'pending', attempts: 0 }]);
  });

  it('marks: a failed attempt stays pending with its error; sent and given-up leave the due list', async () => {
    const f = farm([rule({ when: ['failure'], perBuilder: true })]);
    const s = await f.suggest(['a']);
    const t = await f.suggest(['b']);
    await f.send(f.report(s, 'a', 'failure'), f.report(t, 'b', 'failure'));
    const [x, y] = await f.store.outbox.due(Number.MAX_SAFE_INTEGER, 10);
    const later = Date.now() + 3_600_000;
    await f.store.outbox.failed(x!.id, 'connection refused', 100, { nextAt: later });
    expect((await f.store.outbox.due(later - 1, 10)).map((n) => n.id)).toEqual([y!.id]);
    expect(await f.store.outbox.nextDue()).toBe(y!.nextAt);
    await f.store.outbox.sent(y!.id, 200);
    expect(await f.store.outbox.nextDue()).toBe(later);
    await f.store.outbox.failed(x!.id, 'still refused', 6000, { giveUp: true });
    expect(await f.store.outbox.nextDue()).toBeUndefined();
    const recent = await f.store.outbox.recent(10);
    expect(recent.find((n) => n.id === x!.id)).toMatchObject({ state: 'failed', attempts: 2, lastError: 'still refused', doneAt: 6000 });
    expect(recent.find((n) => n.id === y!.id)).toMatchObject({ state: 'sent', attempts: 1, doneAt: 200 });
  });
});

describe("planning the suggester's own notice (--notify)", () => {
  it('plans one notice to its address once every builder has reported, whatever the rules say, beside what they plan', async () => {
    const f = farm([rule({ name: 'team', when: ['broken'] })], 'team');
    const green = await f.suggest(['a', 'b'], 'good', 'main', 'dev@example.org');
    await f.send(f.report(green, 'a', 'success'));
    expect(await f.notices()).toEqual([]); // b has not reported yet
    await f.send(f.report(green, 'b', 'success'));
    const [own] = await f.notices();
    expect(own).toMatchObject({ id: `${green.id}:${SUGGESTER_RULE}`, rule: SUGGESTER_RULE, to: 'dev@example.org', verdict: 'success', suggestion: green.id });
    expect(own!.builds.map((b) => `${b.builder} ${b.verdict}`)).toEqual(['a success', 'b success']);
    expect(await f.store.outbox.recent(10)).toMatchObject([{ id: `${green.id}:${SUGGESTER_RULE}`, sink: 'team', rule: SUGGESTER_RULE, state: 'pending' }]);

    // Broken: the rule's notice and the suggester's, each once; its plain text has every verdict and the tail.
    const red = await f.suggest(['a', 'b'], 'bad1', 'main', 'dev@example.org');
    await f.send(f.report(red, 'a', 'failure'), f.report(red, 'b', 'success'));
    const all = await f.notices();
    expect(all.map((n) => `${n.rule} ${n.to ?? '-'} ${n.builds.length}`).sort()).toEqual([`${SUGGESTER_RULE} dev@example.org 2`, `${SUGGESTER_RULE} dev@example.org 2`, 'team - 1']);
    const text = plainText(all.find((n) => n.suggestion === red.id && n.rule === SUGGESTER_RULE)!, 'https://ci.example.org');
    expect(text).toContain('a: failure (broken, was success)');
    expect(text).toContain('b: success');
    expect(text).toContain('  | error: a broke');
    expect(text).toContain(`page:     https://ci.example.org/s/${red.id}`);
    expect(text).toContain('revisions since the last green: bad1');
  });

  it('plans nothing for a suggestion without an address, nor for one with an address when no mail sink is named for it', async () => {
    const f = farm([], 'team');
    const s = await f.suggest(['a'], 'abcd');
    await f.send(f.report(s, 'a', 'failure'));
    expect(await f.notices()).toEqual([]);
    const g = farm([]);
    const t = await g.suggest(['a'], 'abcd', 'main', 'dev@example.org');
    await g.send(g.report(t, 'a', 'failure'));
    expect(await g.notices()).toEqual([]);
  });

  it('the address is in the record but not in the history the API and pages show', async () => {
    const f = farm([], 'team');
    const s = await f.suggest(['a'], 'abcd', 'main', 'dev@example.org');
    expect(s.notify).toBe('dev@example.org');
    expect((await f.store.history.suggestionView(s.id))).not.toHaveProperty('notify');
    expect((await f.store.history.suggestions({ limit: 10 }))[0]).not.toHaveProperty('notify');
  });
});
