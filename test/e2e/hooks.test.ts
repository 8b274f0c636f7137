// Webhooks against the real programs: `simplebb hook test` signed as GitHub and GitLab sign, built by a builder;
// a redelivery taken once; unsigned and wrongly signed deliveries refused with 401; what each did in /api/v1/hooks;
// and a bad --hooks file refused at start in one line.
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { cleanup, node, runToEnd, startBuilder, startMaster, stop, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

function secretFile(dir: string, name: string, value: string): string {
  const f = join(dir, name);
  writeFileSync(f, `${value}\n`);
  chmodSync(f, 0o600);
  return f;
}

async function hooks(url: string): Promise<Array<Record<string, unknown>>> {
  return ((await (await fetch(`${url}/api/v1/hooks`)).json()) as { hooks: Array<Record<string, unknown>> }).hooks;
}

describe('webhooks in', () => {
  it('a signed push becomes one suggestion, built; a redelivery is taken once; bad signatures get 401', async () => {
    const dir = tempDir();
    const github = secretFile(dir, 'github', 'github-secret-0123456789');
    const gitlab = secretFile(dir, 'gitlab', `whsec_${randomBytes(24).toString('base64')}`);
    const config = join(dir, 'hooks.json');
    writeFileSync(config, JSON.stringify({
      forges: { github: { secretFile: github }, gitlab: { signingTokenFile: gitlab } },
      repositories: [{ repository: 'acme/widget', project: 'widget' }],
    }));
    const m = await startMaster({ args: ['--hooks', config] });
    const url = m.httpUrl!;
    await startBuilder(m.port, { scripts: { widget: '#!/bin/sh\necho "built $1"\n' } });

    const sent = await runToEnd('simplebb', ['--url', url, 'hook', 'test', '--forge', 'github', '--secret-file', github, '--repository', 'acme/widget', '--branch', 'dev', '--json']);
    expect(sent.code, sent.stderr).toBe(0);
    const answer = JSON.parse(sent.stdout) as { delivery: string; revision: string; accepted: boolean };
    expect(answer.accepted).toBe(true);
    const report = await waitFor('the build', () => m.reports().find((r) => r.branch === 'dev'), 15_000);
    expect(report).toMatchObject({ project: 'widget', revision: answer.revision, verdict: 'success' });
    expect(report.output).toBe('built dev\n');
    const [h] = await hooks(url);
    expect(h).toMatchObject({ forge: 'github', delivery: answer.delivery, event: 'push', state: 'done', suggestion: report.id });
    expect(h!.outcome).toMatch(/^suggested widget dev at /);

    // The same delivery again (a forge retrying): 200, and nothing more is suggested.
    const body = JSON.stringify({ ref: 'refs/heads/again', after: 'ab'.repeat(20), repository: { full_name: 'acme/widget' } });
    const signed = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'delivery-42', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'github-secret-0123456789').update(body).digest('hex')}` };
    const first = await fetch(`${url}/hooks/github`, { method: 'POST', headers: signed, body });
    expect(first.status).toBe(202);
    const again = await fetch(`${url}/hooks/github`, { method: 'POST', headers: signed, body });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ delivery: 'delivery-42', duplicate: true });
    const suggestions = async () => ((await (await fetch(`${url}/api/v1/suggestions?branch=again`)).json()) as { suggestions: unknown[] }).suggestions;
    const deadline = Date.now() + 10_000;
    while ((await suggestions()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await suggestions()).toHaveLength(1);

    // Unsigned, wrongly signed, SHA-1 only: 401 with the reason, and logged with the address.
    const unsigned = await fetch(`${url}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push' }, body });
    expect(unsigned.status).toBe(401);
    const wrong = await fetch(`${url}/hooks/github`, { method: 'POST', headers: { ...signed, 'x-github-delivery': 'delivery-43', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, body });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'refused: wrong signature' });
    await waitFor('refusals logged', () => m.log().filter((l) => l.event === 'hook-refused' && l.address === '127.0.0.1').length >= 2, 5000);
    expect(m.log().filter((l) => l.event === 'hook-refused').map((l) => l.msg)).toContain('github webhook from 127.0.0.1 refused: no X-Hub-Signature-256 header');

    // GitLab's Standard Webhooks signature; a repository nobody configured is recorded as skipped.
    const lab = await runToEnd('simplebb', ['--url', url, 'hook', 'test', '--forge', 'gitlab', '--secret-file', gitlab, '--repository', 'acme/widget', '--branch', 'lab']);
    expect(lab.code, lab.stderr).toBe(0);
    await waitFor('the GitLab build', () => m.reports().some((r) => r.branch === 'lab'), 15_000);
    const other = await runToEnd('simplebb', ['--url', url, 'hook', 'test', '--forge', 'github', '--secret-file', github, '--repository', 'evil/other']);
    expect(other.code, other.stderr).toBe(0);
    const skipped = await (async () => {
      const end = Date.now() + 10_000;
      for (;;) {
        const found = (await hooks(url)).find((x) => String(x.outcome ?? '').includes('evil/other'));
        if (found || Date.now() > end) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(skipped).toMatchObject({ state: 'done', outcome: 'skipped: repository evil/other is not configured' });
    // The deliveries page and the API's pages: every delivery once, newest first, whatever the page size.
    const all = await hooks(url);
    const paged: Array<Record<string, unknown>> = [];
    for (let cursor: string | undefined, i = 0; i < 20; i++) {
      const page = await (await fetch(`${url}/api/v1/hooks?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json() as { hooks: Array<Record<string, unknown>>; next?: string };
      paged.push(...page.hooks);
      if (!page.next) break;
      cursor = page.next;
    }
    expect(paged.map((x) => x.delivery)).toEqual(all.map((x) => x.delivery));
    expect(all.length).toBe(4);
    const html = await (await fetch(`${url}/hooks`, { headers: { accept: 'text/html' } })).text();
    expect(html).toContain('skipped: repository evil/other is not configured');
    expect(html).toContain(`<a href="/s/${report.id as string}">the suggestion</a>`);

    // A forge that is not configured, and a wrong secret through the command: one line, exit 2.
    const gitea = await runToEnd('simplebb', ['--url', url, 'hook', 'test', '--forge', 'gitea', '--secret-file', github]);
    expect(gitea).toMatchObject({ code: 2, stderr: 'simplebb: the master takes no gitea webhooks (its --hooks file configures none, or it has no --hooks)\n' });
    const bad = secretFile(dir, 'bad', 'not-the-secret-at-all');
    const refused = await runToEnd('simplebb', ['--url', url, 'hook', 'test', '--forge', 'github', '--secret-file', bad]);
    expect(refused).toMatchObject({ code: 2, stderr: "simplebb: the master refused: refused: wrong signature (--secret-file must hold the secret the master's --hooks file names for this forge)\n" });
  });

  it('a master that died after keeping deliveries processes them at start, and makes no second suggestion for one it had made', async () => {
    const dir = tempDir();
    const github = secretFile(dir, 'github', 'github-secret-0123456789');
    const config = join(dir, 'hooks.json');
    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: github } }, repositories: [{ repository: '*' }] }));
    const m = await startMaster({ dir, args: ['--hooks', config] });
    await stop(m);
    // What a kill -9 leaves: one delivery kept and never processed, one whose suggestion was recorded before it died.
    const push = (branch: string) => Buffer.from(JSON.stringify({ ref: `refs/heads/${branch}`, after: 'ab'.repeat(20), repository: { full_name: 'acme/widget' } }));
    const db = new Database(join(dir, 'data', 'simplebb.db'));
    const keep = db.prepare("INSERT INTO hooks (forge, delivery, received_at, address, event, body, state) VALUES ('github', ?, ?, '127.0.0.1', 'push', ?, 'pending')");
    keep.run('never-processed', Date.now(), push('one'));
    keep.run('suggested-already', Date.now(), push('two'));
    db.prepare("INSERT INTO suggestions (id, project, branch, revision, source, created_at) VALUES ('made-before-crash', 'widget', 'two', ?, '127.0.0.1 (github delivery suggested-already)', ?)").run('ab'.repeat(20), Date.now());
    db.close();
    const m2 = await startMaster({ dir, args: ['--hooks', config] });
    const settled = await (async () => {
      const end = Date.now() + 10_000;
      for (;;) {
        const list = await hooks(m2.httpUrl!);
        if (list.every((h) => h.state !== 'pending') || Date.now() > end) return list;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(settled.find((h) => h.delivery === 'suggested-already')).toMatchObject({ state: 'done', suggestion: 'made-before-crash' });
    const made = settled.find((h) => h.delivery === 'never-processed')!;
    expect(made).toMatchObject({ state: 'done', outcome: expect.stringMatching(/^suggested widget one at abababababab as /) });
    const two = (await (await fetch(`${m2.httpUrl!}/api/v1/suggestions?branch=two`)).json()) as { suggestions: Array<{ id: string }> };
    expect(two.suggestions.map((x) => x.id)).toEqual(['made-before-crash']);
  });

  it('a --hooks file that is wrong is refused at start in one line naming what is wrong', async () => {
    const dir = tempDir();
    const config = join(dir, 'hooks.json');
    writeFileSync(config, JSON.stringify({ forges: { github: {} }, repositories: [] }));
    const p = node('masterd', ['--port', '0', '--http', '127.0.0.1:0', '--data', join(dir, 'data'), '--hooks', config]);
    const { code } = await p.exited;
    expect(code).toBe(78);
    expect(p.stderr()).toBe(`simplebb-masterd: the hooks file ${config}, line 1: forges.github needs secretFile\n`);
    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: 'x' } }, repositories: [{ repository: 'a/b' }, { repository: 'c/d', bitbucket: true }] }, null, 2));
    const q = node('masterd', ['--port', '0', '--http', '127.0.0.1:0', '--data', join(dir, 'data'), '--hooks', config]);
    expect((await q.exited).code).toBe(78);
    expect(q.stderr()).toBe(`simplebb-masterd: the hooks file ${config}, line 11: repositories.1: Unrecognized key: "bitbucket"\n`);
    writeFileSync(config, '{\n  "forges": {},\n  "repositories": [,]\n}\n');
    const r = node('masterd', ['--port', '0', '--http', '127.0.0.1:0', '--data', join(dir, 'data'), '--hooks', config]);
    expect((await r.exited).code).toBe(78);
    expect(r.stderr()).toBe(`simplebb-masterd: the hooks file ${config}, line 3: not JSON: expected a value (a string, number, object, array, true, false or null), found ",]"\n`);
  });

  it('--hooks-http: the webhooks on a listener of their own that serves nothing else; the API listener points there', async () => {
    const dir = tempDir();
    const github = secretFile(dir, 'github', 'github-secret-0123456789');
    const config = join(dir, 'hooks.json');
    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: github } }, repositories: [{ repository: 'acme/widget', project: 'widget' }] }));
    const m = await startMaster({ args: ['--hooks', config, '--hooks-http', '127.0.0.1:0'] });
    const line = await waitFor('the hooks listener', () => m.log().find((l) => l.event === 'hooks-listening'), 5000);
    const hooksUrl = line.url as string;
    expect(hooksUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(hooksUrl).not.toBe(m.httpUrl);

    const sent = await runToEnd('simplebb', ['--url', hooksUrl, 'hook', 'test', '--forge', 'github', '--secret-file', github, '--repository', 'acme/widget', '--branch', 'apart', '--json']);
    expect(sent.code, sent.stderr).toBe(0);
    await waitFor('the suggestion', () => m.log().find((l) => l.event === 'suggestion' && l.branch === 'apart'), 10_000);

    // Nothing but the hooks there: no API, no pages, no metrics.
    for (const path of ['/api/v1/builders', '/', '/metrics', '/api/v1/hooks']) {
      const r = await fetch(`${hooksUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(((await r.json()) as { error: string }).error).toBe(`this listener takes only webhooks (POST /hooks/FORGE), not GET ${path}`);
    }
    // And the API listener takes none, saying where they go; its deliveries list still shows them.
    const there = await fetch(`${m.httpUrl!}/hooks/github`, { method: 'POST', body: '{}' });
    expect(there.status).toBe(404);
    expect(await there.json()).toEqual({ error: `this listener takes no webhooks: they go to ${hooksUrl}/hooks/FORGE (--hooks-http)` });
    expect((await hooks(m.httpUrl!)).map((h) => h.state)).toEqual(['done']);

    const q = node('masterd', ['--port', '0', '--http', 'off', '--data', join(dir, 'data2'), '--hooks-http', '127.0.0.1:0']);
    expect((await q.exited).code).toBe(78);
    expect(q.stderr()).toBe('simplebb-masterd: --hooks-http needs --hooks FILE: without it there are no webhooks to take\n');
  });

  it('reads the --hooks file again when it changes: a good one takes effect, a bad one is refused in one line and the old one stays', async () => {
    const dir = tempDir();
    const github = secretFile(dir, 'github', 'github-secret-0123456789');
    const gitea = secretFile(dir, 'gitea', 'gitea-secret-0123456789');
    const config = join(dir, 'hooks.json');
    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: github } }, repositories: [{ repository: 'acme/widget', project: 'widget' }] }));
    const m = await startMaster({ args: ['--hooks', config] });
    const url = m.httpUrl!;
    const send = (forge: string, file: string) => runToEnd('simplebb', ['--url', url, 'hook', 'test', '--forge', forge, '--secret-file', file, '--repository', 'acme/widget', '--branch', forge]);
    expect((await send('gitea', gitea)).stderr).toContain('the master takes no gitea webhooks');

    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: github }, gitea: { secretFile: gitea } }, repositories: [{ repository: 'acme/widget', project: 'widget' }] }));
    await waitFor('the file read again', () => m.log().find((l) => l.event === 'config-reloaded'), 10_000);
    const sent = await send('gitea', gitea);
    expect(sent.code, sent.stderr).toBe(0);

    writeFileSync(config, '{\n  "forges": {\n    "gitea": {}\n  },\n  "repositories": []\n}\n');
    const refused = await waitFor('the bad file refused', () => m.log().find((l) => l.event === 'config-refused'), 10_000);
    expect(refused.msg).toBe(`the hooks file ${config}, line 3: forges.gitea needs secretFile (the webhook settings in force stay as they were)`);
    expect((await send('github', github)).code).toBe(0);
    await waitFor('both built', () => ['gitea', 'github'].every((b) => m.log().some((l) => l.event === 'suggestion' && l.branch === b)), 10_000);
  });

  it('a repository route with a selector builds only on the builders it matches; a selector that does not parse is refused at start', async () => {
    const dir = tempDir();
    const github = secretFile(dir, 'github', 'github-secret-0123456789');
    const config = join(dir, 'hooks.json');
    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: github } }, repositories: [{ repository: 'acme/widget', project: 'widget', on: 'pool=fast' }] }));
    const m = await startMaster({ args: ['--hooks', config] });
    await startBuilder(m.port, { name: 'quick', scripts: { widget: 'echo built' }, args: ['--label', 'pool=fast'] });
    await startBuilder(m.port, { name: 'slow', scripts: { widget: 'echo built' }, args: ['--label', 'pool=slow'] });
    await waitFor('two builders', () => m.log().filter((l) => l.event === 'connected').length === 2);
    const sent = await runToEnd('simplebb', ['--url', m.httpUrl!, 'hook', 'test', '--forge', 'github', '--secret-file', github, '--repository', 'acme/widget', '--branch', 'picky']);
    expect(sent.code, sent.stderr).toBe(0);
    const s = await waitFor('the suggestion', () => m.log().find((l) => l.event === 'suggestion' && l.branch === 'picky'), 10_000);
    expect(s.builders).toEqual(['quick']);
    await waitFor('the build', () => m.reports().some((r) => r.branch === 'picky' && r.builder === 'quick'), 15_000);

    writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: github } }, repositories: [{ repository: 'a/b', on: 'pool=(' }] }, null, 2));
    const q = node('masterd', ['--port', '0', '--http', '127.0.0.1:0', '--data', join(dir, 'data2'), '--hooks', config]);
    expect((await q.exited).code).toBe(78);
    expect(q.stderr()).toMatch(new RegExp(`^simplebb-masterd: the hooks file ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 10: repositories\\.0\\.on: selector: .+\n$`));
  });
});
