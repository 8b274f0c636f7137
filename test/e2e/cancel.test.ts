// `simplebb cancel` and `simplebb rerun` end to end: a real master and builders, a running build killed with its
// whole process group, one queued behind it dropped, one owed to an offline builder recorded, and a linked rerun built.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { survivors } from '../../lib/exec/survivors.js';
import { cleanup, rawClient, runToEnd, startBuilder, startMaster, stop, tempDir, waitFor, type Master } from '../helpers.js';

afterEach(cleanup);

/** A build that writes its own pid and a child's (same process group) to files named after its branch, then waits. */
const SLOW = (dir: string) => `echo $$ > ${dir}/pid-$1; sleep 60 & echo $! > ${dir}/child-$1; wait`;

/** Live (not zombie) processes whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function suggestHttp(url: string, body: Record<string, unknown>): Promise<{ id: string; builders: string[] }> {
  const res = await fetch(`${url}/api/v1/suggestions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; builders: string[] };
}

function simplebb(url: string, args: string[]) {
  return runToEnd('simplebb', ['--url', url, ...args], { timeoutMs: 20_000 });
}

/** The stored report of `id` by `builder`, once there is one (bounded). */
function reportOf(m: Master, id: string, builder: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return waitFor(`the report of ${id} by ${builder}`, () => m.reports().find((r) => r.id === id && r.builder === builder), timeoutMs);
}

describe('simplebb cancel', () => {
  it('kills a running build with its whole process group and drops one queued behind it (--jobs 1); both are reported cancelled, with who and why', async () => {
    const dir = tempDir('simplebb-cancel-');
    const m = await startMaster();
    const url = m.httpUrl!;
    const b = await startBuilder(m.port, { name: 'b1', scripts: { slow: SLOW(dir) }, args: ['--jobs', '1'] });

    const running = await suggestHttp(url, { project: 'slow', branch: 'a' });
    const pid = await waitFor('the build to write its pid', () => existsSync(join(dir, 'child-a')) && Number(readFileSync(join(dir, 'pid-a'), 'utf8')), 15_000);
    const child = Number(readFileSync(join(dir, 'child-a'), 'utf8'));
    expect(groupMembers(pid)).toEqual(expect.arrayContaining([pid, child]));
    const queued = await suggestHttp(url, { project: 'slow', branch: 'b' });
    await waitFor('the second build to be queued', () => b.log().some((l) => l.event === 'queued' && l.id === queued.id), 10_000);

    // The queued one first: dropped, never run.
    const dropped = await simplebb(url, ['cancel', queued.id, '--reason', 'wrong branch']);
    expect(dropped.stderr).toBe('');
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toMatch(/b1\s+received\s+cancelling: its build is dropped before it starts/);
    const q = await reportOf(m, queued.id, 'b1');
    expect(q).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (http): wrong branch' });
    expect(groupMembers(pid).length).toBeGreaterThan(0); // the running one is untouched

    // The running one: its group is killed as a timeout kills it.
    const killed = await simplebb(url, ['cancel', running.id]);
    expect(killed.code).toBe(0);
    expect(killed.stdout).toMatch(/b1\s+started\s+cancelling: its build is being killed/);
    const r = await reportOf(m, running.id, 'b1');
    expect(r).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (http)', signal: 'SIGTERM' });
    expect(groupMembers(pid)).toEqual([]);
    expect(survivors(running.id, 'b1', pid)).toEqual([]);
    expect(m.log().find((l) => l.event === 'cancel' && l.id === running.id)).toMatchObject({ by: '127.0.0.1 (http)', builders: ['b1:send'] });
    expect(existsSync(join(dir, 'pid-b'))).toBe(false); // the dropped one never started, not even after the slot was free

    // The API and the page say so.
    const api = (await (await fetch(`${url}/api/v1/reports/${running.id}/b1`, { signal: AbortSignal.timeout(10_000) })).json()) as Record<string, unknown>;
    expect(api).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (http)' });
    expect(await (await fetch(`${url}/s/${running.id}`, { signal: AbortSignal.timeout(10_000) })).text()).toContain('class="v v-cancelled"');

    // Bad input: one line each, exit 2.
    const again = await simplebb(url, ['cancel', running.id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`simplebb: suggestion ${running.id} has already finished (b1 cancelled): nothing to cancel\n`);
    const unknown = await simplebb(url, ['cancel', 'zz-no-such-id']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('simplebb: no such suggestion zz-no-such-id\n');
    const other = await simplebb(url, ['cancel', queued.id, '--builder', 'b9']);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe(`simplebb: suggestion ${queued.id} was never offered to builder b9\n`);
  }, 60_000);

  it('records cancelled for a builder that is offline, and that builder does not build it when it is back', async () => {
    const dir = tempDir('simplebb-cancel-away-');
    const m = await startMaster({ args: ['--replay-window', '60'] });
    const url = m.httpUrl!;
    const away = await startBuilder(m.port, { name: 'b2', scripts: { slow: SLOW(dir) } });
    await stop(away);
    await waitFor('b2 to be gone', () => m.log().some((l) => l.event === 'disconnected' && l.builder === 'b2'), 10_000);

    const s = await suggestHttp(url, { project: 'slow', branch: 'c' });
    expect(s.builders).toEqual([]);
    const res = await fetch(`${url}/api/v1/suggestions/${s.id}/cancel`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'not needed' }), signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: s.id, steps: [{ builder: 'b2', action: 'record', state: 'owed' }], finished: [] });
    expect(await reportOf(m, s.id, 'b2')).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (http): not needed (builder b2 was not connected)' });

    // Back: it is owed nothing, so it never starts the build.
    const back = await startBuilder(m.port, { name: 'b2', dir: away.dir });
    await waitFor('b2 to be synced', () => back.log().some((l) => l.event === 'connected'), 10_000);
    const check = await fetch(`${url}/api/v1/suggestions/${s.id}/cancel`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(check.status).toBe(409);
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(join(dir, 'pid-c'))).toBe(false);
    expect(back.log().some((l) => l.event === 'queued' && l.id === s.id)).toBe(false);
  }, 60_000);
});

