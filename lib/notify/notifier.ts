// Notifications assembled: the rules as the record's planner, one sink per configured name, and the outbox's sender.
import type { EventBus } from '../master/events.js';
import type { Store } from '../store/store.js';
import { planner } from './plan.js';
import type { Rule } from './rules.js';
import { Sender } from './sender.js';
import { makeSink, type SinkConfig } from './sinks.js';

/** Retries start after this and double up to the cap: a receiver back within minutes hears soon, one down for hours is not hammered. */
const RETRY = { baseMs: 1000, capMs: 10 * 60_000 };

export interface NotifierConfig {
  rules: Rule[];
  sinks: ReadonlyMap<string, SinkConfig>;
  giveUpAfterMs: number;
  /** The mail sink suggesters' own addresses (`notify`) are mailed with. */
  suggesterMail?: string;
}

export interface Notifier {
  /** A changed notify file: its rules plan from the next commit on, its sinks send from the next attempt on (what is pending stays). */
  reconfigure(config: NotifierConfig): void;
  stop(timeoutMs: number): Promise<void>;
}

/** Plans from now on in every commit of `store`, and sends what the outbox holds (what an earlier master left first). */
export function startNotifier(config: NotifierConfig, store: Store, events: EventBus): Notifier {
  store.planNotifications(planner(config.rules, Date.now, config.suggesterMail));
  const sinks = new Map([...config.sinks].map(([name, c]) => [name, makeSink(c)]));
  const sender = new Sender({ outbox: store.outbox, sinks, events, retry: RETRY, giveUpAfterMs: config.giveUpAfterMs });
  // A stored report may have planned something: look at once rather than at the next timer.
  const off = events.on((e) => {
    if (e.type === 'report') sender.kick();
  });
  sender.start();
  return {
    reconfigure(c) {
      store.planNotifications(planner(c.rules, Date.now, c.suggesterMail));
      sender.useSinks(new Map([...c.sinks].map(([name, s]) => [name, makeSink(s)])));
    },
    async stop(timeoutMs) {
      off();
      await sender.stop(timeoutMs);
    },
  };
}
