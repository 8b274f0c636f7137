// Comparing a given secret with the one we hold, in constant time, whatever their lengths.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether `given` is `secret`, compared through their SHA-256 hashes so that neither content nor length leaks. */
export function sameSecret(given: string, secret: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(secret).digest());
}