describe('simplebb cancel and an older clientd', () => {
  it('never sends cancel to a builder whose hello did not say cancel: its build is named unable (exit 1), the others are cancelled', async () => {
    const dir = tempDir('simplebb-cancel-old-');
    const m = await startMaster();
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'new', scripts: { slow: SLOW(dir) } });
    // A clientd from before cancel, as it speaks: no `cancel` in its hello (it would not know the greeting's `cancel`).
    const old = rawClient(m.port);
    await waitFor('the greeting', () => old.lines().find((l) => l.type === 'greeting'), 10_000);
    old.send({
      type: 'hello', protocol: 2, role: 'builder', name: 'old', instance: 'c3'.repeat(8), node: 'v20.0.0', projects: ['slow'], jobs: 1,
      uname: { type: 'Linux', release: '6', version: '#1', machine: 'x86_64', hostname: 'old' },
    });
    await waitFor('old to be synced', () => old.lines().find((l) => l.type === 'synced'), 10_000);
    const s = await suggestHttp(url, { project: 'slow', branch: 'o' });
    const order = await waitFor('old to get the order', () => old.lines().find((l) => l.type === 'suggest' && l.id === s.id), 10_000);
    old.send({ type: 'received', seq: order.seq });
    old.send({ type: 'started', id: s.id, startedAt: Date.now() });
    await waitFor('new to run it', () => existsSync(join(dir, 'child-o')), 15_000);

    const r = await simplebb(url, ['cancel', s.id, '--reason', 'mixed farm']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/new\s+started\s+cancelling: its build is being killed/);
    expect(r.stdout).toMatch(/old\s+started\s+not cancelled: builder old runs an older simplebb-clientd that does not know cancel/);
    expect(await reportOf(m, s.id, 'new')).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (http): mixed farm' });
    // The old one was never sent a line it does not know, and its connection stands.
    expect(old.lines().some((l) => l.type === 'cancel')).toBe(false);
    expect(old.closed()).toBe(false);
    old.sock.destroy();
  }, 60_000);
});

