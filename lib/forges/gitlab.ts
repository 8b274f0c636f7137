// GitLab's webhooks: signed per Standard Webhooks with its signing token (`webhook-id`, `webhook-timestamp` within
// 5 minutes, `webhook-signature`, checked by the standardwebhooks library), or, only when configured, the legacy
// `X-Gitlab-Token` compared in constant time; push, tag push and merge request events.
import { sameSecret } from '../common/sameSecret.js';
import { Webhook } from 'standardwebhooks';
import { field, header, HookError, isZeroRevision, text, type Forge, type HookEvent } from './forge.js';

/** Merge request actions that change what would be built ("update" only when it brings commits: it then has oldrev). */
const MR_BUILDS = new Set(['open', 'reopen']);

export const gitlab: Forge = {
  name: 'gitlab',
  async verify(headers, body, secrets, now) {
    const signature = header(headers, 'webhook-signature');
    if (signature === undefined) {
      const legacy = header(headers, 'x-gitlab-token');
      if (legacy === undefined) return 'no webhook-signature header (set a signing token on the GitLab webhook)';
      if (secrets.legacyToken === undefined) return 'only the legacy X-Gitlab-Token, which this master does not take (set a signing token, or legacyTokenFile)';
      return sameSecret(legacy, secrets.legacyToken) ? null : 'wrong X-Gitlab-Token';
    }
    const id = header(headers, 'webhook-id');
    const timestamp = header(headers, 'webhook-timestamp');
    if (id === undefined || timestamp === undefined) return 'webhook-signature without webhook-id and webhook-timestamp';
    if (!/^\d{1,12}$/.test(timestamp)) return 'webhook-timestamp is not whole seconds';
    if (Math.abs(Number(timestamp) * 1000 - now) > 5 * 60 * 1000) return 'webhook-timestamp is more than 5 minutes off this master\'s clock';
    try {
      new Webhook(secrets.secret).verify(body.toString('utf8'), { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });
      return Buffer.from(body.toString('utf8'), 'utf8').equals(body) ? null : 'the body is not UTF-8';
    } catch {
      return 'wrong signature';
    }
  },
  deliveryId: (headers) => header(headers, 'webhook-id') ?? header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key'),
  event: (headers) => header(headers, 'x-gitlab-event'),
  parse(event, payload): HookEvent {
    const project = field(payload, 'project', 'path_with_namespace');
    const repo = typeof project === 'string' ? project : undefined;
    switch (event) {
      case 'Push Hook':
      case 'Tag Push Hook': {
        const after = text(payload, 'after');
        const commits = field(payload, 'commits');
        const last = Array.isArray(commits) ? commits.at(-1) as unknown : undefined;
        const message = field(last, 'message');
        return {
          kind: 'push', repository: text(payload, 'project', 'path_with_namespace'), ref: text(payload, 'ref'), revision: after,
          deleted: isZeroRevision(after), ...(typeof message === 'string' ? { message } : {}),
        };
      }
      case 'Merge Request Hook': {
        const number = field(payload, 'object_attributes', 'iid');
        if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) throw new HookError('the payload has no merge request iid');
        const action = text(payload, 'object_attributes', 'action');
        const build = MR_BUILDS.has(action) || (action === 'update' && typeof field(payload, 'object_attributes', 'oldrev') === 'string');
        return {
          kind: 'pull', repository: text(payload, 'project', 'path_with_namespace'), number, ref: `refs/merge-requests/${number}/head`,
          revision: text(payload, 'object_attributes', 'last_commit', 'id'), action, build,
        };
      }
      default:
        return { kind: 'other', event, ...(repo ? { repository: repo } : {}) };
    }
  },
};
