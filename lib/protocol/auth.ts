// Role secrets on the wire: the proof a client gives for the master's nonce, its constant-time check, and the
// token a builder gets for its name from the master's builder secret.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Role = 'builder' | 'suggester';

/**
 * HMAC-SHA256 of the nonce under the client's token. The role is bound in, so one role's proof never passes for the
 * other; a builder's proof also covers its name, so a proof made for one name does not pass for another. (Names
 * hold no ":" and nonces are hex, so the message reads one way only.)
 */
export function proof(token: string, nonce: string, role: Role, name?: string): string {
  const message = role === 'builder' ? `simplebb-v2:builder:${name ?? ''}:${nonce}` : `simplebb-v1:${role}:${nonce}`;
  return createHmac('sha256', token).update(message).digest('hex');
}

/**
 * The token of the builder called `name`: derived from the master's builder secret, so the master keeps no list and
 * a token for `m1` cannot speak as `m2` (`simplebb-masterd token builder NAME` prints it).
 */
export function builderToken(secret: string, name: string): string {
  return createHmac('sha256', secret).update(`simplebb-builder-token-v1:${name}`).digest('hex');
}

/** Checks a proof in constant time. */
export function verifyProof(token: string, nonce: string, role: Role, given: string | undefined, name?: string): boolean {
  // Strictly 64 lowercase hex digits: Buffer.from(x, 'hex') stops at the first other character, so a right proof
  // with junk after it would decode to the right bytes.
  if (given === undefined || !/^[0-9a-f]{64}$/.test(given)) return false;
  const want = Buffer.from(proof(token, nonce, role, name), 'hex');
  const got = Buffer.from(given, 'hex');
  return timingSafeEqual(want, got);
}