describe('simplebb rerun', () => {
  it('makes a new suggestion of the same project, branch and revision, linked to the old one, and it is built; --builder limits it to one', async () => {
    const m = await startMaster();
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'b1', scripts: { foo: 'echo "built $SIMPLEBB_REVISION"' } });
    await startBuilder(m.port, { name: 'b2', scripts: { foo: 'echo "built $SIMPLEBB_REVISION"' } });
    const first = await suggestHttp(url, { project: 'foo', branch: 'main', revision: '0123abcd' });
    await reportOf(m, first.id, 'b1');
    await reportOf(m, first.id, 'b2');

    const again = await simplebb(url, ['--json', 'rerun', first.id]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const a = JSON.parse(again.stdout) as { id: string; rerunOf: string; revision: string; builders: string[] };
    expect(a).toMatchObject({ rerunOf: first.id, revision: '0123abcd', project: 'foo', branch: 'main' });
    expect(a.builders.sort()).toEqual(['b1', 'b2']);
    expect(await reportOf(m, a.id, 'b1')).toMatchObject({ verdict: 'success', revision: '0123abcd' });
    const view = (await (await fetch(`${url}/api/v1/suggestions/${a.id}`, { signal: AbortSignal.timeout(10_000) })).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ rerunOf: first.id, revision: '0123abcd' });
    expect((await simplebb(url, ['show', a.id])).stdout).toMatch(new RegExp(`^rerun of\\s+${first.id}$`, 'm'));
    const firstView = (await (await fetch(`${url}/api/v1/suggestions/${first.id}`, { signal: AbortSignal.timeout(10_000) })).json()) as { seq: number };
    const page = await (await fetch(`${url}/s/${a.id}`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(page).toContain(`<dt>rerun of</dt><dd><a href="/s/${first.id}">#${firstView.seq}</a></dd>`);

    const one = await simplebb(url, ['rerun', a.id, '--builder', 'b2']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^rerun of ${a.id}: suggested foo main \\(0123abcd\\) as \\S+ to 1 builder: b2\\n$`));
    const oneId = /as (\S+) to/.exec(one.stdout)![1]!;
    expect(await reportOf(m, oneId, 'b2')).toMatchObject({ verdict: 'success' });
    expect(m.reports().some((r) => r.id === oneId && r.builder === 'b1')).toBe(false);

    const ghost = await simplebb(url, ['rerun', a.id, '--builder', 'ghost']);
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toBe('simplebb: the master refused the request: no builder named ghost is known to this master\n');
    const unknown = await simplebb(url, ['rerun', 'zz-no-such-id']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('simplebb: no such suggestion zz-no-such-id\n');
  }, 60_000);
});

describe('the pages\' cancel and rerun buttons', () => {
  it('are offered to an operator signed in with the suggest token, act only from the master\'s own pages, and the API takes no form posts', async () => {
    const dir = tempDir('simplebb-buttons-');
    const tokenFile = join(dir, 'suggest.token');
    writeFileSync(tokenFile, 'suggest-token-for-the-buttons-0123456789', { mode: 0o600 });
    const m = await startMaster({ args: ['--suggest-token-file', tokenFile] });
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'b1', scripts: { slow: SLOW(dir) }, args: ['--jobs', '1'] });
    const auth = { authorization: 'Bearer suggest-token-for-the-buttons-0123456789' };
    const made = await fetch(`${url}/api/v1/suggestions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ project: 'slow', branch: 'a' }), signal: AbortSignal.timeout(10_000),
    });
    const { id } = (await made.json()) as { id: string };
    await waitFor('the build to run', () => existsSync(join(dir, 'child-a')), 15_000);

    const pageOf = async (path: string, headers: Record<string, string> = {}) => (await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(10_000) })).text();
    expect(await pageOf(`/s/${id}`)).not.toContain(`action="/s/${id}/cancel"`);
    // Signing in with the suggest token gives the operator cookie.
    const signIn = await fetch(`${url}/sign-in`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=suggest-token-for-the-buttons-0123456789', redirect: 'manual', signal: AbortSignal.timeout(10_000),
    });
    expect(signIn.status).toBe(303);
    const operator = signIn.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('simplebb_operator='))!;
    expect(operator).toBeDefined();
    const page = await pageOf(`/s/${id}`, { cookie: operator });
    expect(page).toContain(`<form method="post" action="/s/${id}/cancel" class="filters">`);
    expect(page).toContain(`<form method="post" action="/s/${id}/rerun" class="filters">`);
    // The running build's own page: a cancel button for the operator only.
    const cancelB1 = `<form method="post" action="/s/${id}/cancel" class="inline"><input type="hidden" name="builder" value="b1">`;
    expect(await pageOf(`/b/${id}/b1`, { cookie: operator })).toContain(cancelB1);
    expect(await pageOf(`/b/${id}/b1`)).not.toContain(cancelB1);

    const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${url}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body, redirect: 'manual', signal: AbortSignal.timeout(10_000),
    });
    const host = new URL(url).host;
    // Not from its own page (no Origin, or another one), or no operator: refused, nothing cancelled.
    expect((await post(`/s/${id}/cancel`, 'reason=x', { cookie: operator })).status).toBe(403);
    expect((await post(`/s/${id}/cancel`, 'reason=x', { cookie: operator, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(`/s/${id}/cancel`, 'reason=x', { origin: `http://${host}` })).status).toBe(403);
    // A browser's own word goes first: another site's form is refused whatever its Origin says.
    expect((await post(`/s/${id}/cancel`, 'reason=x', { cookie: operator, origin: `http://${host}`, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // The API takes JSON only: a form post to it is refused even with the token.
    expect((await post(`/api/v1/suggestions/${id}/cancel`, 'reason=x', auth)).status).toBe(415);
    expect(m.reports().some((r) => r.id === id)).toBe(false);

    const done = await post(`/s/${id}/cancel`, 'reason=from+the+page', { cookie: operator, origin: `http://${host}` });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/s/${id}`);
    expect(await reportOf(m, id, 'b1')).toMatchObject({ verdict: 'cancelled', message: 'cancelled by 127.0.0.1 (page): from the page' });
    expect(await pageOf(`/b/${id}/b1`, { cookie: operator })).toContain(`<form method="post" action="/s/${id}/rerun" class="inline"><input type="hidden" name="builder" value="b1"><button type="submit" title="rerun on b1">rerun on b1</button></form>`);

    // As Chromium posts a form under the pages' Referrer-Policy: no-referrer: Origin null, Sec-Fetch-Site same-origin.
    const again = await post(`/s/${id}/rerun`, 'builder=b1', { cookie: operator, origin: 'null', 'sec-fetch-site': 'same-origin' });
    expect(again.status).toBe(303);
    const next = again.headers.get('location')!;
    expect(next).toMatch(/^\/s\/[0-9a-z-]+$/);
    expect(next).not.toBe(`/s/${id}`);
    expect(await pageOf(next, { cookie: operator })).toContain(`<dt>rerun of</dt><dd><a href="/s/${id}">#`);
    const finished = await post(`/s/${id}/cancel`, '', { cookie: operator, origin: `http://${host}` });
    expect(finished.status).toBe(409);
    expect(await finished.text()).toContain('has already finished (b1 cancelled): nothing to cancel');
    // The rerun runs the slow script again: cancelled through the API, so nothing of it outlives the test.
    const rerunId = next.slice('/s/'.length);
    const stopIt = await fetch(`${url}/api/v1/suggestions/${rerunId}/cancel`, { method: 'POST', headers: auth, signal: AbortSignal.timeout(10_000) });
    expect(stopIt.status).toBe(200);
    expect(await reportOf(m, rerunId, 'b1')).toMatchObject({ verdict: 'cancelled' });
  }, 60_000);
});
