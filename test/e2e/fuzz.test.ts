// Property-style fuzzing with fast-check against the real master and a real builder: no crash, no hang, one answer per bad line, and good traffic flows meanwhile.
import fc from 'fast-check';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { validateFromMaster, validateToMaster } from '../../lib/protocol/messages.js';
import { parseLine } from '../../lib/wire/connection.js';
import { cleanup, fakeMaster, startBuilder, startMaster, suggest, waitFor } from '../helpers.js';
import { junkLine, VALID_FROM_MASTER, VALID_TO_MASTER } from '../junk.js';

afterEach(cleanup);

const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

/** Whether a line is a JSON object of type "output". */
function isOutputLine(l: Buffer): boolean {
  try {
    return (JSON.parse(l.toString()) as { type?: unknown } | null)?.type === 'output';
  } catch {
    return false;
  }
}

describe('fuzzing the master', () => {
  it('answers every junk line once, stays up, and keeps relaying to a well-behaved builder meanwhile', async () => {
    const m = await startMaster({ args: ['--suggest-rate', '100000', '--suggest-burst', '100000'] });
    await startBuilder(m.port, { name: 'good', scripts: { foo: 'echo fine' }, args: ['--ignore-unknown'] });
    const lines = fc.sample(junkLine(VALID_TO_MASTER), { numRuns: 300, seed: SEED })
      // An output line frames the bytes after it (PROTOCOL.md §1.1a; test/wire/connection.test.ts): not one junk line.
      .filter((l) => !isOutputLine(l))
      .filter((l) => { const r = parseLine(l, validateToMaster, 'x'); return r.ok ? r.message.type !== 'pong' : !r.fatal; });
    const sock = connect({ host: '127.0.0.1', port: m.port });
    let buf = '';
    let closed = false;
    sock.on('data', (d) => { buf += d.toString(); });
    sock.on('close', () => { closed = true; });
    const replies = (): Array<Record<string, unknown>> => buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor('greeting', () => replies()[0]);
    sock.write(JSON.stringify({ type: 'hello', protocol: 2, role: 'suggester' }) + '\n');
    await waitFor('welcome', () => replies()[1]);
    const waiting = suggest(m.port, ['foo', 'main', '--wait', '--timeout', '30']);
    for (const l of lines) {
      if (!sock.write(Buffer.concat([l, Buffer.from('\n')]))) await new Promise((r) => sock.once('drain', r));
    }
    // Answers to our own lines; a junk suggest that happened to be valid also brings that build's started and report.
    const answers = (): Array<Record<string, unknown>> => replies().slice(2).filter((r) => ['error', 'accepted', 'pong'].includes(r.type as string));
    await waitFor(`${lines.length} answers`, () => answers().length >= lines.length, 20_000);
    expect(closed).toBe(false);
    expect(answers().length).toBe(lines.length);
    expect(replies().slice(2).every((r) => ['error', 'accepted', 'pong', 'started', 'report'].includes(r.type as string))).toBe(true);
    const r = await waiting;
    expect(r.code).toBe(0);
    expect((await suggest(m.port, ['foo', 'main', '--wait'])).code).toBe(0);
    sock.destroy();
  });
});

describe('fuzzing the builder', () => {
  it('logs each junk line from its master as invalid, runs nothing for it, and still builds the valid suggestions between them', async () => {
    const lines = fc.sample(junkLine(VALID_FROM_MASTER), { numRuns: 200, seed: SEED })
      .filter((l) => { const r = parseLine(l, validateFromMaster, 'x'); return !r.ok && !r.fatal; });
    const fm = await fakeMaster();
    try {
      const b = await startBuilder(fm.port, { scripts: { foo: 'echo $1' } });
      await waitFor('connected', () => fm.connected());
      lines.forEach((l, i) => {
        fm.send(l);
        if (i % 50 === 0) fm.order({ id: `ok-${i}`, project: 'foo', branch: `b${i}` });
      });
      const goods = Math.ceil(lines.length / 50);
      await waitFor('valid builds reported', () => fm.reports().length === goods, 20_000);
      await waitFor('every junk line logged', () => b.log().filter((l) => l.event === 'invalid').length === lines.length, 10_000);
      expect(fm.reports().map((r) => [r.id, r.branch, r.verdict])).toEqual(Array.from({ length: goods }, (_, k) => [`ok-${k * 50}`, `b${k * 50}`, 'success']));
      expect(b.child.exitCode).toBeNull();
    } finally {
      await fm.close();
    }
  });
});
