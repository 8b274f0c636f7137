// A master's DNS-SD announcement (`_simplebb._tcp.local`): the records it answers with, read back from a response, and the choice among several masters.
import { PROTOCOL_VERSION } from '../protocol/limits.js';

/** The DNS-SD service type masters announce and builders and suggesters look for. */
export const SERVICE_TYPE = '_simplebb._tcp.local';

/** How long a search collects answers: mDNS responders answer within about 120 ms; the rest is room for a busy LAN. */
export const DISCOVERY_WINDOW_MS = 1500;

/** Seconds a record may be cached (RFC 6762 recommends 120 for host records, 75 minutes for others; ours change with a restart). */
export const RECORD_TTL_S = 120;

/** The longest instance label DNS allows (RFC 6763 §4.1.1). */
const MAX_LABEL_BYTES = 63;

/** The most masters one search keeps: a LAN that answers with more is misconfigured or hostile. */
export const MAX_FOUND = 64;

/** What a master says about itself. */
export interface Announcement {
  /** The instance name (the host name, or --announce-name). */
  instance: string;
  /** The SRV target, the host name the addresses belong to. */
  target: string;
  port: number;
  /** IPv4 and IPv6 addresses of `target`, IPv4 first. */
  addresses: string[];
  /** The protocol version it speaks; undefined when it did not say a number. */
  protocol: number | undefined;
  tls: boolean;
  builderToken: boolean;
  suggestToken: boolean;
}

/** One resource record in the shape multicast-dns encodes and decodes. */
export type ServiceRecord =
  | { name: string; type: 'PTR'; ttl: number; data: string }
  | { name: string; type: 'SRV'; ttl: number; data: { priority: number; weight: number; port: number; target: string } }
  | { name: string; type: 'TXT'; ttl: number; data: string[] }
  | { name: string; type: 'A' | 'AAAA'; ttl: number; data: string };

/** The instance name made into one DNS label: printable, no dots, at most 63 bytes. */
export function instanceLabel(name: string): string {
  let label = name.replace(/[\x00-\x1f\x7f.]/g, '-').trim();
  while (Buffer.byteLength(label) > MAX_LABEL_BYTES) label = label.slice(0, -1);
  return label || 'simplebb';
}

/** The host name as an mDNS target (`NAME.local`). */
export function targetName(host: string): string {
  const label = host.split('.')[0]!.replace(/[^A-Za-z0-9-]/g, '-').slice(0, MAX_LABEL_BYTES);
  return `${label || 'simplebb'}.local`;
}

/** The TXT strings of an announcement (RFC 6763 §6: key=value, short keys). */
export function txtStrings(a: Pick<Announcement, 'tls' | 'builderToken' | 'suggestToken'>): string[] {
  const bit = (b: boolean): string => (b ? '1' : '0');
  return [`protocol=${PROTOCOL_VERSION}`, `tls=${bit(a.tls)}`, `builder-token=${bit(a.builderToken)}`, `suggest-token=${bit(a.suggestToken)}`];
}

/** The PTR, SRV, TXT and address records a master answers with. */
export function announcementRecords(a: Omit<Announcement, 'protocol'>): ServiceRecord[] {
  const full = `${instanceLabel(a.instance)}.${SERVICE_TYPE}`;
  return [
    { name: SERVICE_TYPE, type: 'PTR', ttl: RECORD_TTL_S, data: full },
    { name: full, type: 'SRV', ttl: RECORD_TTL_S, data: { priority: 0, weight: 0, port: a.port, target: a.target } },
    { name: full, type: 'TXT', ttl: RECORD_TTL_S, data: txtStrings(a) },
    ...a.addresses.map((address): ServiceRecord => ({ name: a.target, type: address.includes(':') ? 'AAAA' : 'A', ttl: RECORD_TTL_S, data: address })),
  ];
}

