// Role secrets on the wire: the proof a client gives for the master's nonce, and its constant-time check.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Role = 'builder' | 'suggester';

/** HMAC-SHA256 of the nonce under the role's token; the role is bound in, so one role's proof never passes for the other. */
export function proof(token: string, nonce: string, role: Role): string {
  return createHmac('sha256', token).update(`simplebb-v1:${role}:${nonce}`).digest('hex');
}

/** Checks a proof in constant time. */
export function verifyProof(token: string, nonce: string, role: Role, given: string | undefined): boolean {
  // Strictly 64 lowercase hex digits: Buffer.from(x, 'hex') stops at the first other character, so a right proof
  // with junk after it would decode to the right bytes.
  if (given === undefined || !/^[0-9a-f]{64}$/.test(given)) return false;
  const want = Buffer.from(proof(token, nonce, role), 'hex');
  const got = Buffer.from(given, 'hex');
  // Compare equal-length buffers only; a wrong length still costs one comparison.
  return timingSafeEqual(want, got.length === want.length ? got : Buffer.alloc(want.length)) && got.length === want.length;
}
