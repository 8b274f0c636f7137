// Commit statuses: the verdict → state mapping, the roll-up, and the request each forge is sent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VERDICTS } from '../../lib/protocol/names.js';
import { isFullRevision, MAX_DESCRIPTION, rollUp, statusOf, statusRequest, type StatusState } from '../../lib/forges/status.js';

const SHA = 'a'.repeat(40);
const STATES: StatusState[] = ['pending', 'success', 'failure', 'error'];

describe('statusOf', () => {
  it('maps every verdict: a build that ran and failed is a failure, one that could not run, was lost or was cancelled an error', () => {
    expect(Object.fromEntries(VERDICTS.map((v) => [v, statusOf(v) ?? null]))).toEqual({
      success: 'success', failure: 'failure', timeout: 'failure', lost: 'error', refused: 'error', superseded: 'error', cancelled: 'error', 'no-script': null,
    });
  });
});

describe('rollUp', () => {
  it('is pending while any builder is, else the worst state, whatever the order', () => {
    const rank = { success: 0, error: 1, failure: 2 } as const;
    fc.assert(fc.property(fc.array(fc.constantFrom(...STATES), { minLength: 1, maxLength: 8 }), (states) => {
      const r = rollUp(states);
      if (states.includes('pending')) return r === 'pending';
      const worst = states.reduce((a, b) => (rank[b as keyof typeof rank] > rank[a as keyof typeof rank] ? b : a));
      return r === worst && rollUp([...states].reverse()) === r;
    }));
    expect(rollUp([])).toBe('pending');
  });
});

describe('isFullRevision', () => {
  it('takes 40 or 64 hex digits only', () => {
    expect([SHA, 'B'.repeat(64), 'abc1234', 'g'.repeat(40), `${SHA}0`, undefined].map(isFullRevision)).toEqual([true, true, false, false, false, false]);
  });
});

describe('statusRequest', () => {
  const status = { revision: SHA, state: 'failure' as const, context: 'simplebb/b1', description: 'failed in 3.2 s', url: 'https://ci.example.org/b/X/b1' };

  it('GitHub: the statuses API with a bearer token', () => {
    const r = statusRequest({ forge: 'github', apiUrl: 'https://api.github.com/', repository: 'me/proj', token: 'T' }, status);
    expect(r.url).toBe(`https://api.github.com/repos/me/proj/statuses/${SHA}`);
    expect(r.headers.authorization).toBe('Bearer T');
    expect(r.headers['x-github-api-version']).toBe('2022-11-28');
    expect(JSON.parse(r.body)).toEqual({ state: 'failure', context: 'simplebb/b1', description: 'failed in 3.2 s', target_url: status.url });
  });

  it('Gitea and Forgejo: /api/v1 with a token header', () => {
    for (const forge of ['gitea', 'forgejo'] as const) {
      const r = statusRequest({ forge, apiUrl: 'https://git.example.org', repository: 'me/proj', token: 'T' }, { ...status, state: 'error' });
      expect(r.url).toBe(`https://git.example.org/api/v1/repos/me/proj/statuses/${SHA}`);
      expect(r.headers.authorization).toBe('token T');
      expect(JSON.parse(r.body)).toMatchObject({ state: 'error', context: 'simplebb/b1' });
    }
  });

  it('GitLab: the project path encoded, its own state names, the context as name', () => {
    const r = statusRequest({ forge: 'gitlab', apiUrl: 'https://gitlab.example.org', repository: 'group/sub/proj', token: 'T' }, { ...status, state: 'error' });
    expect(r.url).toBe(`https://gitlab.example.org/api/v4/projects/group%2Fsub%2Fproj/statuses/${SHA}`);
    expect(r.headers['private-token']).toBe('T');
    expect(JSON.parse(r.body)).toEqual({ state: 'failed', name: 'simplebb/b1', description: 'failed in 3.2 s', target_url: status.url });
  });

  it('clips a long description to the forge cap and encodes what goes in the path', () => {
    const r = statusRequest({ forge: 'github', apiUrl: 'https://api.github.com', repository: 'me/p?x', token: 'T' }, { ...status, description: 'x'.repeat(500) });
    expect((JSON.parse(r.body) as { description: string }).description).toHaveLength(MAX_DESCRIPTION);
    expect(r.url).toContain('/repos/me/p%3Fx/statuses/');
  });
});
