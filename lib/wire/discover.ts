// Finding a master on the local network: one DNS-SD query over multicast DNS, the answers collected for a bounded time, one master chosen.
import makeMdns from 'multicast-dns';
import { formatAddress, type Address } from './address.js';
import { chooseMaster, DISCOVERY_WINDOW_MS, MAX_FOUND, readAnnouncements, SERVICE_TYPE, type Announcement } from './announcement.js';

/** Where mDNS queries go (RFC 6762): the IPv4 group on the mDNS port. */
const MDNS_GROUP = { address: '224.0.0.251', port: 5353 };

/** A master found and how to reach it. */
export interface Found {
  address: Address;
  tls: boolean;
  announcement: Announcement;
  /** "found master NAME at HOST:PORT (tls) by DNS-SD", for the log or stderr. */
  said: string;
}

/** Every announcement heard within `windowMs`, in the order they came, one per instance. */
export async function search(windowMs = DISCOVERY_WINDOW_MS): Promise<Announcement[]> {
  // From an ephemeral port: responders answer it by unicast (RFC 6762 §6.7), so a master on this host is heard too.
  const mdns = makeMdns({ port: 0, multicast: false });
  const found = new Map<string, Announcement>();
  mdns.on('warning', () => undefined); // a malformed packet from the LAN is not ours to report
  mdns.on('response', (response) => {
    for (const a of readAnnouncements([...(response.answers ?? []), ...(response.additionals ?? [])])) {
      if (found.size < MAX_FOUND && !found.has(a.instance)) found.set(a.instance, a);
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, windowMs);
      mdns.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(`DNS-SD: ${err.code ?? err.message}`));
      });
      mdns.query({ questions: [{ name: SERVICE_TYPE, type: 'PTR' }] }, MDNS_GROUP as never, (err?: Error | null) => {
        if (!err) return;
        clearTimeout(timer);
        const code = (err as NodeJS.ErrnoException).code;
        reject(new Error(`DNS-SD: cannot send the query (${code === 'ENETUNREACH' ? 'no route to the mDNS group 224.0.0.251' : code ?? err.message})`));
      });
    });
  } finally {
    mdns.destroy();
  }
  return [...found.values()];
}

/** Searches and chooses; rejects with one line when none is found or none will do. `needTls`: the client was told --tls. */
export async function discoverMaster(needTls: boolean, windowMs = DISCOVERY_WINDOW_MS): Promise<Found> {
  const choice = chooseMaster(await search(windowMs), needTls);
  if ('problem' in choice) throw new Error(choice.problem);
  const a = choice.master;
  const address = { host: a.addresses[0]!, port: a.port };
  return { address, tls: a.tls, announcement: a, said: `found master ${a.instance} at ${formatAddress(address)}${a.tls ? ' (tls)' : ''} by DNS-SD` };
}
