// Each forge's signature check over the exact bytes (right, wrong, missing, SHA-1 only, a stale GitLab timestamp,
// the legacy GitLab token only when configured), its payloads, and which build an event becomes.
import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { asksToSkip } from '../../lib/forges/forge.js';
import { FORGE_BY_NAME } from '../../lib/forges/forges.js';
import { route } from '../../lib/forges/routing.js';

const SECRET = 'a-webhook-secret-of-some-length';
const BODY = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: 'ab'.repeat(20), repository: { full_name: 'acme/widget' }, head_commit: { message: 'fix ✓' } }));
const NOW = Date.now();
const hex = (body: Buffer, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('hex');

describe('signatures', () => {
  it('GitHub: sha256 over the exact bytes; a wrong one, a missing one and SHA-1 alone are refused', async () => {
    const v = (h: Record<string, string>, body = BODY) => FORGE_BY_NAME.github.verify(h, body, { secret: SECRET }, NOW);
    expect(await v({ 'x-hub-signature-256': `sha256=${hex(BODY)}` })).toBeNull();
    expect(await v({ 'x-hub-signature-256': `sha256=${hex(BODY, 'another-secret-entirely')}` })).toBe('wrong signature');
    const changed = Buffer.concat([BODY, Buffer.from(' ')]);
    expect(await v({ 'x-hub-signature-256': `sha256=${hex(BODY)}` }, changed)).toBe('wrong signature');
    expect(await v({})).toBe('no X-Hub-Signature-256 header');
    expect(await v({ 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(BODY).digest('hex')}` })).toMatch(/SHA-1 .* refused/);
    expect(await v({ 'x-hub-signature-256': 'sha256=zz' })).toMatch(/not sha256=/);
  });

  it('Gitea and Forgejo: hex HMAC-SHA256 in their own header', async () => {
    for (const [name, h] of [['gitea', 'x-gitea-signature'], ['forgejo', 'x-forgejo-signature']] as const) {
      const forge = FORGE_BY_NAME[name];
      expect(await forge.verify({ [h]: hex(BODY) }, BODY, { secret: SECRET }, NOW)).toBeNull();
      expect(await forge.verify({ [h]: hex(BODY, 'wrong-secret-of-length') }, BODY, { secret: SECRET }, NOW)).toBe('wrong signature');
      expect(await forge.verify({}, BODY, { secret: SECRET }, NOW)).toMatch(/^no X-/);
    }
    // Forgejo's check reads Forgejo's header, not Gitea's.
    expect(await FORGE_BY_NAME.forgejo.verify({ 'x-gitea-signature': hex(BODY) }, BODY, { secret: SECRET }, NOW)).toMatch(/^no X-Forgejo-Signature/);
  });

  it('GitLab: Standard Webhooks within 5 minutes; the legacy token only when configured', async () => {
    const signing = `whsec_${randomBytes(24).toString('base64')}`;
    const sign = (at: Date) => ({
      'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(signing).sign('msg_1', at, BODY.toString('utf8')),
    });
    const v = (h: Record<string, string>, secrets: { secret: string; legacyToken?: string } = { secret: signing }) => FORGE_BY_NAME.gitlab.verify(h, BODY, secrets, NOW);
    expect(await v(sign(new Date(NOW)))).toBeNull();
    expect(await v(sign(new Date(NOW - 6 * 60 * 1000)))).toMatch(/more than 5 minutes/);
    expect(await v({ ...sign(new Date(NOW)), 'webhook-id': 'msg_2' })).toBe('wrong signature');
    expect(await v({ 'x-gitlab-token': 'legacy-token-1234567' })).toMatch(/does not take/);
    expect(await v({ 'x-gitlab-token': 'legacy-token-1234567' }, { secret: signing, legacyToken: 'legacy-token-1234567' })).toBeNull();
    expect(await v({ 'x-gitlab-token': 'legacy-token-7654321' }, { secret: signing, legacyToken: 'legacy-token-1234567' })).toBe('wrong X-Gitlab-Token');
    expect(await v({})).toMatch(/no webhook-signature/);
  });
});

describe('events and routes', () => {
  const routes = [{ repository: 'acme/widget', project: 'widget' }, { repository: 'acme/tagged', tags: true, pullRequests: false }];
  const push = (ref: string, extra: Record<string, unknown> = {}) => FORGE_BY_NAME.github.parse('push', {
    ref, after: 'cd'.repeat(20), repository: { full_name: 'acme/widget' }, head_commit: { message: 'change' }, ...extra,
  });

  it('a pushed branch builds at its new revision; deletions, tags, [skip ci] and unknown repositories do not', () => {
    expect(route(routes, push('refs/heads/feature/x'))).toEqual({ build: { project: 'widget', branch: 'feature/x', revision: 'cd'.repeat(20) } });
    expect(route(routes, push('refs/heads/main', { deleted: true, after: '0'.repeat(40) }))).toEqual({ skip: 'refs/heads/main was deleted' });
    expect(route(routes, push('refs/tags/v1'))).toMatchObject({ skip: expect.stringMatching(/tags are not built/) });
    expect(route(routes, push('refs/heads/main', { head_commit: { message: 'docs [skip ci]' } }))).toEqual({ skip: 'the commit message asks to skip CI' });
    expect(route(routes, push('refs/heads/main', { repository: { full_name: 'evil/other' } }))).toEqual({ skip: 'repository evil/other is not configured' });
    expect(route([{ repository: '*' }], push('refs/heads/main', { repository: { full_name: 'acme/any.thing' } }))).toMatchObject({ build: { project: 'any.thing' } });
    expect(route([{ repository: 'acme/tagged', tags: true }], FORGE_BY_NAME.github.parse('push', { ref: 'refs/tags/v2', after: 'ef'.repeat(20), repository: { full_name: 'acme/tagged' } })))
      .toEqual({ build: { project: 'tagged', branch: 'refs/tags/v2', revision: 'ef'.repeat(20) } });
    expect(asksToSkip('x\n\n[CI SKIP]')).toBe(true);
    expect(asksToSkip('skip ci')).toBe(false);
  });

  it('pull and merge requests build as their head refs when opened, reopened or given commits', () => {
    const pr = (action: string, repo = 'acme/widget') => FORGE_BY_NAME.github.parse('pull_request', { action, number: 7, pull_request: { head: { sha: '12'.repeat(20) } }, repository: { full_name: repo } });
    expect(route(routes, pr('synchronize'))).toEqual({ build: { project: 'widget', branch: 'refs/pull/7/head', revision: '12'.repeat(20) } });
    expect(route(routes, pr('closed'))).toEqual({ skip: 'pull request action closed changes no code' });
    expect(route(routes, pr('opened', 'acme/tagged'))).toEqual({ skip: 'pull requests are not built for this repository' });
    const mr = (attrs: Record<string, unknown>) => FORGE_BY_NAME.gitlab.parse('Merge Request Hook', { project: { path_with_namespace: 'acme/widget' }, object_attributes: { iid: 3, last_commit: { id: '34'.repeat(20) }, ...attrs } });
    expect(route(routes, mr({ action: 'update', oldrev: '56'.repeat(20) }))).toEqual({ build: { project: 'widget', branch: 'refs/merge-requests/3/head', revision: '34'.repeat(20) } });
    expect(route(routes, mr({ action: 'update' }))).toMatchObject({ skip: expect.stringMatching(/changes no code/) });
    expect(() => FORGE_BY_NAME.github.parse('push', { ref: 'refs/heads/x' })).toThrow('the payload has no after');
    expect(route(routes, FORGE_BY_NAME.github.parse('ping', { zen: 'hi' }))).toEqual({ skip: 'ping' });
  });
});
