// `simplebb hook test`: a sample push delivery signed as the forge signs it, sent to the master's /hooks/FORGE, so a
// webhook setup (secret, mapping, builders) can be checked without the forge.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ForgeName } from '../forges/forge.js';
import type { Api } from './api.js';
import { ApiError } from './api.js';
import { jsonLine, type Output } from './output.js';
import { cellText } from './table.js';

export interface HookTestAsk { forge: ForgeName; secretFile: string; repository: string; branch: string }

/** The delivery a forge would send for a push of one commit to `branch`. */
function samplePush(a: HookTestAsk, revision: string): { event: string; body: string } {
  if (a.forge === 'gitlab') {
    return {
      event: 'Push Hook',
      body: JSON.stringify({
        object_kind: 'push', ref: `refs/heads/${a.branch}`, before: '0'.repeat(40), after: revision, checkout_sha: revision,
        project: { path_with_namespace: a.repository }, commits: [{ id: revision, message: 'simplebb hook test' }],
      }),
    };
  }
  return {
    event: 'push',
    body: JSON.stringify({
      ref: `refs/heads/${a.branch}`, before: '0'.repeat(40), after: revision, created: false, deleted: false,
      repository: { full_name: a.repository, name: a.repository.slice(a.repository.lastIndexOf('/') + 1) },
      head_commit: { id: revision, message: 'simplebb hook test' }, commits: [{ id: revision, message: 'simplebb hook test' }],
    }),
  };
}

/** The headers that sign `body` as the forge would. */
function signed(forge: ForgeName, secret: string, event: string, body: string): Record<string, string> {
  const id = randomUUID();
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  switch (forge) {
    case 'github':
      return { 'x-github-event': event, 'x-github-delivery': id, 'x-hub-signature-256': `sha256=${hmac}` };
    case 'gitea':
      return { 'x-gitea-event': event, 'x-gitea-delivery': id, 'x-gitea-signature': hmac };
    case 'forgejo':
      return { 'x-forgejo-event': event, 'x-forgejo-delivery': id, 'x-forgejo-signature': hmac };
    case 'gitlab': {
      // Standard Webhooks, written out here (the master checks it with the standardwebhooks library, so the two
      // are an independent check of each other, and this command loads no package).
      if (!secret.startsWith('whsec_')) throw new Error('a GitLab signing token starts with whsec_');
      const at = String(Math.floor(Date.now() / 1000));
      const signature = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${at}.${body}`).digest('base64');
      return { 'x-gitlab-event': event, 'webhook-id': id, 'webhook-timestamp': at, 'webhook-signature': `v1,${signature}` };
    }
  }
}

export async function hookTest(api: Api, out: Output, a: HookTestAsk): Promise<number> {
  let secret: string;
  try {
    secret = readFileSync(a.secretFile, 'utf8').split('\n')[0]!.trim();
  } catch (err) {
    throw new ApiError(`cannot read the secret file ${a.secretFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!secret) throw new ApiError(`the secret file ${a.secretFile} is empty`);
  const revision = randomBytes(20).toString('hex');
  const { event, body } = samplePush(a, revision);
  let headers: Record<string, string>;
  try {
    headers = signed(a.forge, secret, event, body);
  } catch (err) {
    throw new ApiError(`cannot sign with the secret in ${a.secretFile}: ${(err as Error).message}`);
  }
  const answer = await api.postSigned(`/hooks/${a.forge}`, body, headers, { notFound: `the master takes no ${a.forge} webhooks (its --hooks file configures none, or it has no --hooks)` }) as Record<string, unknown>;
  if (out.json) {
    out.write(jsonLine({ forge: a.forge, repository: a.repository, branch: a.branch, revision, ...answer }));
    return 0;
  }
  out.write(cellText(`the master took the ${a.forge} push of ${a.repository} ${a.branch} at ${revision.slice(0, 12)} as delivery ${String(answer.delivery)}; see /api/v1/hooks for what it did`) + '\n');
  return 0;
}
