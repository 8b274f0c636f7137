// A signed-in browser's session: a cookie that proves its holder gave the read token once, without holding the
// token itself. Stateless: an expiry and an HMAC of it under the read token, so a new read token ends every session.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'simplebb_session';
/** How long a sign-in lasts. */
export const SESSION_SECONDS = 30 * 24 * 3600;

/** What a session opens: reads (under the read token), or acting on builds from the pages (under the suggest token). */
export type SessionKind = 'session' | 'operator';

function mac(secret: string, expires: number, kind: SessionKind): Buffer {
  return createHmac('sha256', secret).update(`simplebb-${kind}-v1:${expires}`).digest();
}

/** A session value that lasts SESSION_SECONDS from `now`. */
export function newSession(secret: string, now: number, kind: SessionKind = 'session'): string {
  const expires = now + SESSION_SECONDS * 1000;
  return `${expires}.${mac(secret, expires, kind).toString('base64url')}`;
}

/** Whether `value` is a session of this kind this secret made that has not expired. */
export function validSession(secret: string, value: string | undefined, now: number, kind: SessionKind = 'session'): boolean {
  const m = value ? /^(\d{13,16})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  if (!m) return false;
  const expires = Number(m[1]);
  if (expires <= now) return false;
  return timingSafeEqual(mac(secret, expires, kind), Buffer.from(m[2]!, 'base64url'));
}

/** One cookie's value from a Cookie header. */
export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header of a session (HttpOnly, SameSite=Strict; Secure over HTTPS), or of its end. */
export function sessionHeader(value: string | undefined, secure: boolean, name: string = SESSION_COOKIE): string {
  const attrs = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return value === undefined ? `${name}=; ${attrs}; Max-Age=0` : `${name}=${value}; ${attrs}; Max-Age=${SESSION_SECONDS}`;
}
