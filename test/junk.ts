// Generators of hostile lines for the fuzz tests: random bytes, mutated and truncated valid messages, huge and deeply nested JSON, invalid UTF-8.
import fc from 'fast-check';

const uname = { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'h' };
export const VALID_TO_MASTER: unknown[] = [
  { type: 'suggest', ref: '1', project: 'foo', branch: 'main', revision: 'abcdef12' },
  { type: 'hello', protocol: 2, role: 'builder', name: 'b', instance: 'ab'.repeat(8), uname, node: 'v20', projects: ['foo'], cursor: { store: 'cd'.repeat(8), seq: 3 } },
  { type: 'received', seq: 4 },
  { type: 'report', id: 'a-1', project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 1, uname, node: 'v20', outputBytes: 0, outputCut: 0, outputChunks: 0 },
  { type: 'projects', projects: ['a', 'b'] },
];
export const VALID_FROM_MASTER: unknown[] = [
  { type: 'suggest', id: 'a-1', seq: 1, project: 'foo', branch: 'main' },
  { type: 'synced', seq: 1 },
  { type: 'ack', id: 'a-1' },
  { type: 'error', message: 'x' },
  { type: 'accepted', id: 'a-1', seq: 1, project: 'foo', branch: 'main', count: 0, builders: [] },
];

const mutate = (base: string) => fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((edits) => {
  const b = Buffer.from(base);
  for (const [pos, byte] of edits) b[pos % b.length] = byte;
  return b;
});
const truncate = (base: string) => fc.nat().map((n) => Buffer.from(base.slice(0, n % base.length)));
const deep = fc.integer({ min: 1, max: 60_000 }).map((d) => Buffer.from('['.repeat(d) + ']'.repeat(d)));
const deepObject = fc.integer({ min: 1, max: 20_000 }).map((d) => Buffer.from('{"type":"suggest","project":'.concat('{"a":'.repeat(d), '1', '}'.repeat(d), ',"branch":"main"}')));
const huge = fc.integer({ min: 1, max: 900_000 }).map((n) => Buffer.from(JSON.stringify({ type: 'suggest', project: 'foo', branch: 'x'.repeat(n) })));
const badUtf8 = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((u) => Buffer.concat([Buffer.from('{"type":"suggest","project":"'), Buffer.from([0xc3, 0x28, ...u, 0xff]), Buffer.from('","branch":"main"}')]));

/** One hostile line: no newline bytes inside, never empty, at most ~1 MiB. */
export function junkLine(valid: unknown[]): fc.Arbitrary<Buffer> {
  const bases = valid.map((v) => JSON.stringify(v));
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 512 }).map((u) => Buffer.from(u)),
    fc.constantFrom(...bases).chain(mutate),
    fc.constantFrom(...bases).chain(truncate),
    deep, deepObject, huge, badUtf8,
    fc.constantFrom(Buffer.from('null'), Buffer.from('{}'), Buffer.from('[]'), Buffer.from('"x"'), Buffer.from('{"type":42}'), Buffer.from('{"__proto__":{"type":"ping"}}')),
  ).map((b) => {
    const out = Buffer.from(b);
    for (let i = 0; i < out.length; i++) if (out[i] === 10 || out[i] === 13) out[i] = 32;
    return out.length ? out : Buffer.from(' ');
  });
}
