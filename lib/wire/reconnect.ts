// Keeping a link to the master: connect, and after any failure or drop try again after a backoff delay.
import { Backoff } from '../common/backoff.js';
import { ClientError, type MasterConnection } from './dial.js';

export interface ReconnectOptions {
  baseMs: number;
  capMs: number;
  /** A connection that stayed up this long resets the backoff. */
  stableMs?: number;
}

/** Calls `open` until it yields a connection, hands it to `onUp`, and starts over when it closes; delays use full jitter. */
export class Reconnector {
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly open: () => Promise<MasterConnection>,
    private readonly onUp: (conn: MasterConnection) => void,
    private readonly onDown: (why: string, retryInMs: number) => void,
    private readonly options: ReconnectOptions,
  ) {
    this.backoff = new Backoff({ baseMs: options.baseMs, capMs: options.capMs });
  }

  start(): void {
    void this.attempt();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let conn: MasterConnection;
    try {
      conn = await this.open();
    } catch (err) {
      // Another clientd holds our name: waiting the longest delay keeps us from knocking at its door every second.
      this.retry((err as Error).message, err instanceof ClientError && err.code === 'name-in-use');
      return;
    }
    if (this.stopped) {
      conn.close('stopping');
      return;
    }
    const upAt = Date.now();
    conn.on('close', (reason) => {
      if (Date.now() - upAt >= (this.options.stableMs ?? 10_000)) this.backoff.reset();
      this.retry(reason);
    });
    this.onUp(conn);
  }

  private retry(why: string, slow = false): void {
    if (this.stopped) return;
    const delay = slow ? this.options.capMs : this.backoff.next();
    this.onDown(why, delay);
    this.timer = setTimeout(() => void this.attempt(), delay);
  }
}
