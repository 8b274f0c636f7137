// The client side of a connection to the master: connect, read the greeting, say hello, wait for the welcome, all bounded in time.
import { connect as netConnect } from 'node:net';
import { formatAddress, type Address } from './address.js';
import { FromMaster, PROTOCOL_VERSION, type FromMaster as FromMasterT, type Hello, type ToMaster } from './protocol.js';
import { Connection } from './wire.js';

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

/** An error whose message is one line fit for a user. */
export class ClientError extends Error {}

/** Opens a connection and completes the handshake; rejects with a ClientError naming the master and what went wrong. */
export function connectToMaster(
  address: Address,
  hello: Omit<Hello, 'type' | 'protocol'>,
  options: { timeoutMs: number; heartbeatMs: number },
): Promise<MasterConnection> {
  const where = formatAddress(address);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: address.host, port: address.port });
    // Registered before the Connection's own handler, so the error is named before the close is seen.
    socket.once('error', (err: NodeJS.ErrnoException) => fail(ERRNO_TEXT[err.code ?? ''] ?? err.message));
    const conn: MasterConnection = new Connection<FromMasterT, ToMaster>(socket, FromMaster, { heartbeatMs: 0, speaker: 'this client' });
    let settled = false;
    function fail(why: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy(why);
      reject(new ClientError(`cannot reach master at ${where}: ${why}`));
    }
    const timer = setTimeout(() => fail(`no answer within ${options.timeoutMs / 1000} s`), options.timeoutMs);
    conn.on('invalid', (problem) => fail(problem.startsWith('protocol version') ? `master's ${problem}` : `master sent an invalid line (${problem})`));
    conn.on('close', (reason) => fail(reason === 'connection closed by peer' ? 'master closed the connection' : reason));
    const onMessage = (m: FromMasterT): void => {
      if (m.type === 'greeting') {
        conn.send({ type: 'hello', protocol: PROTOCOL_VERSION, ...hello });
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
        reject(new ClientError(`master at ${where} refused: ${m.message}`));
      }
    };
    conn.on('message', onMessage);
  });
}
