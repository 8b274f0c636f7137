// A suggester's mail address (`simplebb-suggest --notify`): a plain addr-spec, checked by suggest and master alike.

/** RFC 5321's limit on a forward path: longer ones no mail server takes. */
export const MAX_MAIL_ADDRESS_CHARS = 254;
/** RFC 5321's limit on a local part. */
const MAX_LOCAL_CHARS = 64;
/** A dot-atom local part: no quoted strings, no comments, no spaces. */
const LOCAL_RULE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** A host name: labels of letters, digits and inner hyphens, 1 to 63 each; no address literals. */
const DOMAIN_RULE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Returns null when `address` is a plain addr-spec (local@domain), else the rule it breaks. */
export function mailAddressProblem(address: string): string | null {
  if (address.length > MAX_MAIL_ADDRESS_CHARS) return `mail address is longer than ${MAX_MAIL_ADDRESS_CHARS} characters`;
  const at = address.lastIndexOf('@');
  if (at < 0) return 'mail address must be LOCAL@DOMAIN';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length === 0 || local.length > MAX_LOCAL_CHARS || !LOCAL_RULE.test(local)) {
    return `mail address must be LOCAL@DOMAIN with a plain local part (1 to ${MAX_LOCAL_CHARS} letters, digits and !#$%&'*+/=?^_\`{|}~- in dot-separated parts; no spaces or quotes)`;
  }
  if (!DOMAIN_RULE.test(domain)) return 'mail address must be LOCAL@DOMAIN with a host name after the @ (letters, digits, "-" and ".")';
  return null;
}
