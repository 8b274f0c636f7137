// The master's secrets and exposure, read and checked from its flags: shared by the start and by --check.
import { isIP } from 'node:net';
import { readPem } from '../common/args.js';
import { ConfigError } from '../common/files.js';
import { readToken } from '../common/token.js';
import { parseAddress } from '../wire/address.js';

/** The HTTP listener's port when --http names none. */
export const DEFAULT_HTTP_PORT = 7901;

export interface SecretFlags {
  host: string; builderTokenFile?: string; suggestTokenFile?: string; sharedBuilderToken?: boolean; insecure?: boolean;
  /** HOST:PORT or off. */
  http?: string; readTokenFile?: string; publicBoard?: boolean; tlsCert?: string; tlsKey?: string;
}

export interface Secrets {
  builderToken?: string;
  suggestToken?: string;
  tls?: { cert: Buffer; key: Buffer };
  /** Set when --insecure lets a non-loopback address go without a token: the warning to give, on stderr and in the log. */
  insecure?: string;
  /** The HTTP listener, unless --http off. */
  http?: { host: string; port: number; readToken?: string; publicBoard: boolean };
}

/** Loopback addresses: the only ones served without tokens unless --insecure. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

/** Reads the tokens and TLS files the flags name; throws a ConfigError with one line when they cannot be used. */
export function readSecrets(o: SecretFlags, warn: (m: string) => void): Secrets {
  const builderToken = readToken(o.builderTokenFile, 'SIMPLEBB_BUILDER_TOKEN', warn);
  const suggestToken = readToken(o.suggestTokenFile, 'SIMPLEBB_SUGGEST_TOKEN', warn);
  if (builderToken !== undefined && builderToken === suggestToken) throw new ConfigError('the builder and suggest tokens are the same; use two different secrets, or a suggester could register as a builder');
  if (o.sharedBuilderToken && builderToken !== undefined) {
    warn('--shared-builder-token: a builder that has the builder secret itself may connect under any builder name and report in its place; give each builder its own token (simplebb-masterd token builder NAME) and drop the flag');
  }
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together');
  const tls = o.tlsCert && o.tlsKey ? { cert: readPem(o.tlsCert, '--tls-cert', 'certificate'), key: readPem(o.tlsKey, '--tls-key', 'private key') } : undefined;
  let insecure: string | undefined;
  if (!isLoopback(o.host) && (builderToken === undefined || suggestToken === undefined)) {
    if (!o.insecure) {
      throw new ConfigError(`refusing to listen on ${o.host} without both --builder-token-file and --suggest-token-file (or SIMPLEBB_BUILDER_TOKEN and SIMPLEBB_SUGGEST_TOKEN): anyone who can reach it could run code on your builders; pass --insecure to do it anyway`);
    }
    const can = [builderToken === undefined ? 'register a builder' : '', suggestToken === undefined ? 'suggest builds' : ''].filter(Boolean).join(' and ');
    const lacks = [builderToken === undefined ? 'a builder token' : '', suggestToken === undefined ? 'a suggest token' : ''].filter(Boolean).join(' and ');
    insecure = `INSECURE: listening on ${o.host} without ${lacks}: anyone who can reach this port can ${can}`;
  }
  const http = httpConfig(o, warn);
  return {
    ...(builderToken !== undefined ? { builderToken } : {}), ...(suggestToken !== undefined ? { suggestToken } : {}),
    ...(tls ? { tls } : {}), ...(insecure ? { insecure } : {}), ...(http ? { http } : {}),
  };
}

/** The HTTP listener the flags ask for, with the wire's exposure rule: beyond loopback, reads need a token or --public-board. */
function httpConfig(o: SecretFlags, warn: (m: string) => void): Secrets['http'] {
  const text = (o.http ?? 'off').trim();
  if (text === 'off') return undefined;
  let address;
  try {
    address = parseAddress(text, DEFAULT_HTTP_PORT);
  } catch (err) {
    throw new ConfigError(`--http: ${(err as Error).message.replace('master address', 'address')} (or off)`);
  }
  const token = readToken(o.readTokenFile, 'SIMPLEBB_READ_TOKEN', warn);
  if (!isLoopback(address.host) && token === undefined && !o.publicBoard) {
    throw new ConfigError(`refusing to serve the HTTP API on ${address.host} without --read-token-file (or SIMPLEBB_READ_TOKEN): anyone who can reach it could read every build's output; pass --public-board to open reads to anyone`);
  }
  return { host: address.host, port: address.port, ...(token !== undefined ? { readToken: token } : {}), publicBoard: Boolean(o.publicBoard) };
}

/** The webhooks' own listener's port when --hooks-http names none. */
export const DEFAULT_HOOKS_PORT = 7902;

/** --hooks-http: where the webhooks are taken instead of the HTTP listener; it needs --hooks (there is nothing to take without). */
export function hooksHttpConfig(text: string | undefined, hooks: boolean): { host: string; port: number } | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (!hooks) throw new ConfigError('--hooks-http needs --hooks FILE: without it there are no webhooks to take');
  try {
    return parseAddress(text.trim(), DEFAULT_HOOKS_PORT);
  } catch (err) {
    throw new ConfigError(`--hooks-http: ${(err as Error).message.replace('master address', 'address')}`);
  }
}

/** The record's place from --store: undefined for the SQLite file in the data dir, else a PostgreSQL URL; anything else is refused. */
export function storeUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`--store: not a URL (expected postgres://USER@HOST:PORT/DATABASE)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`--store: ${url.protocol.replace(/:$/, '')}:// is not a store simplebb knows (expected postgres:// or postgresql://)`);
  }
  return value;
}
