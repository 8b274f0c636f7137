// The zod-free client check must agree with messages.ts's FromMaster schema on every input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFromMaster } from '../../lib/protocol/check.js';
import { FromMaster } from '../../lib/protocol/messages.js';

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const VALID: Array<Record<string, unknown>> = [
  { type: 'greeting', protocol: 2, server: 'simplebb-masterd/0.1.0', nonce: 'ab'.repeat(16), store: 'cd'.repeat(16) },
  { type: 'welcome', protocol: 2, heartbeatMs: 10000 },
  { type: 'checked', protocol: 2, connected: true },
  { type: 'error', message: 'x', ref: '1', code: 'name-in-use' },
  { type: 'accepted', ref: '0', id: 'a-1', seq: 1, project: 'foo', branch: 'feature/x', revision: 'abcd', count: 2, builders: ['b1', 'b.2'] },
  { type: 'dry-run', ref: '0', project: 'foo', branch: 'main', builders: ['b1'], later: ['b2'], misses: [{ builder: 'b3', why: 'lacks arch=arm64' }] },
  { type: 'suggest', id: 'a-1', seq: 9007199254740991, project: 'foo', branch: 'main', revision: 'abcdef', replayed: true },
  { type: 'synced', seq: 0 },
  { type: 'away', id: 'a-1', builder: 'b1', reason: 'heartbeat', windowMs: 600000 },
  { type: 'ack', id: 'a-1' },
  { type: 'started', id: 'a-1', builder: 'b1', startedAt: 1.5 },
  { type: 'output', id: 'a-1', builder: 'b1', stream: 'stderr', data: Buffer.from('x\n\xff') },
  { type: 'report', id: 'a-1', builder: 'b1', project: 'foo', branch: 'main', exitCode: -1, signal: 'SIGTERM', verdict: 'timeout', message: 'm', startedAt: 5, durationMs: 0, uname, node: 'v20', outputBytes: 0, outputCut: 0 },
  { type: 'ping', t: 5 },
  { type: 'pong' },
];

/** Values that probe each kind of rule: types, lengths, ranges, names, enums. */
const probe = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', '..', '-x', 'a..b', 'ok', 'a/b', 'x'.repeat(129), 'x'.repeat(4097), 'success', 'lost', 'stdout', 'nope', 'ABC', 'abcd', 'zzz', 'a-1', 'A-1', 'ab'.repeat(8), 'AB'.repeat(8), 'ab'.repeat(33)),
  fc.constantFrom(-1, 0, 1, 1.5, 2 ** 53, 2 ** 53 - 1, -0.5, 7900),
  fc.constantFrom(undefined, null, true, false, [], {}, ['b1'], ['../x'], Array(4097).fill('b')),
  fc.constant(uname), fc.constant({ ...uname, type: 5 }),
  fc.constantFrom(Buffer.alloc(0), Buffer.from('x'), new Uint8Array(3), Buffer.alloc(256 * 1024), Buffer.alloc(256 * 1024 + 1)),
);

const mutated = fc.tuple(fc.constantFrom(...VALID), fc.array(fc.tuple(fc.oneof(fc.constantFrom('id', 'project', 'branch', 'revision', 'builders', 'count', 'verdict', 'stream', 'data', 'uname', 'exitCode', 'durationMs', 'outputBytes', 'protocol', 'nonce', 'ref', 'replayed', 'startedAt', 'message', 'builder', 'heartbeatMs', 'connected', 'tail', 'signal', 't', 'node', 'server', 'outputCut', 'seq', 'store', 'code', 'reason', 'windowMs'), fc.string({ maxLength: 8 })), probe), { maxLength: 3 }), fc.boolean())
  .map(([base, edits, dropOne]) => {
    const m: Record<string, unknown> = { ...base };
    for (const [k, v] of edits) {
      if (v === undefined) delete m[k];
      else m[k] = v;
    }
    if (dropOne) delete m[Object.keys(base).filter((k) => k !== 'type')[0]!];
    return m as Record<string, unknown> & { type: string };
  });

describe('checkFromMaster', () => {
  it('accepts every valid example', () => {
    for (const v of VALID) expect(checkFromMaster(v as Record<string, unknown> & { type: string })).toMatchObject({ ok: true });
  });

  it('agrees with the zod schema on mutated messages', () => {
    fc.assert(fc.property(mutated, (m) => {
      expect(checkFromMaster(m).ok).toBe(FromMaster.safeParse(m).success);
    }), { numRuns: 5000, seed: 20261121 });
  });

  it('refuses unknown types and names the field at fault', () => {
    expect(checkFromMaster({ type: 'hello' })).toEqual({ ok: false, problem: 'unknown message type "hello"' });
    expect(checkFromMaster({ type: 'constructor' })).toEqual({ ok: false, problem: 'unknown message type "constructor"' });
    const r = checkFromMaster({ type: 'suggest', id: 'a-1', seq: 1, project: '../x', branch: 'main' });
    expect(r).toEqual({ ok: false, problem: 'invalid suggest message: project: project name must not contain ".."' });
  });
});
