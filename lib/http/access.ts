// Who may read and who may write over HTTP: the wire's exposure rule for a second listener. Loopback reads are
// open unless a read token is set; elsewhere reads need the read token or an explicit public board; writes need
// the suggest token whenever the master has one.
import { sameSecret as same } from '../common/sameSecret.js';

export interface AccessRules {
  /** The listener is on a loopback address. */
  loopback: boolean;
  readToken?: string;
  suggestToken?: string;
  /** Reads are open to anyone (a read-only board on a public address). */
  publicBoard: boolean;
}

/** The bearer token of an Authorization header, if it has one. */
export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

/** Whether `token` opens reads: the read token, or the suggest token. */
export function tokenMatches(rules: AccessRules, token: string): boolean {
  return (rules.readToken !== undefined && same(token, rules.readToken)) || (rules.suggestToken !== undefined && same(token, rules.suggestToken));
}

/** Why a read is refused, or null when it may go ahead; `signedIn`: the request carries a valid session cookie. */
export function readRefusal(rules: AccessRules, token: string | undefined, signedIn = false): string | null {
  if (rules.readToken !== undefined) {
    if (signedIn || (token !== undefined && tokenMatches(rules, token))) return null;
    if (rules.publicBoard) return null;
    return token === undefined ? 'this master needs its read token as a bearer (Authorization: Bearer TOKEN)' : 'wrong token';
  }
  return rules.loopback || rules.publicBoard ? null : 'reads are not open on this address';
}

/** Why a write is refused, or null when it may go ahead. */
export function writeRefusal(rules: AccessRules, token: string | undefined): string | null {
  if (rules.suggestToken === undefined) return rules.loopback ? null : 'this master takes suggestions over HTTP only with a suggest token';
  if (token === undefined) return 'this master needs its suggest token as a bearer (Authorization: Bearer TOKEN)';
  return same(token, rules.suggestToken) ? null : 'wrong token';
}
