// A build's page and its line stream over the HTTP app (fastify.inject, no socket): the whole kept log with a mark
// where a log beyond the page's budget leaves its middle out, a running build's page that says so, and the line
// stream that resumes from an offset with no line twice and none missing, then ends with the build's facts.
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../lib/http/eventLog.js';
import { createHttpApp } from '../../lib/http/server.js';
import { PAGE_LOG_BYTES } from '../../lib/http/ui/logBudget.js';
import { Board } from '../../lib/master/board.js';
import { EventBus } from '../../lib/master/events.js';
import { LiveLogs } from '../../lib/master/liveLogs.js';
import type { Relay } from '../../lib/master/relay.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { noWrites, type LogReader, type StoredReport } from '../../lib/store/store.js';
import { cleanup, tempDir } from '../helpers.js';

const uname = { type: 'Linux', release: '6.1.0', version: '#1 SMP', machine: 'x86_64', hostname: 'box' };

/** A master's HTTP app over a real record, whose "full logs" are the buffers given, each read in pieces of `piece` bytes. */
async function fixture(logs: Record<string, Buffer>, piece = 64 * 1024) {
  const store = new SqliteStore(tempDir());
  const events = new EventBus();
  const board = new Board(events);
  const reader: LogReader = {
    read: (id) => (logs[id] ? Readable.from(Array.from({ length: Math.ceil(logs[id]!.length / piece) }, (_, i) => logs[id]!.subarray(i * piece, (i + 1) * piece))) : undefined),
    sofar: () => undefined,
    prune: () => Promise.reject(new Error('not here')),
  };
  const report = async (id: string, output: string): Promise<StoredReport> => {
    const { suggestions: [s] } = await store.commit({ ...noWrites(), suggestions: [{ id, project: 'p', branch: 'main', from: 'test', createdAt: 1_796_160_000_000, offeredTo: ['b1'] }] });
    const r: StoredReport = {
      builder: 'b1', id, seq: s!.seq, project: 'p', branch: 'main', exitCode: 1, verdict: 'failure', durationMs: 1000, uname, node: 'v22.11.0',
      output, outputBytes: logs[id]?.length ?? output.length, outputCut: 0, receivedAt: 1_796_160_001_000,
    };
    await store.commit({ ...noWrites(), reports: [r] });
    if (logs[id]) await store.noteLog({ id, builder: 'b1', bytes: logs[id]!.length, storedBytes: 1, cut: 0, missing: 0, finishedAt: 1_796_160_001_000 });
    return r;
  };
  const app = createHttpApp({
    history: store.history, board, relay: {} as Relay, log: new EventLog(events), live: new LiveLogs(events), logs: reader, metrics: new Registry(),
    access: { loopback: true, publicBoard: false },
  });
  apps.push(app);
  // The line stream is a long answer written by hand: it is read over a real loopback socket, bounded in time.
  let base: string | undefined;
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ statusCode: number; body: string }> => {
    base ??= await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    return { statusCode: res.status, body: await res.text() };
  };
  return { app, events, report, get };
}

/** The SSE events of a body: type, id, data. */
function events(body: string): Array<{ type: string; id?: string; data: { html: string; gone?: boolean } }> {
  return body.split('\n\n').filter((f) => /^event: /m.test(f)).map((f) => ({
    type: /^event: (.*)$/m.exec(f)![1]!, ...(/^id: (.*)$/m.test(f) ? { id: /^id: (.*)$/m.exec(f)![1]! } : {}), data: JSON.parse(/^data: (.*)$/m.exec(f)![1]!) as { html: string },
  }));
}

/** The line ids in some HTML, in order. */
function ids(html: string): string[] {
  return [...html.matchAll(/<span class="line(?: partial)?" id="(L\d+)">/g)].map((m) => m[1]!);
}

const apps: Array<{ close: () => Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await cleanup();
});

