// The master a client dials: the address it was given, or with `auto` the one DNS-SD finds now (the search loaded only then).
import type { Address } from './address.js';
import type { Found } from './discover.js';

/** What --master (clientd) or -H (suggest) names: an address, or `auto` to find one on the local network. */
export type MasterSpec = Address | 'auto';

/** The word that asks for DNS-SD in place of an address. */
export const AUTO = 'auto';

export interface Dial {
  address: Address;
  /** TLS as the client was told, or, found by DNS-SD, as the master offers it. */
  tls?: { ca?: Buffer };
  /** With `auto`: the master found. */
  found?: Found;
}

/** Where to dial now; with `auto` searches (and rejects with one line when no master will do). */
export async function whichMaster(master: MasterSpec, tls: { ca?: Buffer } | undefined): Promise<Dial> {
  if (master !== AUTO) return { address: master, ...(tls ? { tls } : {}) };
  const found = await (await import('./discover.js')).discoverMaster(tls !== undefined);
  const wanted = tls ?? (found.tls ? {} : undefined);
  return { address: found.address, ...(wanted ? { tls: wanted } : {}), found };
}
