// Parsing of master addresses: HOST, HOST:PORT, [IPv6]:PORT.
import { port as parsePort } from '../common/args.js';
import { DEFAULT_PORT } from '../protocol/limits.js';

export interface Address {
  host: string;
  port: number;
}

/** Parses HOST[:PORT]; IPv6 hosts go in brackets when a port follows ([::1]:7900). */
export function parseAddress(text: string, defaultPort = DEFAULT_PORT): Address {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) throw new Error(`master address "${text}" is a URL; give HOST or HOST:PORT (for example 127.0.0.1:${DEFAULT_PORT})`);
  if (/[/\s@?#]/.test(text)) throw new Error(`master address "${text}" is not HOST or HOST:PORT`);
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] !== undefined ? parsePort(bracketed[2]) : defaultPort };
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = text.split(':');
    if (!host) throw new Error(`master address "${text}" has no host`);
    return { host, port: parsePort(port!) };
  }
  if (!text) throw new Error('master address is empty');
  return { host: text, port: defaultPort };
}

/** HOST:PORT for messages, with IPv6 in brackets. */
export function formatAddress(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
