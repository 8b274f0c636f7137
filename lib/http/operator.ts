// Who may act on builds from the pages (cancel, rerun): a browser signed in with the suggest token, or anyone where
// writes need no token; and only from the master's own pages (the request's Origin is the master itself).
import type { IncomingHttpHeaders } from 'node:http';
import { bearer, writeRefusal, type AccessRules } from './access.js';
import { cookie, validSession } from './session.js';

/** The cookie of a browser signed in with the suggest token: an expiry and an HMAC of it under that token. */
export const OPERATOR_COOKIE = 'simplebb_operator';

/** Whether this request may cancel and rerun: the suggest token as a bearer or an operator session, or open writes. */
export function mayAct(access: AccessRules, headers: IncomingHttpHeaders, now: number): boolean {
  if (writeRefusal(access, bearer(headers.authorization)) === null) return true;
  return access.suggestToken !== undefined && validSession(access.suggestToken, cookie(headers.cookie, OPERATOR_COOKIE), now, 'operator');
}

/**
 * Whether a form post comes from the master's own pages: the browser says so (`Sec-Fetch-Site: same-origin`), or
 * its Origin names the host it was sent to. (Under the pages' `Referrer-Policy: no-referrer` Chromium sends
 * `Origin: null` with a form post, so the fetch metadata is what it goes by.) A page elsewhere cannot then make a
 * browser cancel builds: the cookie is SameSite=Strict too, but where writes are open there is no cookie to withhold.
 */
export function fromOwnPage(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = headers.origin;
  if (typeof origin !== 'string' || headers.host === undefined) return false;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}
