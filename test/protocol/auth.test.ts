import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readToken } from '../../lib/common/token.js';
import { FailureThrottle } from '../../lib/master/throttle.js';
import { builderToken, proof, verifyProof } from '../../lib/protocol/auth.js';
import { TokenBucket } from '../../lib/common/ratelimit.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

describe('proofs', () => {
  const token = 'a-long-enough-secret-token';
  it('verifies the right proof and refuses others, in constant time', () => {
    const p = proof(token, 'nonce1', 'builder');
    expect(p).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyProof(token, 'nonce1', 'builder', p)).toBe(true);
    expect(verifyProof(token, 'nonce2', 'builder', p)).toBe(false); // a replay on a new connection
    expect(verifyProof(token, 'nonce1', 'suggester', p)).toBe(false); // bound to the role
    expect(verifyProof('another-long-secret-token', 'nonce1', 'builder', p)).toBe(false);
    expect(verifyProof(token, 'nonce1', 'builder', undefined)).toBe(false);
    expect(verifyProof(token, 'nonce1', 'builder', p.slice(0, 10))).toBe(false);
    expect(verifyProof(token, 'nonce1', 'builder', 'zz' + p.slice(2))).toBe(false);
    // Decoded strictly: the right proof with anything after it, or in capitals, is not the proof.
    for (const junk of [`${p}zz`, `${p} `, `${p}00`, p.toUpperCase()]) expect(verifyProof(token, 'nonce1', 'builder', junk), junk).toBe(false);
  });
});

describe('builder identities', () => {
  it('derives a token per name from the secret, and a builder proof passes only for the name it was made for', () => {
    const secret = 'the-masters-builder-secret-0123';
    const m1 = builderToken(secret, 'm1');
    expect(m1).toMatch(/^[0-9a-f]{64}$/);
    expect(builderToken(secret, 'm2')).not.toBe(m1);
    expect(builderToken('another-builder-secret-456789', 'm1')).not.toBe(m1);
    const p = proof(m1, 'nonce1', 'builder', 'm1');
    expect(verifyProof(m1, 'nonce1', 'builder', p, 'm1')).toBe(true);
    expect(verifyProof(m1, 'nonce1', 'builder', p, 'm2')).toBe(false);
    expect(verifyProof(builderToken(secret, 'm2'), 'nonce1', 'builder', p, 'm2')).toBe(false);
  });
});

describe('readToken', () => {
  it('reads the first line of a file, else the environment', () => {
    const f = join(tempDir(), 't');
    writeFileSync(f, '  0123456789abcdef0123 \nignored\n', { mode: 0o600 });
    expect(readToken(f, 'SIMPLEBB_TEST_TOKEN_X')).toBe('0123456789abcdef0123');
    process.env.SIMPLEBB_TEST_TOKEN_X = 'from-the-environment-123';
    expect(readToken(undefined, 'SIMPLEBB_TEST_TOKEN_X')).toBe('from-the-environment-123');
    delete process.env.SIMPLEBB_TEST_TOKEN_X;
    expect(readToken(undefined, 'SIMPLEBB_TEST_TOKEN_X')).toBeUndefined();
  });
  it('names what is wrong', () => {
    const dir = tempDir();
    expect(() => readToken(join(dir, 'missing'), 'X')).toThrow(/cannot read token file .*missing: no such file or directory/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => readToken(join(dir, 'empty'), 'X')).toThrow(/is empty/);
    writeFileSync(join(dir, 'short'), 'abc');
    expect(() => readToken(join(dir, 'short'), 'X')).toThrow(/shorter than 16 characters/);
  });
  it('warns about a token file others can read', () => {
    const f = join(tempDir(), 'open');
    writeFileSync(f, '0123456789abcdef0123', { mode: 0o644 });
    const warnings: string[] = [];
    readToken(f, 'X', (m) => warnings.push(m));
    expect(warnings[0]).toMatch(/readable by other users \(mode 644\)/);
  });
});

describe('FailureThrottle', () => {
  it('slows an address down after three failures, doubling to a cap, and forgets after a success or a quiet while', () => {
    let now = 0;
    const t = new FailureThrottle(() => now, 60_000);
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      t.record('1.2.3.4');
      delays.push(t.delayMs('1.2.3.4'));
    }
    expect(delays).toEqual([0, 0, 0, 250, 500, 1000, 2000, 2000, 2000, 2000, 2000, 2000]);
    expect(t.delayMs('5.6.7.8')).toBe(0);
    t.succeeded('1.2.3.4');
    expect(t.delayMs('1.2.3.4')).toBe(0);
    for (let i = 0; i < 5; i++) t.record('1.2.3.4');
    expect(t.delayMs('1.2.3.4')).toBe(500);
    now = 61_000;
    expect(t.delayMs('1.2.3.4')).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    let now = 0;
    const b = new TokenBucket(2, 3, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    now = 500;
    expect([b.take(), b.take()]).toEqual([true, false]);
    now = 10_000;
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});
