// Labels and selectors end to end: real masterd, clientd and simplebb-suggest processes on loopback ports with temp dirs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeMaster, node, ROOT_OK, runToEnd, startBuilder, stop, startMaster, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const FOO = 'echo "built $1 on $SIMPLEBB_BUILDER"';

async function api(url: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET', signal: AbortSignal.timeout(10_000),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

type ApiBuilder = { name: string; online: boolean; labels?: Record<string, string> };

describe('labels and selectors', () => {
  it('a builder\'s labels (given and found) are in /api/v1/builders; --on builds only on matching builders', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { name: 'm1', scripts: { foo: FOO }, args: ['--label', 'arch=x64', '--label', 'pool=fast'] });
    await startBuilder(m.port, { name: 'm2', scripts: { bar: FOO }, args: ['--label', 'arch=arm64'], env: { SIMPLEBB_LABELS: 'pool=flaky,zone=eu' } });
    const { body } = await api(`${m.httpUrl!}/api/v1/builders`);
    const list = body.builders as ApiBuilder[];
    const m1 = list.find((b) => b.name === 'm1')!;
    const m2 = list.find((b) => b.name === 'm2')!;
    expect(m1.labels).toMatchObject({ arch: 'x64', pool: 'fast', os: process.platform, node: process.versions.node.split('.')[0], 'script:foo': 'true' });
    expect(Number(m1.labels!.cpus)).toBeGreaterThan(0);
    expect(m2.labels).toMatchObject({ arch: 'arm64', pool: 'flaky', zone: 'eu', 'script:bar': 'true' });

    const ok = await suggest(m.port, ['foo', 'main', '--on', 'arch in (x64,arm64) && !pool=flaky', '--wait']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/to 1 builder: m1/);
    expect(ok.stdout).toMatch(/m1\s+foo main\s+success/);
    expect(ok.stdout).not.toContain('m2');

    // Each report keeps its builder's labels: the API and simplebb history filter on them.
    expect((await suggest(m.port, ['bar', 'main', '--wait'])).code).toBe(0); // m1 reports no-script, m2 builds
    await waitFor('three reports', () => m.reports().length === 3);
    const fast = (await api(`${m.httpUrl!}/api/v1/reports?label=pool=fast`)).body.reports as Array<{ builder: string; labels?: Record<string, string> }>;
    expect(fast.map((r) => r.builder)).toEqual(['m1', 'm1']);
    expect(fast[0]!.labels).toMatchObject({ arch: 'x64', pool: 'fast' });
    expect((await api(`${m.httpUrl!}/api/v1/reports?label=zone=eu`)).body.reports).toMatchObject([{ builder: 'm2', project: 'bar', verdict: 'success' }]);
    expect(await api(`${m.httpUrl!}/api/v1/reports?label=zone`)).toEqual({ status: 400, body: { error: 'label: label "zone" is not KEY=VALUE' } });
    const hist = await runToEnd('simplebb', ['--url', m.httpUrl!, 'history', '--label', 'arch=arm64']);
    expect(hist.code).toBe(0);
    expect(hist.stdout).toMatch(/bar\s+main\s+m2\s+success/);
    expect(hist.stdout).not.toContain('m1');
    const badHist = await runToEnd('simplebb', ['--url', m.httpUrl!, 'history', '--label', 'arch']);
    expect(badHist.code).toBe(2);
    expect(badHist.stderr).toMatch(/--label: label "arch" is not KEY=VALUE/);
  });

  it('a selector nobody matches exits 3 at once naming the closest misses; --dry-run prints who would build', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { name: 'm1', scripts: { foo: FOO }, args: ['--label', 'arch=x64'] });
    await startBuilder(m.port, { name: 'm2', scripts: { other: FOO }, args: ['--label', 'arch=arm64'] });
    const none = await suggest(m.port, ['foo', 'main', '--on', 'arch=arm64', '--wait'], { timeoutMs: 10_000 });
    expect(none.code).toBe(3);
    expect(none.stderr).toBe('simplebb-suggest: no builder matches arch=arm64: m1 lacks arch=arm64 (has arch=x64); m2 has no script foo\n');
    expect(none.stdout).toBe('');

    const dry = await suggest(m.port, ['foo', 'main', '--on', 'arch=x64 || arch=arm64', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe('would build foo main on 1 builder: m1\n  not m2: has no script foo\n');
    const dryNone = await suggest(m.port, ['foo', 'main', '--on', 'arch=riscv64', '--dry-run']);
    expect(dryNone.code).toBe(3);
    // Neither made a suggestion.
    expect((await api(`${m.httpUrl!}/api/v1/suggestions`)).body.suggestions).toEqual([]);

    const bad = await suggest(m.port, ['foo', 'main', '--on', 'arch=x64 &&']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('simplebb-suggest: --on: selector: column 12: expected a label name, "!" or "(", got the end\n');

    // The API: 422 with the parse error or the misses, a dry run, and a suggestion that goes to m1 only.
    const url = `${m.httpUrl!}/api/v1/suggestions`;
    const parse = await api(url, { method: 'POST', body: { project: 'foo', branch: 'main', on: 'arch in x64' } });
    expect(parse).toEqual({ status: 422, body: { error: 'on: selector: column 9: expected "(" after "in", got "x64"' } });
    const miss = await api(url, { method: 'POST', body: { project: 'foo', branch: 'main', on: 'arch=arm64' } });
    expect(miss.status).toBe(422);
    expect(miss.body.error).toMatch(/^no builder matches arch=arm64: m1 lacks arch=arm64/);
    const dryApi = await api(url, { method: 'POST', body: { project: 'foo', branch: 'main', on: 'arch=x64', dryRun: true } });
    expect(dryApi).toMatchObject({ status: 200, body: { dryRun: true, builders: ['m1'], later: [], misses: [{ builder: 'm2', why: 'lacks arch=x64 (has arch=arm64), has no script foo' }] } });
    const made = await api(url, { method: 'POST', body: { project: 'foo', branch: 'main', on: 'arch=x64' } });
    expect(made).toMatchObject({ status: 201, body: { count: 1, builders: ['m1'] } });

    // simplebb suggest --on goes the same way: exit 3 naming the misses, 2 for a selector that does not parse.
    const cliNone = await runToEnd('simplebb', ['--url', m.httpUrl!, 'suggest', 'foo', 'main', '--on', 'arch=arm64']);
    expect(cliNone.code).toBe(3);
    expect(cliNone.stderr).toMatch(/no builder matches arch=arm64: m1 lacks arch=arm64/);
    const cliOk = await runToEnd('simplebb', ['--url', m.httpUrl!, 'suggest', 'foo', 'main', '--on', 'arch=x64']);
    expect(cliOk.code).toBe(0);
    expect(cliOk.stdout).toMatch(/to 1 builder: m1/);
    expect((await runToEnd('simplebb', ['--url', m.httpUrl!, 'suggest', 'foo', 'main', '--on', '(arch=x64'])).code).toBe(2);
  });

  it('a builder away within the replay window still counts as known, and gets the build when back; a new label is used without a restart', async () => {
    const m = await startMaster();
    const dir = tempDir('simplebb-builder-');
    const labelsFile = join(dir, 'labels');
    writeFileSync(labelsFile, 'pool=slow\n');
    const b = await startBuilder(m.port, { name: 'm1', dir, scripts: { foo: FOO }, args: ['--labels-file', labelsFile] });
    expect((await suggest(m.port, ['foo', 'main', '--on', 'pool=fast'])).code).toBe(3);
    writeFileSync(labelsFile, '# changed\npool=fast\n');
    await waitFor('the new label at the master', async () => {
      const list = (await api(`${m.httpUrl!}/api/v1/builders`)).body.builders as ApiBuilder[];
      return list[0]?.labels?.pool === 'fast';
    });
    const live = await suggest(m.port, ['foo', 'main', '--on', 'pool=fast', '--wait']);
    expect(live.code, live.stdout + live.stderr).toBe(0);

    b.child.kill('SIGKILL');
    await waitFor('m1 away', async () => ((await api(`${m.httpUrl!}/api/v1/builders`)).body.builders as ApiBuilder[])[0]?.online === false);
    const later = await suggest(m.port, ['foo', 'dev', '--on', 'pool=fast']);
    expect(later.code, later.stdout + later.stderr).toBe(0);
    expect(later.stdout).toMatch(/to 0 builders/);
    await startBuilder(m.port, { name: 'm1', dir, scripts: { foo: FOO }, args: ['--labels-file', labelsFile] });
    await waitFor('the replayed build', () => m.reports().some((r) => r.branch === 'dev' && r.verdict === 'success'));
  });

  it('with a master whose greeting offers no labels (an older one), clientd sends none and simplebb-suggest --on says why', async () => {
    const old = await fakeMaster();
    let b;
    try {
      b = await startBuilder(old.port, { name: 'm1', scripts: { foo: FOO }, args: ['--label', 'pool=fast'] });
      const hello = await waitFor('the hello', () => old.received.find((m) => m.type === 'hello'));
      expect(hello).toMatchObject({ role: 'builder', name: 'm1' });
      expect(hello).not.toHaveProperty('labels');
      const r = await suggest(old.port, ['foo', 'main', '--on', 'pool=fast']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`simplebb-suggest: cannot reach master at 127.0.0.1:${old.port}: it does not take --on or --dry-run (fake; upgrade the master)\n`);
    } finally {
      if (b) await stop(b);
      await old.close();
    }
  });

  it('clientd refuses a bad label or labels file at start with one line and exit 78', async () => {
    const dir = tempDir('simplebb-builder-');
    const base = ['--master', '127.0.0.1:1', '--scripts', dir, '--create-scripts-dir', '--work', join(dir, 'w'), '--state', join(dir, 's'), ...ROOT_OK];
    const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
      [['--label', 'pool'], {}, 'simplebb-clientd: --label: label "pool" is not KEY=VALUE\n'],
      [[], { SIMPLEBB_LABELS: 'pool=a b' }, 'simplebb-clientd: --label: label "pool=a b": a label value must be 1 to 128 letters, digits, ".", "_", "-", "+", ":" or "/"\n'],
      [['--label', 'script:foo=true'], {}, 'simplebb-clientd: --label: label "script:foo=true": script: labels come from the buildscripts dir, one per script\n'],
    ];
    for (const [args, env, line] of cases) {
      const p = node('clientd', [...base, ...args], { env });
      expect((await p.exited).code).toBe(78);
      expect(p.stderr()).toBe(line);
    }
    writeFileSync(join(dir, 'labels'), 'pool=fast\nzone\n');
    const f = node('clientd', [...base, '--labels-file', join(dir, 'labels'), '--log', join(dir, 'log')]);
    expect((await f.exited).code).toBe(78);
    expect(f.stderr()).toMatch(/^simplebb-clientd: --labels-file: .*labels: line 2: label "zone" is not KEY=VALUE\n$/);
  });
});
