// Announcing a master on the local network: an mDNS responder that answers queries for its DNS-SD service while it runs.
import { hostname, networkInterfaces } from 'node:os';
import makeMdns from 'multicast-dns';
import { announcementRecords, asksFor, targetName, type Announcement } from './announcement.js';

/** The mDNS port (RFC 6762): a query from it wants a multicast answer, one from any other port a unicast one. */
export const MDNS_PORT = 5353;

/** How long binding the mDNS socket may take before the master gives up on announcing. */
const BIND_TIMEOUT_MS = 5000;

export interface AnnounceConfig {
  /** The instance name; default the host name. */
  name?: string;
  /** The wire listener's address and port: a specific address is announced as is, 0.0.0.0 or :: as every non-loopback address. */
  host: string;
  port: number;
  tls: boolean;
  builderToken: boolean;
  suggestToken: boolean;
}

export interface Announcer {
  /** What is announced. */
  readonly announcement: Omit<Announcement, 'protocol'>;
  close(): Promise<void>;
}

/** The addresses a listener on `host` can be reached at: itself, or for a wildcard every non-loopback address (IPv6 only for ::). */
export function reachableAddresses(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [host];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.internal) continue;
      if (i.family === 'IPv4' || (host === '::' && !i.address.toLowerCase().startsWith('fe80'))) out.push(i.address); // link-local needs a scope id
    }
  }
  return out.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

/** Starts answering; rejects with one line when the mDNS port cannot be bound. */
export async function announce(config: AnnounceConfig, warn: (message: string) => void): Promise<Announcer> {
  const host = hostname();
  const announcement = {
    instance: config.name ?? host, target: targetName(host), port: config.port, addresses: reachableAddresses(config.host),
    tls: config.tls, builderToken: config.builderToken, suggestToken: config.suggestToken,
  };
  if (!announcement.addresses.length) throw new Error(`--announce: no network address to announce for --host ${config.host}`);
  const records = announcementRecords(announcement);
  const mdns = makeMdns({ port: MDNS_PORT, reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      mdns.destroy();
      reject(new Error(`--announce: cannot listen on UDP port ${MDNS_PORT}: ${err.code ?? err.message}`));
    };
    const timer = setTimeout(() => failed(new Error(`binding took over ${BIND_TIMEOUT_MS / 1000} s`)), BIND_TIMEOUT_MS);
    mdns.once('ready', () => {
      clearTimeout(timer);
      mdns.off('error', failed);
      resolve();
    });
    mdns.once('error', failed);
  });
  let warned = false;
  const once = (err: Error): void => {
    if (warned) return; // one line, not one per packet of a noisy LAN
    warned = true;
    warn(`mDNS: ${err.message.split('\n')[0]}`);
  };
  mdns.on('warning', once);
  mdns.on('error', once); // the socket failing later: the master goes on unannounced, and says so

  mdns.on('query', (query, rinfo) => {
    if (!asksFor(query.questions ?? [], announcement.instance, announcement.target)) return;
    const [ptr, ...rest] = records;
    const response = { answers: [ptr!], additionals: rest } as unknown as makeMdns.ResponsePacket;
    mdns.respond(response, rinfo.port === MDNS_PORT ? undefined : { address: rinfo.address, port: rinfo.port } as never);
  });
  let closed: Promise<void> | undefined;
  return {
    announcement,
    close: () => (closed ??= new Promise<void>((resolve) => mdns.destroy(() => resolve()))),
  };
}
