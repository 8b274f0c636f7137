// One connected peer as the master sees it: the seam between its decisions and the sockets that carry them.
import type { FromMaster } from '../protocol/messages.js';

export interface Peer {
  /** ADDRESS:PORT, for logs. */
  readonly remote: string;
  /** The peer's IP address alone, for per-address limits. */
  readonly address: string;
  /** Bytes sent to the peer that it has not read yet. */
  readonly backlog: number;
  /** Holds writes back until uncork(), so a batch of acks leaves in one packet (optional). */
  cork?(): void;
  uncork?(): void;
  send(message: FromMaster): boolean;
  /** Sends a message already encoded by encode(): the fan-out encodes an order once for all builders. */
  sendLine(line: string): boolean;
  /** Stops and resumes reading from the peer (optional): a throttled address is not read before its greeting. */
  pause?(): void;
  resume?(): void;
  /** The peer has authenticated: cut last when the master holds too much unfinished input (optional). */
  trust?(): void;
  /** Sends an error line (when given, with its code) and closes. */
  close(reason: string, error?: string, code?: string): void;
}

/** One message as the line a Peer's sendLine() takes. */
export function encode(message: FromMaster): string {
  return JSON.stringify(message) + '\n';
}