describe('a build\'s page and its line stream', () => {
  it('shows a log beyond the page\'s budget as its head and tail, with a mark that counts what is left out and links the whole log, numbered truly after it', async () => {
    const lines = Math.ceil((PAGE_LOG_BYTES * 1.25) / 13);
    const log = Buffer.from(Array.from({ length: lines }, (_, i) => `line ${String(i + 1).padStart(7, '0')}\n`).join(''));
    const { app, report } = await fixture({ 'big-1': log });
    await report('big-1', 'the report\'s head and tail\n');
    const res = await app.inject({ url: '/b/big-1/b1' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const shown = ids(res.body);
    const mark = /<p class="cut" role="note">([\d,]+) bytes \(([\d,]+) lines\) not shown here; the whole log: <a href="\/api\/v1\/reports\/big-1\/b1\/log">/.exec(res.body);
    expect(mark).not.toBeNull();
    const [leftBytes, leftLines] = [Number(mark![1]!.replace(/,/g, '')), Number(mark![2]!.replace(/,/g, ''))];
    expect(shown[0]).toBe('L1');
    expect(shown.at(-1)).toBe(`L${lines}`);
    expect(shown.length + leftLines).toBe(lines);
    expect(leftBytes).toBe(leftLines * 13);
    // The numbers jump exactly by the lines left out, and each line is the one its number says.
    const gapAt = shown.findIndex((id, i) => i > 0 && Number(id.slice(1)) !== Number(shown[i - 1]!.slice(1)) + 1);
    expect(Number(shown[gapAt]!.slice(1)) - Number(shown[gapAt - 1]!.slice(1))).toBe(leftLines + 1);
    expect(res.body).toContain(`<span class="line" id="${shown[gapAt]}"><a class="ln" href="#${shown[gapAt]}" aria-hidden="true">${shown[gapAt]!.slice(1)}</a>line ${shown[gapAt]!.slice(1).padStart(7, '0')}\n`);
    expect(res.body.length).toBeLessThan(PAGE_LOG_BYTES * 10); // about 85 bytes of markup per line: these lines are short
    expect(res.body).toMatch(/<\/html>\n$/);
  });

  it('streams a finished log\'s lines and its facts; a reconnect from an event\'s id gets the rest, none twice, none missing', async () => {
    const log = Buffer.from(Array.from({ length: 3000 }, (_, i) => `\x1b[32mok\x1b[0m ${i + 1} <b>\n`).join('') + 'last, unended');
    const { get, report } = await fixture({ 'fin-1': log }, 4096);
    await report('fin-1', '');
    const all = events((await get('/api/v1/reports/fin-1/b1/log/lines?from=0')).body);
    expect(all.at(-1)!.type).toBe('end');
    expect(all.at(-1)!.data.html).toMatch(/^<div id="facts">[\s\S]*failure/);
    const whole = all.filter((e) => e.type === 'lines').flatMap((e) => ids(e.data.html));
    expect(whole).toEqual(Array.from({ length: 3001 }, (_, i) => `L${i + 1}`));
    expect(all.map((e) => e.data.html).join('')).not.toContain('<b>');
    const cut = all[3]!;
    const rest = events((await get('/api/v1/reports/fin-1/b1/log/lines?from=0', { 'last-event-id': cut.id! })).body);
    const before = all.slice(0, 4).flatMap((e) => ids(e.data.html));
    expect([...before, ...rest.filter((e) => e.type === 'lines').flatMap((e) => ids(e.data.html))]).toEqual(whole);
    expect((await get('/api/v1/reports/fin-1/b1/log/lines?from=x')).statusCode).toBe(400);
    expect((await get('/api/v1/reports/nope/b1/log/lines')).statusCode).toBe(404);
  });

  it('shows a running build\'s output so far and says it runs; its line stream goes on from the page\'s end and ends with the verdict', async () => {
    const { app, events: bus, report, get } = await fixture({});
    bus.emit({ type: 'builder-up', name: 'b1', address: '10.0.0.5:40112', instance: 'i', projects: ['p'], uname, node: 'v22.11.0', jobs: 1, labels: {} });
    bus.emit({ type: 'suggestion', suggestion: { id: 'run-1', seq: 1, project: 'p', branch: 'main', from: 'test', createdAt: 1 }, builders: ['b1'] });
    bus.emit({ type: 'started', id: 'run-1', builder: 'b1', startedAt: 2 });
    bus.emit({ type: 'output', id: 'run-1', builder: 'b1', stream: 'stdout', data: Buffer.from('\x1b[31mfirst\x1b[0m\nsecond\nthird, half') });
    const page = await app.inject({ url: '/b/run-1/b1' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('▶ running');
    expect(page.body).toContain('<noscript>It goes on: <a href="/b/run-1/b1">reload</a>');
    expect(ids(page.body)).toEqual(['L1', 'L2', 'L3']);
    expect(page.body).toContain('<span class="line partial" id="L3">');
    const from = /data-lines="([^"]+)"/.exec(page.body)![1]!.replace(/&amp;/g, '&');
    expect(from).toBe(`/api/v1/reports/run-1/b1/log/lines?from=${Buffer.byteLength('\x1b[31mfirst\x1b[0m\nsecond\n')}`);
    const stream = get(from);
    await new Promise((r) => setTimeout(r, 50));
    bus.emit({ type: 'output', id: 'run-1', builder: 'b1', stream: 'stdout', data: Buffer.from(' done\nfourth\n') });
    const r = await report('run-1', '');
    bus.emit({ type: 'report', report: r, replaced: false });
    const got = events((await stream).body);
    expect(got.filter((e) => e.type === 'lines').flatMap((e) => ids(e.data.html))).toEqual(['L3', 'L4']);
    const at = Buffer.byteLength('\x1b[31mfirst\x1b[0m\nsecond\nthird, half done\n');
    // Each event's id is the offset after its last line (the two came in one piece here).
    expect(got.filter((e) => e.type === 'lines').at(-1)!.id).toBe(String(at + 'fourth\n'.length));
    expect(got.at(-1)).toMatchObject({ type: 'end', data: { gone: false } });
    expect(got.at(-1)!.data.html).toContain('failure');
  });
});
