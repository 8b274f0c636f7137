import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, PROTOCOL_VERSION } from '../../lib/protocol/limits.js';
import { validateFromMaster, validateToMaster, versionProblem } from '../../lib/protocol/messages.js';
import { parseLine } from '../../lib/wire/connection.js';

const parse = (v: unknown) => parseLine(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), validateToMaster);
const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
const report = {
  type: 'report', id: 'abc-1', project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 5,
  uname, node: 'v20.19.0', outputBytes: 3, outputCut: 0, outputChunks: 1,
};

describe('messages to the master', () => {
  it.each([
    { type: 'hello', protocol: PROTOCOL_VERSION, role: 'suggester' },
    { type: 'hello', protocol: 2, role: 'builder', name: 'b1', instance: 'ab'.repeat(8), uname, node: 'v20', projects: ['foo', 'bar'], jobs: 2, cursor: { store: 'cd'.repeat(8), seq: 7 } },
    { type: 'received', seq: 12 },
    { type: 'skipped', id: 'abc-1' },
    { type: 'suggest', project: 'foo', branch: 'feature/x', revision: 'abcdef12', ref: '0', follow: true },
    { type: 'started', id: 'abc-1', startedAt: 1 },
    { type: 'report-output', id: 'abc-1', data: 'out' },
    report,
    { type: 'projects', projects: [] },
    { type: 'ping', t: 1 },
  ])('accepts %j', (m) => expect(parse(m)).toMatchObject({ ok: true, message: m }));

  it.each([
    ['not json', 'not valid JSON'],
    ['null', 'must be a JSON object'],
    ['[1,2]', 'must be a JSON object'],
    ['"str"', 'must be a JSON object'],
    [{ no: 'type' }, 'no "type"'],
    [{ type: 'launch-missiles' }, 'unknown message type "launch-missiles"'],
    [{ type: 'suggest', project: '../etc', branch: 'main' }, 'project: project name must not contain ".."'],
    [{ type: 'suggest', project: 'foo', branch: '-x' }, 'branch: branch name must not start with "-"'],
    [{ type: 'suggest', project: 'foo', branch: 'main', revision: 'xyz' }, 'revision: revision must be 4 to 64 hexadecimal digits'],
    [{ type: 'suggest', project: 'foo' }, 'invalid suggest message: branch'],
    [{ type: 'hello', protocol: 2, role: 'admin' }, 'invalid hello message: role'],
    [{ type: 'hello', protocol: 2, role: 'builder', name: 'b', instance: 'not-hex' }, 'invalid hello message: instance'],
    [{ type: 'hello', protocol: 2, role: 'builder', name: 'b', cursor: { store: 'ab'.repeat(8), seq: -1 } }, 'invalid hello message: cursor.seq'],
    [{ type: 'received', seq: 1.5 }, 'invalid received message: seq'],
    [{ ...report, verdict: 'great' }, 'verdict'],
    [{ ...report, outputChunks: 1000 }, 'outputChunks'],
    [{ type: 'started', id: '../../x', startedAt: 1 }, 'id'],
  ])('refuses %j naming the problem', (m, problem) => {
    const r = parse(m);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toContain(problem);
  });

  it('takes an output message\'s raw bytes (put in `data` by the connection) and bounds them', () => {
    const m = { type: 'output', id: 'abc-1', stream: 'stderr', data: Buffer.from([0x0a, 0xff, 0x00]) };
    expect(validateToMaster(m)).toEqual({ ok: true, message: m });
    for (const data of ['x\n', Buffer.alloc(0), Buffer.alloc(MAX_PAYLOAD_BYTES + 1), undefined]) {
      const r = validateToMaster({ ...m, data });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toContain('data');
    }
  });

  it('checks an output frame by hand as strictly as its schema: a bad id, stream or extra key is refused, named', () => {
    const m = { type: 'output', id: 'abc-1', stream: 'stdout', data: Buffer.from('x') };
    expect(validateToMaster(m)).toEqual({ ok: true, message: m });
    for (const [bad, field] of [
      [{ ...m, id: 'ABC' }, 'id'], [{ ...m, id: 'a'.repeat(65) }, 'id'], [{ ...m, id: 7 }, 'id'],
      [{ ...m, stream: 'stdin' }, 'stream'], [{ ...m, extra: 1 }, 'extra'], [{ type: 'output', id: 'abc-1', data: m.data }, 'stream'],
    ] as const) {
      const r = validateToMaster(bad as never);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toContain(field);
    }
  });

  it('refuses invalid UTF-8', () => {
    const r = parseLine(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), validateToMaster);
    expect(r).toEqual({ ok: false, problem: 'line is not valid UTF-8' });
  });

  it('refuses deeply nested JSON before parsing it, and counts no bracket inside a string', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(parse(deep)).toMatchObject({ ok: false, problem: 'line nests deeper than 32 levels' });
    expect(parse(`{"type":"ping","x":${deep}}`)).toMatchObject({ ok: false, problem: 'line nests deeper than 32 levels' });
    // Within the depth the line is parsed, and then refused for its key (what the master receives is strict).
    const unknownKey = { ok: false, problem: 'invalid ping message: Unrecognized key: "x"' };
    expect(parse(`{"type":"ping","x":${'['.repeat(31)}${']'.repeat(31)}}`)).toMatchObject(unknownKey);
    expect(parse({ type: 'suggest', project: 'foo', branch: 'main', ref: '[{'.repeat(30) }).ok).toBe(true);
    expect(parse(`{"type":"ping","x":"\\\"${'['.repeat(40)}"}`)).toMatchObject(unknownKey);
  });
});

