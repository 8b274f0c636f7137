// The outbox's sender: sends what is due to its sink, marks it sent after the sink took it, retries with backoff, gives up late.
import { Backoff } from '../common/backoff.js';
import type { EventBus } from '../master/events.js';
import type { DueNotification, Outbox } from '../store/store.js';
import type { Notice } from './notice.js';
import type { Sink } from './sink.js';

/** Notifications read from the outbox per pass, and sent at once: a slow sink holds up at most this many. */
const BATCH = 8;
/** The longest the sender sleeps without looking at the outbox (a kick wakes it sooner). */
const MAX_SLEEP_MS = 30_000;

export interface SenderOptions {
  outbox: Outbox;
  /** The sinks by name (a changed notify file hands the sender new ones with `useSinks`). */
  sinks: ReadonlyMap<string, Sink>;
  events: EventBus;
  /** Retries: the delay after attempt n is drawn under min(cap, base × 2^n), and never less than base. */
  retry: { baseMs: number; capMs: number };
  /** A notification still not sent this long after it was planned is given up (state failed). */
  giveUpAfterMs: number;
  now?: () => number;
}

export class Sender {
  private stopped = false;
  private wake: (() => void) | undefined;
  private kicked = false;
  private loop: Promise<void> | undefined;
  /** The attempts of the pass under way. */
  private inFlight: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private sinks: ReadonlyMap<string, Sink>;

  constructor(private readonly o: SenderOptions) {
    this.now = o.now ?? Date.now;
    this.sinks = o.sinks;
  }

  /** From the next attempt on, sends through `sinks`; the old ones are closed once the sends in flight through them end. */
  useSinks(sinks: ReadonlyMap<string, Sink>): void {
    const old = this.sinks;
    this.sinks = sinks;
    const idle = this.loop ? this.inFlight.then(() => undefined) : Promise.resolve();
    void idle.then(() => { for (const s of old.values()) s.close?.(); });
    this.kick();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Something may be due now (a report was stored): look at once. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Stops after the sends in flight; resolves within `timeoutMs` whatever they do (each is bounded by its sink's timeout). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); })]);
    clearTimeout(timer);
    for (const s of this.sinks.values()) s.close?.();
  }

  /** The delay before the attempt after `attempts` failed ones. */
  delay(attempts: number): number {
    const b = new Backoff(this.o.retry);
    let d = 0;
    for (let i = 0; i <= Math.min(attempts, 40); i++) d = b.next();
    return Math.max(this.o.retry.baseMs, d);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.kicked = false;
      let due: DueNotification[] = [];
      try {
        due = await this.o.outbox.due(this.now(), BATCH);
        this.inFlight = Promise.all(due.map((n) => this.attempt(n)));
        await this.inFlight;
      } catch (err) {
        this.o.events.notice('error', 'notify-error', `the notification outbox cannot be read: ${(err as Error).message}`);
      }
      if (this.stopped) break;
      if (due.length === BATCH || this.kicked) continue;
      const next = await this.o.outbox.nextDue().catch(() => undefined);
      const sleep = next === undefined ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next - this.now()));
      if (sleep > 0) await this.sleep(sleep);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async attempt(n: DueNotification): Promise<void> {
    const sink = this.sinks.get(n.sink);
    const attempts = n.attempts + 1;
    try {
      if (!sink) throw new Error(`no sink named ${n.sink} in the notify file`);
      const notice = JSON.parse(n.payload) as Notice;
      // A suggester's own notice goes to its address or nowhere: never to the receivers of a sink renamed since.
      if (notice.to !== undefined && !sink.addressed) throw new Error(`${n.sink} is no longer a mail sink: a suggester's notice is only mailed`);
      // An acceptance notice sets pending statuses; a sink renamed since to another kind has nothing to do with it.
      if (notice.pending === undefined || sink.statuses) await sink.send(notice);
    } catch (err) {
      const error = (err as Error).message.split('\n')[0]!;
      const at = this.now();
      const giveUp = at - n.createdAt >= this.o.giveUpAfterMs;
      await this.o.outbox.failed(n.id, error, at, giveUp ? { giveUp: true } : { nextAt: at + this.delay(n.attempts) });
      this.o.events.emit({ type: 'notification', id: n.id, sink: n.sink, outcome: giveUp ? 'given-up' : 'failed', attempts, error });
      return;
    }
    // A crash here, after the sink took it and before the mark, sends it again at the next start (same message id).
    await this.o.outbox.sent(n.id, this.now());
    this.o.events.emit({ type: 'notification', id: n.id, sink: n.sink, outcome: 'sent', attempts });
  }
}
