// Notifications assembled: the rules as the record's planner, one sink per configured name, and the outbox's sender.
import type { EventBus, MasterEvent } from '../master/events.js';
import type { Store } from '../store/store.js';
import { overduePlanner, type OverduePlanner } from './overdue.js';
import { acceptPlanner } from './pending.js';
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
  let overdue = plan(config, store);
  const sinks = new Map([...config.sinks].map(([name, c]) => [name, makeSink(c)]));
  const sender = new Sender({ outbox: store.outbox, sinks, events, retry: RETRY, giveUpAfterMs: config.giveUpAfterMs });
  // A stored report or suggestion may have planned something: look at once rather than at the next timer.
  const off = events.on((e) => {
    if (e.type === 'report' || e.type === 'suggestion') sender.kick();
    else if (e.type === 'overdue') void planOverdue(e, overdue, store, events).then(() => sender.kick());
  });
  sender.start();
  return {
    reconfigure(c) {
      overdue = plan(c, store);
      sender.useSinks(new Map([...c.sinks].map(([name, s]) => [name, makeSink(s)])));
    },
    async stop(timeoutMs) {
      off();
      await sender.stop(timeoutMs);
    },
  };
}

/** Hands the store the planners of `c` (reports, acceptances) and returns the one for overdue builds. */
function plan(c: NotifierConfig, store: Store): OverduePlanner {
  const statusSinks = new Set([...c.sinks].filter(([, s]) => s.type === 'status').map(([name]) => name));
  store.planNotifications(planner(c.rules, Date.now, c.suggesterMail), acceptPlanner(c.rules, statusSinks));
  return overduePlanner(c.rules, statusSinks);
}

/** An overdue build's notices, kept in the outbox (durably) before they are sent; a failure is logged, never thrown. */
async function planOverdue(e: Extract<MasterEvent, { type: 'overdue' }>, overdue: OverduePlanner, store: Store, events: EventBus): Promise<void> {
  try {
    const s = await store.suggestion(e.id);
    if (!s) return;
    const at = Date.now();
    await store.outbox.enqueue(s.seq, overdue(s, { builder: e.builder, startedAt: e.startedAt, usualMs: e.usualMs, runningMs: at - e.startedAt }), at);
  } catch (err) {
    events.notice('error', 'notify-error', `cannot plan the overdue notice of ${e.id} on ${e.builder}: ${(err as Error).message}`);
  }
}
