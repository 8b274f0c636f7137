// The git post-receive hook against a real bare repository and real pushes.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, DIST, ROOT, startBuilder, startMaster, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const gitEnv = {
  ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent',
};
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
/** A push, returning its stderr (where hook messages go) and status. */
const push = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['push', '-q', 'origin', ...args], { cwd, env: gitEnv, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
};

function repos(port: number) {
  const dir = tempDir('simplebb-git-');
  const bare = join(dir, 'foo.git');
  const work = join(dir, 'work');
  git(dir, 'init', '-q', '--bare', bare);
  copyFileSync(join(ROOT, 'hooks', 'post-receive'), join(bare, 'hooks', 'post-receive'));
  git(bare, 'config', 'simplebb.suggest', join(DIST, 'suggest.js'));
  git(bare, 'config', 'simplebb.port', String(port));
  git(dir, 'clone', '-q', bare, work);
  git(work, 'checkout', '-q', '-b', 'master');
  writeFileSync(join(work, 'a'), '1');
  git(work, 'add', 'a');
  git(work, 'commit', '-q', '-m', 'one');
  return { bare, work };
}

describe('hooks/post-receive', () => {
  it('suggests created and updated branches with their revision, and skips deletions and tags', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { foo: 'echo built $1 $SIMPLEBB_REVISION' } });
    const { work } = repos(m.port);
    const suggestions = () => m.log().filter((l) => l.event === 'suggestion');

    expect(push(work, 'master').status).toBe(0);
    const created = await waitFor('suggestion for the new branch', () => suggestions()[0]);
    expect(created).toMatchObject({ project: 'foo', branch: 'master', revision: git(work, 'rev-parse', 'HEAD') });

    writeFileSync(join(work, 'a'), '2');
    git(work, 'commit', '-q', '-am', 'two');
    git(work, 'branch', 'feature/x');
    expect(push(work, 'master', 'feature/x').status).toBe(0);
    await waitFor('two more suggestions', () => suggestions().length === 3);
    const head = git(work, 'rev-parse', 'HEAD');
    expect(suggestions().slice(1).map((s) => [s.branch, s.revision]).sort()).toEqual([['feature/x', head], ['master', head]]);

    expect(push(work, ':feature/x').status).toBe(0);
    git(work, 'tag', 'v1');
    expect(push(work, 'v1').status).toBe(0);
    // Then one more real update, so we know the hook ran for the deletion and the tag before it.
    writeFileSync(join(work, 'a'), '3');
    git(work, 'commit', '-q', '-am', 'three');
    expect(push(work, 'master').status).toBe(0);
    await waitFor('the last suggestion', () => suggestions().length >= 4);
    expect(suggestions().length).toBe(4);
    expect(suggestions()[3]).toMatchObject({ branch: 'master', revision: git(work, 'rev-parse', 'HEAD') });
    await waitFor('four reports', () => m.reports().length === 4);
    expect(m.reports().map((r) => r.output)).toContain(`built master ${git(work, 'rev-parse', 'HEAD')}\n`);
  });

  it('passes the suggest token from simplebb.tokenFile', async () => {
    const token = 'suggest-secret-0123456789abcdef';
    const m = await startMaster({ env: { SIMPLEBB_SUGGEST_TOKEN: token, SIMPLEBB_BUILDER_TOKEN: 'builder-secret-0123456789abcdef' } });
    const { bare, work } = repos(m.port);
    const r1 = push(work, 'master');
    expect(r1.status).toBe(0);
    expect(r1.stderr).toContain('authentication failed');
    const tokenFile = join(bare, 'simplebb-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    git(bare, 'config', 'simplebb.tokenFile', tokenFile);
    writeFileSync(join(work, 'a'), '2');
    git(work, 'commit', '-q', '-am', 'two');
    expect(push(work, 'master').status).toBe(0);
    await waitFor('suggestion', () => m.log().find((l) => l.event === 'suggestion'));
  });

  it('skips a pushed branch git accepts but simplebb refuses, and still suggests the others', async () => {
    const m = await startMaster();
    const A = 'a'.repeat(40);
    const r = await suggest(m.port, ['foo'], { input: `${'0'.repeat(40)} ${A} refs/heads/main\n${'0'.repeat(40)} ${A} refs/heads/-x\n` });
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe('simplebb-suggest: skipping invalid branch "-x": branch name must not start with "-"');
    await waitFor('suggestion for main', () => m.log().find((l) => l.event === 'suggestion' && l.branch === 'main'));
    expect(m.log().filter((l) => l.event === 'suggestion')).toHaveLength(1);
  });

  it('never fails or hangs the push when the master is down', async () => {
    const m = await startMaster();
    const port = m.port;
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    const { work } = repos(port);
    const t0 = Date.now();
    const r = push(work, 'master');
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.stderr).toContain(`cannot reach master at 127.0.0.1:${port}: connection refused`);
    expect(r.stderr).toContain('the push itself is fine');
  });
});