describe('strict messages to the master', () => {
  it('refuses a key the protocol does not define, at any depth, naming it; clients still ignore unknown keys from the master', () => {
    expect(parse({ type: 'hello', protocol: 2, role: 'suggester', admin: true })).toMatchObject({ ok: false, problem: 'invalid hello message: Unrecognized key: "admin"' });
    expect(parse({ type: 'received', seq: 1, extra: 'x'.repeat(100) })).toMatchObject({ ok: false, problem: 'invalid received message: Unrecognized key: "extra"' });
    const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h', smuggled: 1 };
    expect(parse({ type: 'hello', protocol: 2, role: 'builder', name: 'b', instance: 'a1'.repeat(8), uname, node: 'v20' }))
      .toMatchObject({ ok: false, problem: 'invalid hello message: uname: Unrecognized key: "smuggled"' });
    expect(parse({ type: 'suggest', project: 'foo', branch: 'main' }).ok).toBe(true);
    expect(parseLine(Buffer.from(JSON.stringify({ type: 'ack', id: 'a-1', addedLater: 1 })), validateFromMaster).ok).toBe(true);
  });
});

describe('messages from the master', () => {
  it('validates what clients receive', () => {
    expect(parseLine(Buffer.from(JSON.stringify({ type: 'accepted', id: 'a-1', seq: 3, project: 'foo', branch: 'm', count: 1, builders: ['b1'] })), validateFromMaster).ok).toBe(true);
    expect(parseLine(Buffer.from(JSON.stringify({ type: 'suggest', id: 'a-1', seq: 3, project: '../x', branch: 'm' })), validateFromMaster).ok).toBe(false);
    expect(parseLine(Buffer.from(JSON.stringify({ type: 'suggest', id: 'a-1', seq: 0, project: 'foo', branch: 'm' })), validateFromMaster).ok).toBe(false);
  });
});

describe('protocol version', () => {
  it('is checked before the schema, so a newer hello or greeting hears about the version', () => {
    const r = parseLine(Buffer.from(JSON.stringify({ type: 'hello', protocol: 1, role: 'observer', extra: [1] })), validateToMaster, 'this master');
    expect(r).toEqual({ ok: false, fatal: true, problem: 'protocol version 1 is not supported; this master speaks version 2' });
    const g = parseLine(Buffer.from(JSON.stringify({ type: 'greeting', protocol: 3 })), validateFromMaster, 'this client');
    expect(g).toMatchObject({ ok: false, fatal: true, problem: 'protocol version 3 is not supported; this client speaks version 2' });
  });

  it('carries the ref of a refused line so a suggester can match it', () => {
    expect(parse({ type: 'suggest', ref: '7', project: '..', branch: 'main' })).toMatchObject({ ok: false, ref: '7' });
  });

  it('names both versions when they differ', () => {
    expect(versionProblem(PROTOCOL_VERSION)).toBeNull();
    expect(versionProblem(99)).toBe(`protocol version 99 is not supported; this master speaks version ${PROTOCOL_VERSION}`);
  });
});
