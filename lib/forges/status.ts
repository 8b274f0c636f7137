// Commit statuses on a forge: what a build's state is called there, and the one HTTP request that sets it
// (GitHub's statuses API, Gitea's and Forgejo's copy of it, GitLab's commit statuses). Pure: the sender sends.
import type { Verdict } from '../protocol/names.js';
import type { ForgeName } from './forge.js';

/** A build's state as simplebb posts it: pending from acceptance until the report, then what the report says. */
export type StatusState = 'pending' | 'success' | 'failure' | 'error';

/** Where statuses go: the forge's API root (e.g. https://api.github.com, https://gitea.example.org), the repository, a token. */
export interface StatusTarget {
  forge: ForgeName;
  apiUrl: string;
  /** owner/name (GitLab: the project's full path, groups included). */
  repository: string;
  token: string;
}

export interface CommitStatus {
  revision: string;
  state: StatusState;
  /** `simplebb/BUILDER` for one builder, `simplebb` for the roll-up. */
  context: string;
  description: string;
  /** The build page (or the suggestion's page for the roll-up). */
  url?: string;
}

export interface StatusRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

/** GitHub's cap on a status's description; the others take at least as much. */
export const MAX_DESCRIPTION = 140;
/** GitHub's cap on a context. */
export const MAX_CONTEXT = 255;

/** A verdict as a status: a build that could not run, was lost or was cancelled is an error, not a failure of the commit. */
export function statusOf(verdict: Verdict): StatusState | undefined {
  switch (verdict) {
    case 'success': return 'success';
    case 'failure': case 'timeout': return 'failure';
    case 'lost': case 'refused': case 'superseded': case 'cancelled': return 'error';
    // The builder has no script for the project: it says nothing about the commit, and no pending was posted for it.
    case 'no-script': return undefined;
  }
}

/** The roll-up of every builder's state: pending while any is, else the worst of them. */
export function rollUp(states: readonly StatusState[]): StatusState {
  if (states.length === 0 || states.includes('pending')) return 'pending';
  if (states.includes('failure')) return 'failure';
  if (states.includes('error')) return 'error';
  return 'success';
}

/** A revision a forge takes: 40 (SHA-1) or 64 (SHA-256) hex digits; anything shorter names no commit there. */
export function isFullRevision(revision: string | undefined): revision is string {
  return revision !== undefined && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(revision);
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function root(apiUrl: string): string {
  return apiUrl.replace(/\/+$/, '');
}

/** GitLab's names for the states (it has no "error": a build that could not run is failed there, its description says why). */
const GITLAB_STATE: Record<StatusState, string> = { pending: 'pending', success: 'success', failure: 'failed', error: 'failed' };

/** The request that sets `status` on `target`'s commit. */
export function statusRequest(target: StatusTarget, status: CommitStatus, userAgent = 'simplebb'): StatusRequest {
  const description = clip(status.description, MAX_DESCRIPTION);
  const context = clip(status.context, MAX_CONTEXT);
  const sha = encodeURIComponent(status.revision);
  const json = { 'content-type': 'application/json', 'user-agent': userAgent, accept: 'application/json' };
  switch (target.forge) {
    case 'github': {
      const [owner = '', name = ''] = target.repository.split('/');
      return {
        url: `${root(target.apiUrl)}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/statuses/${sha}`,
        method: 'POST',
        headers: { ...json, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', authorization: `Bearer ${target.token}` },
        body: JSON.stringify({ state: status.state, context, description, ...(status.url ? { target_url: status.url } : {}) }),
      };
    }
    case 'gitea':
    case 'forgejo': {
      const [owner = '', name = ''] = target.repository.split('/');
      return {
        url: `${root(target.apiUrl)}/api/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/statuses/${sha}`,
        method: 'POST',
        headers: { ...json, authorization: `token ${target.token}` },
        body: JSON.stringify({ state: status.state, context, description, ...(status.url ? { target_url: status.url } : {}) }),
      };
    }
    case 'gitlab':
      return {
        url: `${root(target.apiUrl)}/api/v4/projects/${encodeURIComponent(target.repository)}/statuses/${sha}`,
        method: 'POST',
        headers: { ...json, 'private-token': target.token },
        body: JSON.stringify({ state: GITLAB_STATE[status.state], name: context, description, ...(status.url ? { target_url: status.url } : {}) }),
      };
  }
}
