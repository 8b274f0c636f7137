// Role secrets: the proof a client gives for the master's nonce, its constant-time check, reading tokens, and slowing down guessers.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export type Role = 'builder' | 'suggester';

/** HMAC-SHA256 of the nonce under the role's token; the role is bound in, so one role's proof never passes for the other. */
export function proof(token: string, nonce: string, role: Role): string {
  return createHmac('sha256', token).update(`simplebb-v1:${role}:${nonce}`).digest('hex');
}

/** Checks a proof in constant time. */
export function verifyProof(token: string, nonce: string, role: Role, given: string | undefined): boolean {
  if (given === undefined) return false;
  const want = Buffer.from(proof(token, nonce, role), 'hex');
  const got = Buffer.from(given, 'hex');
  // Compare equal-length buffers only; a wrong length still costs one comparison.
  return timingSafeEqual(want, got.length === want.length ? got : Buffer.alloc(want.length)) && got.length === want.length;
}

/** A token from a file (first line, trimmed) or else an environment variable; throws a one-line Error when unusable. */
export function readToken(file: string | undefined, envName: string, warn: (m: string) => void = () => undefined): string | undefined {
  let token: string | undefined;
  if (file) {
    let text: string;
    try {
      const st = statSync(file);
      if (st.mode & 0o077) warn(`token file ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    token = text.split('\n')[0]!.trim();
    if (!token) throw new Error(`token file ${file} is empty`);
  } else {
    token = process.env[envName]?.trim() || undefined;
  }
  if (token !== undefined && token.length < 16) throw new Error(`the token from ${file ?? envName} is shorter than 16 characters; use a long random one (openssl rand -hex 32)`);
  return token;
}

/** Remembers failed proofs per address and says how long to make that address wait before its next greeting. */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(private readonly now: () => number = Date.now, private readonly forgetMs = 10 * 60_000, private readonly maxEntries = 10_000) {}

  record(address: string): void {
    const t = this.now();
    const f = this.failures.get(address);
    const count = f && t - f.last < this.forgetMs ? f.count + 1 : 1;
    this.failures.delete(address);
    this.failures.set(address, { count, last: t });
    // Oldest first in insertion order: drop the oldest when full.
    if (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value!);
  }

  /** A good proof from the address: whoever shares it (NAT, a tunnel) is not held back by someone else's failures. */
  succeeded(address: string): void {
    this.failures.delete(address);
  }

  /** 0 for the first three failures, then 250 ms doubling per failure up to 2 s (under the hook's 3 s connect timeout). */
  delayMs(address: string): number {
    const f = this.failures.get(address);
    if (!f || this.now() - f.last >= this.forgetMs || f.count <= 3) return 0;
    return Math.min(2000, 250 * 2 ** Math.min(f.count - 4, 10));
  }
}
