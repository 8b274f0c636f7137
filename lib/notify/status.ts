// The commit-status sink: a notice's builds posted as statuses on the forge's commit, one context per builder and,
// once every builder has reported, the roll-up `simplebb` (the requests are lib/forges/status.ts's).
import { isFullRevision, rollUp, statusOf, statusRequest, type StatusState, type StatusTarget } from '../forges/status.js';
import type { Notice, NoticeBuild } from './notice.js';
import type { Sink } from './sink.js';

/** What of a refusing forge's answer goes into the error. */
const MAX_ANSWER_CHARS = 300;
/** The context of the roll-up; a builder's is `simplebb/NAME`. */
export const ROLL_UP_CONTEXT = 'simplebb';

export interface StatusSinkConfig extends StatusTarget {
  timeoutMs: number;
  /** The master's public URL, for links to the build pages. */
  baseUrl?: string;
}

function describe(b: NoticeBuild): string {
  const took = `${(b.durationMs / 1000).toFixed(1)} s`;
  return b.verdict === 'success' ? `passed in ${took}` : `${b.verdict}${b.verdict === 'failure' ? `, exit ${b.exitCode}` : ''} after ${took}${b.message ? `: ${b.message}` : ''}`;
}

export class StatusSink implements Sink {
  readonly statuses = true;
  constructor(private readonly config: StatusSinkConfig) {}

  async send(n: Notice): Promise<void> {
    // A forge takes statuses on a commit it knows by its full id; a suggestion without one has nothing to post on.
    // An overdue notice changes no status: the build's pending stands until its report.
    if (!isFullRevision(n.revision) || n.overdue) return;
    const base = this.config.baseUrl?.replace(/\/+$/, '');
    if (n.pending) return this.pending(n, n.revision, n.pending, base);
    const states: StatusState[] = [];
    for (const b of n.builds) {
      const state = statusOf(b.verdict);
      if (!state) continue;
      states.push(state);
      const url = base ? `${base}/b/${encodeURIComponent(n.suggestion)}/${encodeURIComponent(b.builder)}` : undefined;
      await this.post({ revision: n.revision, state, context: `${ROLL_UP_CONTEXT}/${b.builder}`, description: describe(b), ...(url ? { url } : {}) });
    }
    // A notice made when the suggestion was complete (not one builder's) carries the roll-up too.
    if (!n.perBuilder && states.length) {
      const state = rollUp(states);
      const failed = n.builds.filter((b) => { const s = statusOf(b.verdict); return s !== undefined && s !== 'success'; }).map((b) => b.builder);
      const url = base ? `${base}/s/${encodeURIComponent(n.suggestion)}` : undefined;
      await this.post({
        revision: n.revision, state, context: ROLL_UP_CONTEXT,
        description: failed.length ? `${failed.length} of ${states.length} builders did not pass: ${failed.join(', ')}` : `${states.length} of ${states.length} builders passed`,
        ...(url ? { url } : {}),
      });
    }
  }

  /** A suggestion accepted: each builder it waits for pending, and the roll-up unless the notice is one builder's rules'. */
  private async pending(n: Notice, revision: string, builders: readonly string[], base: string | undefined): Promise<void> {
    for (const builder of builders) {
      const url = base ? `${base}/b/${encodeURIComponent(n.suggestion)}/${encodeURIComponent(builder)}` : undefined;
      await this.post({ revision, state: 'pending', context: `${ROLL_UP_CONTEXT}/${builder}`, description: `accepted, waiting for ${builder}`, ...(url ? { url } : {}) });
    }
    if (n.perBuilder) return;
    const url = base ? `${base}/s/${encodeURIComponent(n.suggestion)}` : undefined;
    await this.post({ revision, state: 'pending', context: ROLL_UP_CONTEXT, description: builders.length ? `waiting for ${builders.length} builder${builders.length === 1 ? '' : 's'}` : 'waiting for a free builder', ...(url ? { url } : {}) });
  }

  private async post(status: Parameters<typeof statusRequest>[1]): Promise<void> {
    const r = statusRequest(this.config, status);
    const where = `${this.config.forge} ${this.config.repository}`;
    let res: Response;
    try {
      res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, redirect: 'error', signal: AbortSignal.timeout(this.config.timeoutMs) });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new Error(e.name === 'TimeoutError' ? `no answer from ${where} in ${this.config.timeoutMs / 1000} s` : `cannot reach ${where}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    const answer = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, MAX_ANSWER_CHARS);
    if (res.status >= 200 && res.status < 300) return;
    // GitLab refuses to set a state a commit's status has already (a resend after a restart): it is set.
    if (this.config.forge === 'gitlab' && res.status === 400 && /cannot transition status/i.test(answer)) return;
    throw new Error(`${where} answered ${res.status} to the ${status.context} status${answer ? `: ${answer}` : ''}`);
  }
}