/** Whether a query asks for something we answer: our service type, our instance, or our host name. */
export function asksFor(questions: ReadonlyArray<{ name?: unknown; type?: unknown }>, instance: string, target: string): boolean {
  const names = [SERVICE_TYPE, `${instanceLabel(instance)}.${SERVICE_TYPE}`, target].map((n) => n.toLowerCase());
  return questions.some((q) => typeof q.name === 'string' && names.includes(q.name.toLowerCase()));
}

/** Text of a TXT string as dns-packet decodes it (a Buffer) or as we encode it (a string). */
function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/**
 * Reads the announcements in one mDNS response (its answers and additional records together). What came from the
 * network is untrusted: a record of the wrong shape is ignored, and a service with no address or no port is left out.
 */
export function readAnnouncements(records: ReadonlyArray<{ name?: unknown; type?: unknown; data?: unknown }>): Announcement[] {
  const lower = (n: unknown): string => (typeof n === 'string' ? n.toLowerCase() : '');
  const instances = records.filter((r) => r.type === 'PTR' && lower(r.name) === SERVICE_TYPE && typeof r.data === 'string').map((r) => r.data as string);
  const found: Announcement[] = [];
  for (const full of new Set(instances)) {
    if (found.length >= MAX_FOUND) break;
    if (!full.toLowerCase().endsWith(`.${SERVICE_TYPE}`)) continue;
    const srv = records.find((r) => r.type === 'SRV' && lower(r.name) === full.toLowerCase())?.data as { port?: unknown; target?: unknown } | undefined;
    if (!srv || typeof srv.target !== 'string' || typeof srv.port !== 'number' || !Number.isInteger(srv.port) || srv.port < 1 || srv.port > 65535) continue;
    const target = srv.target;
    const addresses = records.filter((r) => (r.type === 'A' || r.type === 'AAAA') && lower(r.name) === target.toLowerCase() && typeof r.data === 'string')
      .sort((x, y) => (x.type === y.type ? 0 : x.type === 'A' ? -1 : 1)).map((r) => r.data as string);
    if (!addresses.length) continue;
    const txt = records.find((r) => r.type === 'TXT' && lower(r.name) === full.toLowerCase())?.data;
    const keys = new Map<string, string>();
    for (const s of Array.isArray(txt) ? txt : []) {
      const t = text(s);
      const eq = t?.indexOf('=') ?? -1;
      if (t && eq > 0) keys.set(t.slice(0, eq).toLowerCase(), t.slice(eq + 1));
    }
    const protocol = Number(keys.get('protocol'));
    found.push({
      instance: full.slice(0, -(SERVICE_TYPE.length + 1)), target, port: srv.port, addresses: [...new Set(addresses)],
      protocol: Number.isInteger(protocol) ? protocol : undefined, tls: keys.get('tls') === '1',
      builderToken: keys.get('builder-token') === '1', suggestToken: keys.get('suggest-token') === '1',
    });
  }
  return found;
}

/** The master chosen, or why none could be. */
export type Choice = { master: Announcement } | { problem: string };

/**
 * Picks a master among those found, in the order they answered: only one that speaks our protocol; with `needTls`
 * (the client was given --tls or --tls-ca) only one that offers TLS; otherwise one that offers TLS before the first.
 */
export function chooseMaster(found: readonly Announcement[], needTls: boolean): Choice {
  if (!found.length) return { problem: `no master answered on the local network (DNS-SD ${SERVICE_TYPE}) within ${DISCOVERY_WINDOW_MS / 1000} s` };
  const speaking = found.filter((a) => a.protocol === PROTOCOL_VERSION);
  if (!speaking.length) {
    return { problem: `found ${found.map((a) => `${a.instance} (protocol ${a.protocol ?? 'unknown'})`).join(', ')} by DNS-SD, but none speaks protocol ${PROTOCOL_VERSION}` };
  }
  const tls = speaking.find((a) => a.tls);
  if (tls) return { master: tls };
  if (needTls) return { problem: `found ${speaking.map((a) => a.instance).join(', ')} by DNS-SD, but none offers TLS, which --tls asks for` };
  return { master: speaking[0]! };
}
