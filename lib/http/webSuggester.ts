// A suggestion made over HTTP, taken into the master the way simplebb-suggest's is: an in-process peer that is
// greeted, proves the suggest token (when the master has one), says hello and suggests, so the same checks, rate
// limit and record apply; there is no second way in.
import type { Peer } from '../master/peer.js';
import type { Relay } from '../master/relay.js';
import { proof } from '../protocol/auth.js';
import type { DryRun, FromMaster } from '../protocol/messages.js';
import { validateToMaster } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/limits.js';

/** How long the master may take to greet and answer (a throttled address waits up to 2 s for its greeting). */
const ANSWER_MS = 10_000;
const NO_ANSWER = `the master did not answer within ${ANSWER_MS / 1000} s; the suggestion may still be recorded (see /api/v1/suggestions before you try again)`;

export type SuggestOutcome =
  | { ok: true; accepted: Extract<FromMaster, { type: 'accepted' }> }
  | { ok: true; dryRun: DryRun }
  | { ok: false; status: 400 | 401 | 422 | 429 | 503; error: string };

class WebPeer implements Peer {
  readonly remote: string;
  backlog = 0;
  private waiting: ((m: FromMaster) => void) | undefined;
  private readonly inbox: FromMaster[] = [];
  closedWith: string | undefined;

  constructor(readonly address: string, port: number, label?: string) {
    this.remote = label === undefined ? `${address}:${port} (http)` : labelledSource(address, label);
  }

  send(message: FromMaster): boolean {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(message);
    } else {
      this.inbox.push(message);
    }
    return true;
  }

  sendLine(line: string): boolean {
    return this.send(JSON.parse(line) as FromMaster);
  }

  close(reason: string, error?: string): void {
    this.closedWith = error ?? reason;
    this.send({ type: 'error', message: error ?? reason });
  }

  /** The next message the master sends this peer, pings and acks aside; an error line once the timeout passes. */
  next(): Promise<FromMaster> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve({ type: 'error', message: NO_ANSWER });
      }, ANSWER_MS);
      timer.unref();
      this.waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }
}

/** Who a suggestion made with `label` is from, as the record says (its source). */
export function labelledSource(address: string, label: string): string {
  return `${address} (${label})`;
}

/**
 * Makes one suggestion through the relay as if `address` had connected: `body` is checked by the wire's own
 * schema (unknown keys refused), the token proves the hello as simplebb-suggest's would.
 */
export async function suggestOverHttp(relay: Relay, suggestToken: string | undefined, address: string, port: number, body: unknown, label?: string): Promise<SuggestOutcome> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, status: 400, error: 'the body must be a JSON object: {"project", "branch", "revision"?}' };
  const checked = validateToMaster({ ...(body as Record<string, unknown>), type: 'suggest' });
  // A selector that does not parse is well-formed JSON the master cannot act on: 422, with the column.
  if (!checked.ok) return { ok: false, status: /^invalid suggest message: on: selector:/.test(checked.problem) ? 422 : 400, error: checked.problem.replace(/^invalid suggest message: /, '') };
  if (checked.message.type !== 'suggest') return { ok: false, status: 400, error: 'not a suggestion' };
  const { follow: _f, ...request } = checked.message;
  const peer = new WebPeer(address, port, label);
  relay.connected(peer);
  try {
    const greeting = await peer.next();
    if (greeting.type !== 'greeting') return { ok: false, status: 503, error: greeting.type === 'error' ? greeting.message : 'no greeting' };
    relay.message(peer, {
      type: 'hello', protocol: PROTOCOL_VERSION, role: 'suggester',
      ...(suggestToken !== undefined ? { auth: proof(suggestToken, greeting.nonce, 'suggester') } : {}),
    });
    const welcome = await peer.next();
    if (welcome.type !== 'welcome') return { ok: false, status: 401, error: welcome.type === 'error' ? welcome.message : 'not welcomed' };
    relay.message(peer, { ...request, ref: 'http' });
    for (;;) {
      const answer = await peer.next();
      if (answer.type === 'accepted') return { ok: true, accepted: answer };
      if (answer.type === 'dry-run') return { ok: true, dryRun: answer };
      if (answer.type === 'error') {
        const status = answer.message === NO_ANSWER ? 503 : /rate limit/.test(answer.message) ? 429 : answer.code === 'no-match' ? 422 : 400;
        return { ok: false, status, error: answer.message };
      }
    }
  } finally {
    relay.closed(peer, 'http request done');
  }
}
