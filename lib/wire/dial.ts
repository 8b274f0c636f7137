// The client side of a connection to the master: connect, read the greeting, say hello, wait for the welcome, all bounded in time.
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { formatAddress, type Address } from './address.js';
import { checkFromMaster } from '../protocol/check.js';
import { PROTOCOL_VERSION } from '../protocol/limits.js';
import type { Checked, FromMaster as FromMasterT, Greeting, Hello, ToMaster } from '../protocol/messages.js';
import { Connection } from './connection.js';

/**
 * What a client's socket takes before write() says to wait: a build's output comes in 64 KiB pipe reads, and with
 * Node's default (16 KiB) every read paused the build for a drain (about 10 % of the output's drain rate). Node's
 * typings omit the option; Node has it (stream.Duplex).
 */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** What to say when the environment asks Node to skip certificate checks and TLS is in use: simplebb checks them anyway. */
export function tlsEnvWarning(tls: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return tls && env.NODE_TLS_REJECT_UNAUTHORIZED === '0'
    ? 'NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: the master\'s certificate is checked all the same (trust your CA with --tls-ca instead)'
    : undefined;
}

export type MasterConnection = Connection<FromMasterT, ToMaster>;

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EADDRNOTAVAIL: 'address not available',
};

/** The two mismatches, named the same way wherever they are seen (suggest, clientd, the master's log). */
export const PLAIN_MASTER = 'the master does not speak TLS (it answered in plain text): drop --tls and --tls-ca, or give the master --tls-cert and --tls-key';
const TLS_HINT = 'if the master serves TLS, use --tls or --tls-ca';

/** TLS verification failures in words. */
const TLS_TEXT: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate not signed by a trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate chain has an untrusted self-signed certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate is self-signed and not trusted',
  CERT_HAS_EXPIRED: 'certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate is not for this host name',
  EPROTO: PLAIN_MASTER,
  ERR_SSL_WRONG_VERSION_NUMBER: PLAIN_MASTER,
};

export interface ClientOptions {
  timeoutMs: number;
  /** With a hello that has `check`: told the master's answer, after which the returned connection closes. */
  onChecked?: (m: Checked) => void;
  heartbeatMs: number;
  /** The role's shared secret, proven with an HMAC of the master's nonce. */
  token?: string;
  /** Speak TLS; `ca` replaces the system CAs when given. */
  tls?: { ca?: Buffer };
}

/** An error whose message is one line fit for a user; `code` is the master's reason when it gave one (`name-in-use`). */
export class ClientError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** What a client says in its hello, or how to work it out from the master's greeting (a builder's cursor depends on its record). */
export type HelloFields = Omit<Hello, 'type' | 'protocol' | 'auth'>;

/** Opens a connection and completes the handshake; rejects with a ClientError naming the master and what went wrong. */
export async function connectToMaster(
  address: Address,
  hello: HelloFields | ((greeting: Greeting) => HelloFields),
  options: ClientOptions,
): Promise<MasterConnection> {
  const where = formatAddress(address);
  // Loaded only when used: most connections are plain TCP on a LAN, and every millisecond counts in the git hook.
  const tlsConnect = options.tls ? (await import('node:tls')).connect : undefined;
  // node:crypto too (about 5 ms of a 25 ms start on Node 24): a loopback master without tokens never asks for a proof.
  const proof = options.token !== undefined ? (await import('../protocol/auth.js')).proof : undefined;
  return new Promise((resolve, reject) => {
    const socket: Socket = options.tls && tlsConnect
      ? tlsConnect({
        // Explicitly: NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment would otherwise turn certificate checks off.
        host: address.host, port: address.port, rejectUnauthorized: true, ...(options.tls.ca ? { ca: options.tls.ca } : {}),
        ...(isIP(address.host) ? {} : { servername: address.host }), minVersion: 'TLSv1.2',
      })
      : netConnect({ host: address.host, port: address.port, writableHighWaterMark: WRITE_BUFFER_BYTES } as NetConnectOpts);
    // Registered before the Connection's own handler, so the error is named before the close is seen.
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      const tlsWhy = TLS_TEXT[code] ?? (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') ? `TLS error ${code}` : undefined);
      fail(tlsWhy ? `TLS: ${tlsWhy}` : ERRNO_TEXT[code] ?? err.message, greeted ? undefined : code);
    });
    const conn: MasterConnection = new Connection<FromMasterT, ToMaster>(socket, checkFromMaster, { heartbeatMs: 0, speaker: 'this client' });
    let settled = false;
    /** `code`: the socket's errno, given only while nothing was said yet (so trying again can send nothing twice). */
    function fail(why: string, code?: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy(why);
      reject(new ClientError(`cannot reach master at ${where}: ${why}`, code));
    }
    // A TLS master says nothing until it hears a TLS handshake: silence, then a close, is how a plain client sees it.
    let greeted = false;
    const timer = setTimeout(() => fail(`no greeting within ${options.timeoutMs / 1000} s${options.tls ? '' : ` (${TLS_HINT})`}`), options.timeoutMs);
    conn.on('invalid', (problem) => fail(problem.startsWith('protocol version') ? `master's ${problem}` : `master sent an invalid line (${problem})`));
    conn.on('close', (reason) => fail(reason !== 'connection closed by peer' ? reason
      : greeted || options.tls ? 'master closed the connection' : `master closed the connection before its greeting (${TLS_HINT})`));
    const onMessage = (m: FromMasterT): void => {
      if (m.type === 'greeting') {
        greeted = true;
        let fields: HelloFields;
        try {
          fields = typeof hello === 'function' ? hello(m) : hello;
        } catch (err) {
          return fail((err as Error).message); // the caller's own judgement of the greeting
        }
        const auth = options.token !== undefined && proof ? { auth: proof(options.token, m.nonce, fields.role, fields.name) } : {};
        conn.send({ type: 'hello', protocol: PROTOCOL_VERSION, ...fields, ...auth });
      } else if (m.type === 'checked') {
        settled = true;
        clearTimeout(timer);
        options.onChecked?.(m);
        conn.destroy('checked');
        resolve(conn);
      } else if (m.type === 'welcome') {
        settled = true;
        clearTimeout(timer);
        // Lines that came in the same read as the welcome (replayed suggestions) wait for the caller's handlers:
        // the caller attaches them as soon as the promise resolves, before the next turn of the event loop.
        conn.hold();
        setImmediate(() => conn.release());
        conn.off('message', onMessage);
        conn.removeAllListeners('invalid');
        conn.removeAllListeners('close');
        conn.setHeartbeat(options.heartbeatMs > 0 ? options.heartbeatMs : m.heartbeatMs);
        resolve(conn);
      } else if (m.type === 'error') {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.destroy(m.message);
        reject(new ClientError(`master at ${where} refused: ${m.message}`, m.code));
      }
    };
    conn.on('message', onMessage);
  });
}
