// The webhook inbox: a delivery whose signature holds is kept in the record (fsynced) before it is answered 202,
// a repeated delivery id is answered 200 and does nothing, and each kept one becomes at most one suggestion,
// through the same path as simplebb-suggest's, also when the master died in between.
import { createHash } from 'node:crypto';
import type { EventBus } from '../master/events.js';
import type { Relay } from '../master/relay.js';
import { TokenBucket } from '../common/ratelimit.js';
import { HookError, type ForgeName, type Headers } from '../forges/forge.js';
import { FORGE_BY_NAME } from '../forges/forges.js';
import { route } from '../forges/routing.js';
import type { HookIntake } from '../http/hooks.js';
import { labelledSource, suggestOverHttp } from '../http/webSuggester.js';
import type { PendingHook, Store } from '../store/store.js';
import type { HooksConfig } from './hooksConfig.js';

/** Deliveries one address may send per second, and at once (a forge sends a few per push at most). */
const HOOK_RATE = 10;
const HOOK_BURST = 100;
/** Addresses whose buckets are kept; beyond it the oldest is dropped (it starts full again). */
const MAX_ADDRESSES = 10_000;
/** A delivery id longer than this is not a forge's. */
const MAX_ID_CHARS = 128;
/** Tries of a suggestion the master refused for a while (rate limit, record unavailable), a second apart and more. */
const MAX_TRIES = 5;

export class HookInbox implements HookIntake {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;

  constructor(private config: HooksConfig, private readonly store: Store, private readonly relay: Relay, private readonly events: EventBus,
    private readonly suggestToken: string | undefined, now?: () => number) {
    this.now = now ?? Date.now;
  }

  /** Takes a configuration read again (the --hooks file changed): deliveries from now on follow it. */
  reconfigure(config: HooksConfig): void {
    this.config = config;
  }

  /** Processes what the last master kept but did not get to. */
  async start(): Promise<void> {
    for (const h of await this.store.pendingHooks()) void this.process(h);
  }

  async take(forgeName: ForgeName, headers: Headers, body: Buffer, address: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const secrets = this.config.secrets[forgeName];
    if (!secrets) return { status: 404, body: { error: `this master takes no ${forgeName} webhooks (configure them in its --hooks file)` } };
    if (!this.bucket(address).take()) return { status: 429, body: { error: `too many deliveries from ${address}: at most ${HOOK_RATE} a second` } };
    const forge = FORGE_BY_NAME[forgeName];
    const refused = await forge.verify(headers, body, secrets, this.now());
    if (refused) {
      this.events.notice('warn', 'hook-refused', `${forgeName} webhook from ${address} refused: ${refused}`, { forge: forgeName, address });
      return { status: 401, body: { error: `refused: ${refused}` } };
    }
    const event = forge.event(headers);
    if (!event || event.length > 64) return { status: 400, body: { error: `no event header for ${forgeName}` } };
    // Without an id from the forge, the body is its own: the same delivery twice is still taken once.
    const given = forge.deliveryId(headers);
    if (given !== undefined && (given.length > MAX_ID_CHARS || !/^[\x21-\x7e]+$/.test(given))) return { status: 400, body: { error: 'the delivery id is not 1 to 128 printable characters' } };
    const delivery = given ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const hook: PendingHook = { forge: forgeName, delivery, receivedAt: this.now(), address, event, state: 'pending', body };
    let kept: 'new' | 'duplicate';
    try {
      kept = await this.store.keepHook(hook);
    } catch (err) {
      this.events.notice('error', 'store-failed', `cannot keep a ${forgeName} webhook: ${(err as Error).message}`);
      return { status: 503, body: { error: 'the master cannot record the delivery now; the forge will retry' } };
    }
    if (kept === 'duplicate') return { status: 200, body: { delivery, duplicate: true } };
    setImmediate(() => void this.process(hook));
    return { status: 202, body: { delivery, accepted: true } };
  }

  /** Turns one kept delivery into what it asks for and records what it did. */
  private async process(h: PendingHook, tries = 1): Promise<void> {
    const forge = FORGE_BY_NAME[h.forge as ForgeName];
    const done = async (state: 'done' | 'failed', outcome: string, suggestion?: string): Promise<void> => {
      this.events.notice(state === 'done' ? 'info' : 'warn', 'hook', `${h.forge} ${h.event} delivery ${h.delivery}: ${outcome}`, { forge: h.forge, delivery: h.delivery, ...(suggestion ? { id: suggestion } : {}) });
      await this.store.hookDone(h.forge, h.delivery, { state, outcome, ...(suggestion ? { suggestion } : {}), at: this.now() }).catch(() => undefined);
    };
    if (!forge) return done('failed', `unknown forge ${h.forge}`);
    let routed;
    try {
      routed = route(this.config.repositories, forge.parse(h.event, JSON.parse(h.body.toString('utf8'))));
    } catch (err) {
      return done('failed', err instanceof HookError ? err.message : "the payload is not JSON (set the webhook's content type to application/json)");
    }
    if ('skip' in routed) return done('done', `skipped: ${routed.skip}`);
    const label = `${h.forge} delivery ${h.delivery}`;
    // Made already (the master died after suggesting, before noting it): the same suggestion, not a second one.
    const made = await this.store.suggestionFrom(labelledSource(h.address, label)).catch(() => undefined);
    const { project, branch, revision, on } = routed.build;
    if (made) return done('done', `suggested ${project} ${branch} at ${revision.slice(0, 12)} as ${made.id}`, made.id);
    const outcome = await suggestOverHttp(this.relay, this.suggestToken, h.address, 0, { project, branch, revision, ...(on !== undefined ? { on } : {}) }, label);
    if (outcome.ok) {
      if (!('accepted' in outcome)) return done('failed', 'a webhook makes no dry run'); // never asked for: the body above has no dryRun
      return done('done', `suggested ${project} ${branch} at ${revision.slice(0, 12)} as ${outcome.accepted.id} to ${outcome.accepted.count} builders`, outcome.accepted.id);
    }
    if ((outcome.status === 429 || outcome.status === 503) && tries < MAX_TRIES) {
      setTimeout(() => void this.process(h, tries + 1), 1000 * 2 ** (tries - 1)).unref();
      return;
    }
    return done('failed', outcome.error);
  }

  private bucket(address: string): TokenBucket {
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value!);
      b = new TokenBucket(HOOK_RATE, HOOK_BURST, this.now);
      this.buckets.set(address, b);
    }
    return b;
  }
}
