// The inbox journal: what it holds after a restart, its cursor per record, a torn last line, and compaction.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Inbox, type SpooledReport } from '../../lib/builder/inbox.js';
import { adoptSpool } from '../../lib/builder/spool.js';
import type { BuildOrder } from '../../lib/protocol/messages.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const A = 'aa'.repeat(8);
const B = 'bb'.repeat(8);
const order = (seq: number, branch = `b${seq}`): BuildOrder => ({ type: 'suggest', id: `o-${seq}`, seq, project: 'p', branch });
const uname = { type: 'Linux', release: 'r', version: 'v', machine: 'x86_64', hostname: 'h' };
const report = (seq: number, output = `out ${seq}\n`): SpooledReport => ({
  id: `o-${seq}`, project: 'p', branch: `b${seq}`, exitCode: 0, verdict: 'success', durationMs: 5, uname, node: 'v20', output,
  outputBytes: output.length, outputCut: 0,
});

describe('Inbox', () => {
  it('holds what it received until done, with whether it began, across a reopen', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    expect(inbox.fresh([order(1), order(2), order(3)])).toHaveLength(3);
    await inbox.receive([order(1), order(2), order(3)], A);
    await inbox.begin('o-1', 1234);
    await inbox.pid('o-1', 4242);
    await inbox.noteSkipped('o-3');
    await inbox.done('o-2');
    inbox.close();
    const again = Inbox.open(dir).inbox;
    expect(again.pending().map((h) => [h.order.id, h.begun, h.begunAt, h.pid, h.skipped])).toEqual([['o-1', true, 1234, 4242, false], ['o-3', false, undefined, undefined, true]]);
    expect(again.skips()).toEqual(['o-3']);
    expect(again.cursor(A)).toBe(3);
    again.close();
  });

  it('counts the skips still to confirm as skips() does, a skip noted twice once, and none once done', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1), order(2), order(3)], A);
    await inbox.noteSkipped('o-1');
    await inbox.noteSkipped('o-1');
    await inbox.noteSkipped('o-2');
    await inbox.noteSkipped('o-9'); // not held: nothing to confirm
    expect([inbox.skipCount, inbox.skips().length]).toEqual([2, 2]);
    await inbox.done('o-1');
    await inbox.done('o-3');
    expect([inbox.skipCount, inbox.skips().length]).toEqual([1, 1]);
    inbox.close();
    const again = Inbox.open(dir).inbox;
    expect([again.skipCount, again.skips()]).toEqual([1, ['o-2']]);
    again.close();
  });

  it('says which orders are new, and keeps its cursor per record, moving only forward', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(5)], A, 9);
    expect(inbox.fresh([order(5), order(6)]).map((o) => o.id)).toEqual(['o-6']);
    await inbox.receive([order(5), order(6)], A);
    await inbox.receive([], A, 4);
    expect(inbox.cursor(A)).toBe(9);
    expect(inbox.cursor(B)).toBeUndefined();
    await inbox.receive([order(1)], B);
    expect(inbox.cursor(B)).toBe(1);
    expect(inbox.cursor(A)).toBeUndefined(); // a new record: the old cursor means nothing there
    inbox.close();
  });

  it('keeps the newest record\'s cursor across rewrites while it still holds orders of an older record', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(500)], A); // the old master's order, not built yet
    await inbox.receive([], B, 3); // a new master's record
    inbox.close();
    for (let i = 0; i < 2; i++) Inbox.open(dir).inbox.close(); // each open rewrites the journal
    const again = Inbox.open(dir).inbox;
    expect(again.cursor(B)).toBe(3);
    expect(again.pending().map((h) => [h.order.id, h.store])).toEqual([['o-500', A]]);
    again.close();
  });

  it('takes an order that arrives again while its first copy is being written as not new', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    const first = inbox.fresh([order(1)]);
    const writing = inbox.receive([order(1)], A);
    expect([first.map((o) => o.id), inbox.fresh([order(1)]).map((o) => o.id)]).toEqual([['o-1'], []]);
    await writing;
    expect(inbox.fresh([order(1)])).toEqual([]); // held now
    inbox.close();
  });

  it('notes the begin of a build that starts at once in the same write as its receipt', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1), order(2)], A, undefined, new Map([['o-1', 77]]));
    expect(inbox.pending().map((h) => [h.order.id, h.begun, h.begunAt])).toEqual([['o-1', true, 77], ['o-2', false, undefined]]);
    inbox.close();
  });

  it('skips a torn last line (a crash mid-write) and lines that are not its own, and says how many', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1)], A);
    inbox.close();
    appendFileSync(join(dir, 'inbox.log'), '{"t":"begin","id":"../../etc"}\n{"t":"order","s":"x","o":{}}\n{"t":"beg');
    const { inbox: again, skipped } = Inbox.open(dir);
    expect(skipped).toBe(3);
    expect(again.pending().map((h) => [h.order.id, h.begun])).toEqual([['o-1', false]]);
    again.close();
  });

  it('rewrites itself with only what it still holds once enough is done', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    for (let i = 1; i <= 2100; i++) {
      await inbox.receive([order(i)], A);
      if (i < 2100) await inbox.done(`o-${i}`);
    }
    await inbox.done('o-1'); // one more write after the threshold
    const text = readFileSync(join(dir, 'inbox.log'), 'utf8');
    expect(text.split('\n').filter(Boolean).length).toBeLessThan(300);
    inbox.close();
    const again = Inbox.open(dir).inbox;
    expect(again.pending().map((h) => h.order.id)).toEqual(['o-2100']);
    expect(again.cursor(A)).toBe(2100);
    again.close();
  }, 30_000);

  it('keeps reports (not in memory) until done, reads them back after a reopen and after a rewrite, oldest first', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1), order(2), order(3)], A, undefined, new Map([['o-1', 1], ['o-2', 2], ['o-3', 3]]));
    const big = 'é\u0000"\\'.repeat(100_000); // multi-byte, escaped characters: positions are in bytes
    await inbox.keep(report(2, big));
    await inbox.keep(report(1));
    expect(inbox.report('o-2')?.output).toBe(big);
    await inbox.done('o-1');
    expect([inbox.reported('o-1'), inbox.reported('o-2'), inbox.has('o-1'), inbox.reportCount]).toEqual([false, true, false, 1]);
    await inbox.keep(report(3));
    inbox.close();
    const again = Inbox.open(dir).inbox; // opening rewrites the journal, copying the reports
    expect(again.reportIds()).toEqual(['o-2', 'o-3']);
    expect(again.report('o-2')).toEqual(report(2, big));
    expect(again.report('o-3')).toEqual(report(3));
    expect(again.pending().map((h) => h.order.id)).toEqual(['o-2', 'o-3']);
    expect(again.report('o-1')).toBeUndefined();
    again.close();
  });

  it('keeps reports readable across a compaction while builds go on', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1)], A);
    await inbox.keep(report(1, 'x'.repeat(300_000)));
    for (let i = 2; i <= 2100; i++) {
      await inbox.receive([order(i)], A);
      await inbox.keep(report(i));
      await inbox.done(`o-${i}`);
    }
    // 6,300 lines written; rewritten once 2,000 orders were done, so fewer than 2 × 100 × 3 are left.
    expect(readFileSync(join(dir, 'inbox.log'), 'utf8').split('\n').filter(Boolean).length).toBeLessThan(600);
    expect(inbox.report('o-1')?.output).toHaveLength(300_000);
    expect(inbox.reportIds()).toEqual(['o-1']);
    inbox.close();
  }, 30_000);

  it('skips a torn report line: the build counts as begun without a report', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1)], A, undefined, new Map([['o-1', 1]]));
    inbox.close();
    appendFileSync(join(dir, 'inbox.log'), JSON.stringify({ t: 'report', r: report(1) }).slice(0, 60));
    const { inbox: again, skipped } = Inbox.open(dir);
    expect([skipped, again.reported('o-1'), again.begun('o-1')]).toEqual([1, false, true]);
    again.close();
  });

  it('skips a whole report line torn just before its newline, and the next line starts on a line of its own', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    await inbox.receive([order(1)], A, undefined, new Map([['o-1', 1]]));
    inbox.close();
    appendFileSync(join(dir, 'inbox.log'), JSON.stringify({ t: 'report', r: report(1) })); // complete JSON, no newline
    const { inbox: again, skipped } = Inbox.open(dir);
    expect([skipped, again.reported('o-1')]).toEqual([1, false]);
    await again.receive([order(2)], A);
    again.close();
    const third = Inbox.open(dir);
    expect(third.skipped).toBe(0);
    expect(third.inbox.pending().map((h) => h.order.id)).toEqual(['o-1', 'o-2']);
    third.inbox.close();
  });

  it('refuses to keep a report it could not read back, and adoption leaves such a spool file in place', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    const bad = { ...report(1), exitCode: 'zero' } as unknown as SpooledReport;
    await expect(inbox.keep(bad)).rejects.toThrow('report o-1 is not one the journal can keep');
    mkdirSync(join(dir, 'spool'));
    const file = join(dir, 'spool', `${String(1001).padStart(15, '0')}-000000-o-1.json`);
    writeFileSync(file, JSON.stringify({ ...bad, builder: 'me' }));
    expect(await adoptSpool(dir, 'me', inbox)).toEqual({ adopted: 0, foreign: [], unreadable: [file] });
    expect(existsSync(file)).toBe(true);
    inbox.close();
  });

  it('finishes the write under way when closed, then refuses more instead of writing to a reused descriptor', async () => {
    const dir = tempDir();
    const { inbox } = Inbox.open(dir);
    const first = inbox.receive([order(1)], A);
    inbox.close();
    await first;
    await expect(inbox.receive([order(2)], A)).rejects.toThrow('the inbox journal is closed');
    const again = Inbox.open(dir).inbox;
    expect(again.pending().map((h) => h.order.id)).toEqual(['o-1']);
    again.close();
  });

  it('takes reports spooled by earlier clientds into the journal, sets another builder\'s aside and leaves unreadable files', async () => {
    const dir = tempDir();
    const spool = join(dir, 'spool');
    mkdirSync(spool);
    const name = (i: number) => `${String(1000 + i).padStart(15, '0')}-000000-o-${i}.json`;
    writeFileSync(join(dir, name(1)), JSON.stringify(report(1))); // simplebb 0.1: at the top of the dir, no builder name
    writeFileSync(join(spool, name(2)), JSON.stringify({ ...report(2), builder: 'me' }));
    writeFileSync(join(spool, name(3)), JSON.stringify({ ...report(3), builder: 'someone-else' }));
    writeFileSync(join(spool, name(4)), '{"id":"o-4", "out');
    writeFileSync(join(spool, `.${name(5)}.tmp`), '{');
    const { inbox } = Inbox.open(dir);
    const got = await adoptSpool(dir, 'me', inbox);
    expect(got).toEqual({ adopted: 2, foreign: ['o-3'], unreadable: [join(spool, name(4))] });
    expect(inbox.reportIds()).toEqual(['o-1', 'o-2']);
    expect(inbox.report('o-2')).toEqual(report(2));
    expect(readdirSync(spool).sort()).toEqual([name(4), 'foreign']);
    expect(readdirSync(join(spool, 'foreign'))).toEqual([name(3)]);
    expect(existsSync(join(dir, name(1)))).toBe(false);
    inbox.close();
    expect(Inbox.open(dir).inbox.reportIds()).toEqual(['o-1', 'o-2']);
  });
});
