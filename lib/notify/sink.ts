// Where notices go: a sink sends one notice or throws saying why; the sender retries what throws.
import type { Notice } from './notice.js';

export interface Sink {
  /** Sends `n`; resolves once the far side took it (its answer said so); throws a one-line Error otherwise. */
  send(n: Notice): Promise<void>;
  close?(): void;
  /** Sends a notice to its own address (`to`, a suggester's `--notify`) instead of its configured one: the mail sink only. */
  readonly addressed?: true;
  /** Posts commit statuses, so an acceptance notice (`pending`) means something to it: the status sink only. */
  readonly statuses?: true;
}

