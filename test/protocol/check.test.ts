// The zod-free client check must agree with messages.ts's FromMaster schema on every input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFromMaster, notifyAddressProblem } from '../../lib/protocol/check.js';
import { FromMaster, SuggestRequest } from '../../lib/protocol/messages.js';

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const VALID: Array<Record<string, unknown>> = [
  { type: 'greeting', protocol: 2, server: 'simplebb-masterd/0.1.0', nonce: 'ab'.repeat(16), store: 'cd'.repeat(16) },
  { type: 'greeting', protocol: 2, server: 'simplebb-masterd/0.1.0', nonce: 'ab'.repeat(16), store: 'cd'.repeat(16), check: true, labels: true, notify: true },
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

const mutated = fc.tuple(fc.constantFrom(...VALID), fc.array(fc.tuple(fc.oneof(fc.constantFrom('id', 'project', 'branch', 'revision', 'builders', 'count', 'verdict', 'stream', 'data', 'uname', 'exitCode', 'durationMs', 'outputBytes', 'protocol', 'nonce', 'ref', 'replayed', 'startedAt', 'message', 'builder', 'heartbeatMs', 'connected', 'tail', 'signal', 't', 'node', 'server', 'outputCut', 'seq', 'store', 'code', 'reason', 'windowMs', 'notify', 'labels', 'check'), fc.string({ maxLength: 8 })), probe), { maxLength: 3 }), fc.boolean())
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

/** Addresses near the rules' edges: a plain addr-spec, then each way one is not. */
const ADDRESSES = [
  'dev@example.org', 'a@b', "o'brien+ci@mail.example.co.uk", 'x.y_z-1@h-1.example', `${'l'.repeat(64)}@example.org`, `a@${'d'.repeat(63)}.org`,
  `${'l'.repeat(64)}@${`${'d'.repeat(60)}.`.repeat(3)}${'e'.repeat(6)}`, `${'l'.repeat(64)}@${`${'d'.repeat(60)}.`.repeat(3)}${'e'.repeat(7)}`,
  '', '@', 'dev', 'dev@', '@example.org', `${'l'.repeat(65)}@example.org`, `a@${'d'.repeat(64)}.org`, 'a b@example.org', 'a@exa mple.org',
  '"a b"@example.org', 'a..b@example.org', '.a@example.org', 'a.@example.org', 'a@-example.org', 'a@example-.org', 'a@example..org', 'a@[127.0.0.1]',
  'a\nb@example.org', 'a\u0000@example.org', 'a@example.org\r\nBcc: x@y', 'dev@exämple.org', 'dév@example.org', 'a@b@c', 'a@example.org.',
];

describe('the notify address', () => {
  const zodTakes = (v: unknown): boolean => SuggestRequest.safeParse({ type: 'suggest', project: 'widget', branch: 'main', notify: v }).success;

  it('takes a plain addr-spec of at most 254 characters, and refuses spaces, controls, quotes, literals and more', () => {
    const taken = ADDRESSES.filter((a) => notifyAddressProblem(a) === null);
    expect(taken).toEqual(ADDRESSES.slice(0, 7));
    expect(ADDRESSES[6]!.length).toBe(254);
    expect(notifyAddressProblem(ADDRESSES[7])).toBe('longer than 254 characters');
    expect(notifyAddressProblem('a b@example.org')).toMatch(/^mail address must be LOCAL@DOMAIN with a plain local part/);
    expect(notifyAddressProblem('a@[127.0.0.1]')).toMatch(/host name after the @/);
    expect(notifyAddressProblem(5)).toBe('expected a string');
  });

  it('is checked alike by the zod-free check simplebb-suggest uses and by the schema the master uses', () => {
    for (const a of ADDRESSES) expect(notifyAddressProblem(a) === null, a).toBe(zodTakes(a));
    const local = fc.stringMatching(/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~ "\\-]{0,70}$/);
    const domain = fc.stringMatching(/^[A-Za-z0-9.\-\[\] ]{0,70}$/);
    const mutatedAddress = fc.oneof(
      fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`),
      fc.tuple(fc.constantFrom(...ADDRESSES), fc.nat(260), fc.string({ maxLength: 3 })).map(([a, i, x]) => a.slice(0, i) + x + a.slice(i)),
      fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 1 }),
    );
    fc.assert(fc.property(mutatedAddress, (a) => {
      expect(notifyAddressProblem(a) === null).toBe(zodTakes(a));
    }), { numRuns: 5000, seed: 20261202 });
  });
});
