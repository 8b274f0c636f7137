// `simplebb where` and overdue builds end to end: a real master, two builders (one killed), a script made slow.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, runToEnd, sleep, startBuilder, startMaster, stop, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

/** Steps of 0.1 s, as many as the file says: 3 (0.3 s) while the usual is made, then many (the overdue build). */
const SLOW = (steps: string) => `n=$(cat ${steps}); i=0; while [ $i -lt $n ]; do sleep 0.1; i=$((i+1)); done; echo "built $1"`;

interface Place { builder: string; state: string; reason: string; usualMs?: number }

async function where(url: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToEnd('simplebb', ['--url', url, 'where', ...args], { env: { TZ: 'UTC' }, timeoutMs: 15_000 });
}

/** Polls the API until `ok` holds of the builders' places (bounded). */
async function placesUntil(url: string, what: string, ok: (ps: Place[]) => boolean, timeoutMs: number): Promise<Place[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ps = await places(url, 'foo', 'main');
    if (ok(ps)) return ps;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(ps)}`);
    await sleep(100);
  }
}

async function places(url: string, project: string, branch: string): Promise<Place[]> {
  const res = await fetch(`${url}/api/v1/where?project=${project}&branch=${branch}`, { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as { builders: Place[] }).builders;
}

describe('simplebb where', () => {
  it('names each builder\'s state: reported, no script, running then overdue, offline then lost, waiting, excluded', async () => {
    const dir = tempDir('simplebb-where-');
    const steps = join(dir, 'steps');
    writeFileSync(steps, '3');
    const m = await startMaster({ args: ['--replay-window', '6'] });
    const url = m.httpUrl!;
    await startBuilder(m.port, { name: 'amd', scripts: { foo: SLOW(steps) }, args: ['--label', 'arch=x64'] });
    const arm = await startBuilder(m.port, { name: 'arm', scripts: { foo: 'echo ok', bar: 'echo ok' }, args: ['--label', 'arch=arm64'] });

    // The usual: three successful builds of foo main (amd: about 0.3 s each), and bar, which amd has no script for.
    for (let i = 0; i < 3; i++) expect((await suggest(m.port, ['foo', 'main', '--wait'], { timeoutMs: 20_000 })).code).toBe(0);
    await suggest(m.port, ['bar', 'main', '--wait'], { timeoutMs: 20_000 });
    const bar = await where(url, ['bar']);
    expect(bar.code).toBe(0);
    expect(bar.stdout).toMatch(/^bar main: suggestion \S+ made at /);
    expect(bar.stdout).toMatch(/amd\s+no-script\s+no script: it has no buildscript bar/);
    expect(bar.stdout).toMatch(/arm\s+reported\s+reported success in /);
    const json = await runToEnd('simplebb', ['--url', url, '--json', 'where', 'bar', '--branch', 'main']);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).map((p) => [p.builder, p.state, p.project])).toEqual([['amd', 'no-script', 'bar'], ['arm', 'reported', 'bar']]);

    // arm is killed; foo is made slow and suggested again: amd runs it, arm is offline.
    await stop(arm, 'SIGKILL');
    await waitFor('arm to be gone', () => m.log().some((l) => l.event === 'disconnected' && l.builder === 'arm'), 10_000);
    writeFileSync(steps, '150');
    const started = await suggest(m.port, ['foo', 'main']);
    expect(started.code).toBe(0);
    await placesUntil(url, 'amd to run it', (ps) => ps.some((p) => p.builder === 'amd' && (p.state === 'running' || p.state === 'overdue')), 10_000);
    const running = await where(url, ['foo', '--branch', 'main']);
    expect(running.code).toBe(0);
    expect(running.stdout).toMatch(/amd\s+(running|overdue)\s+(overdue: )?running for [\d.]+ s \(usually [\d.]+ s\)/);
    expect(running.stdout).toMatch(/arm\s+offline\s+offline since \d\d:\d\d \(it gets the build if back by \d\d:\d\d\)/);

    // Past twice its usual duration: an overdue event once, in the log, the metric, the API and the pages.
    const line = await waitFor('the overdue line', () => m.log().find((l) => l.event === 'overdue'), 10_000);
    expect(line).toMatchObject({ builder: 'amd', project: 'foo', branch: 'main', level: 40 });
    expect(line.usualMs as number).toBeGreaterThanOrEqual(300);
    const overdue = await places(url, 'foo', 'main');
    expect(overdue.find((p) => p.builder === 'amd')).toMatchObject({ state: 'overdue', reason: expect.stringMatching(/^overdue: running for/) as unknown });
    const metrics = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(metrics).toMatch(/^simplebb_overdue_builds 1$/m);
    const id = line.id as string;
    const page = await (await fetch(`${url}/b/${id}/amd`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(page).toMatch(/running <span class="v v-overdue">overdue \(usually [\d.]+ s\)<\/span>/);
    expect(await (await fetch(`${url}/s/${id}`, { signal: AbortSignal.timeout(10_000) })).text()).toContain('overdue (usually ');

    // A suggestion for x64 only: amd has it queued behind the slow build, arm (away, within the replay window) was left out by the selector.
    expect((await suggest(m.port, ['foo', 'dev', '--on', 'arch=x64'])).code).toBe(0);
    const queued = await where(url, ['foo', '--branch', 'dev']);
    expect(queued.stdout).toMatch(/^foo dev on arch=x64: suggestion/);
    expect(queued.stdout).toMatch(/amd\s+waiting\s+(offered|received) and waiting, queued behind 1 other build on it$/m);
    expect(queued.stdout).toMatch(/arm\s+excluded\s+excluded by the selector arch=x64: lacks arch=x64 \(has arch=arm64\)/);

    // The replay window (6 s) ends: arm's part is lost.
    await placesUntil(url, 'arm to be lost', (ps) => ps.some((p) => p.builder === 'arm' && p.state === 'lost'), 20_000);
    expect((await where(url, ['foo', '--branch', 'main'])).stdout).toMatch(/arm\s+lost\s+lost: it did not come back within the replay window/);
    expect(m.log().filter((l) => l.event === 'overdue')).toHaveLength(1);

    // Errors: one line, exit 2.
    const none = await where(url, ['nothing']);
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toBe('simplebb: no suggestion of nothing in the master\'s record\n');
    const noProject = await fetch(`${url}/api/v1/where`, { signal: AbortSignal.timeout(10_000) });
    expect([noProject.status, await noProject.json()]).toEqual([400, { error: 'project: required (where is the newest suggestion of which project?)' }]);
    const bad = await where(url, ['foo', '--branch', '']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 90_000);
});
