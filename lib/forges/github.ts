// GitHub's webhooks: `X-Hub-Signature-256` (HMAC-SHA256 of the body, checked by @octokit/webhooks-methods in
// constant time), `X-GitHub-Delivery` as the id, push, pull_request and ping events. SHA-1 signatures are refused.
import { verify } from '@octokit/webhooks-methods';
import { field, header, HookError, isZeroRevision, text, type Forge, type HookEvent } from './forge.js';

/** Pull request actions that change what would be built. */
export const PULL_BUILDS = new Set(['opened', 'reopened', 'synchronize', 'synchronized']);

export const github: Forge = {
  name: 'github',
  async verify(headers, body, secrets) {
    const signature = header(headers, 'x-hub-signature-256');
    if (signature === undefined) {
      return header(headers, 'x-hub-signature') !== undefined ? 'only a SHA-1 signature (X-Hub-Signature), which is refused' : 'no X-Hub-Signature-256 header';
    }
    if (!/^sha256=[0-9a-f]{64}$/.test(signature)) return 'X-Hub-Signature-256 is not sha256=<64 hex digits>';
    const payload = body.toString('utf8');
    // Bytes that are not UTF-8 would be signed differently once decoded: refused rather than checked loosely.
    if (!Buffer.from(payload, 'utf8').equals(body)) return 'the body is not UTF-8';
    return (await verify(secrets.secret, payload, signature)) ? null : 'wrong signature';
  },
  deliveryId: (headers) => header(headers, 'x-github-delivery'),
  event: (headers) => header(headers, 'x-github-event'),
  parse: (event, payload) => parseGithubLike(event, payload),
};

/** GitHub's payloads, which Gitea and Forgejo copy for push and pull_request. */
export function parseGithubLike(event: string, payload: unknown): HookEvent {
  const repository = field(payload, 'repository', 'full_name');
  const repo = typeof repository === 'string' ? repository : undefined;
  switch (event) {
    case 'ping':
      return { kind: 'ping', ...(repo ? { repository: repo } : {}) };
    case 'push': {
      const after = text(payload, 'after');
      const deleted = field(payload, 'deleted') === true || isZeroRevision(after);
      const message = field(payload, 'head_commit', 'message');
      return { kind: 'push', repository: text(payload, 'repository', 'full_name'), ref: text(payload, 'ref'), revision: after, deleted, ...(typeof message === 'string' ? { message } : {}) };
    }
    case 'pull_request': {
      const number = field(payload, 'number') ?? field(payload, 'pull_request', 'number');
      if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) throw new HookError('the payload has no pull request number');
      const action = text(payload, 'action');
      return {
        kind: 'pull', repository: text(payload, 'repository', 'full_name'), number, ref: `refs/pull/${number}/head`,
        revision: text(payload, 'pull_request', 'head', 'sha'), action, build: PULL_BUILDS.has(action),
      };
    }
    default:
      return { kind: 'other', event, ...(repo ? { repository: repo } : {}) };
  }
}
