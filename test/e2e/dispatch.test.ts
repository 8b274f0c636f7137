// Dispatch to one builder (`--one`) end to end: real masterd, clientd and simplebb-suggest processes on loopback ports with temp dirs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, node, runToEnd, startBuilder, startMaster, stop, suggest, tempDir, waitFor } from '../helpers.js';

/** Build processes the tests' scripts left behind (a builder killed -9 leaves its build running): ended by PID. */
const pidFiles: string[] = [];
afterEach(async () => {
  for (const f of pidFiles.splice(0)) {
    if (!existsSync(f)) continue;
    for (const pid of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
  }
  await cleanup();
});

/** A script that waits (bounded) for `gate` to exist, then says where it ran. */
const gated = (gate: string): string => `for i in $(seq 1 400); do [ -e ${gate} ] && break; sleep 0.05; done; echo "built $1 on $SIMPLEBB_BUILDER"`;

type Line = Record<string, unknown>;
const reportsOf = (reports: Line[], id: string): Line[] => reports.filter((r) => r.id === id);
const idOf = (stdout: string): string => /as (\S+) /.exec(stdout)![1]!;

/** A master with one builder (m1, one job) busy with a `--one` build that waits for `gate`. */
async function oneBusyBuilder(): Promise<{ m: Awaited<ReturnType<typeof startMaster>>; gate: string; running: { stdout: string } }> {
  const gate = join(tempDir(), 'gate');
  const m = await startMaster();
  await startBuilder(m.port, { name: 'm1', scripts: { foo: gated(gate) }, args: ['--jobs', '1'] });
  const running = await suggest(m.port, ['foo', 'one', '--one']);
  expect(running.stdout).toMatch(/to 1 builder: m1/);
  return { m, gate, running };
}

describe('--one', () => {
  it('goes to one free builder, waits in the queue while none is free, and refuses at once when no builder has the script', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster();
    await startBuilder(m.port, { name: 'm1', scripts: { foo: gated(gate) }, args: ['--jobs', '1'] });
    await startBuilder(m.port, { name: 'm2', scripts: { foo: gated(gate) }, args: ['--jobs', '1'] });
    const first = await suggest(m.port, ['foo', 'one', '--one']);
    const second = await suggest(m.port, ['foo', 'two', '--one']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/to 1 builder: m[12]\n$/);
    expect(second.stdout).toMatch(/to 1 builder: m[12]\n$/);
    // Least recently given first: the second goes to the other builder.
    expect(first.stdout.trim().slice(-2)).not.toBe(second.stdout.trim().slice(-2));
    const third = await suggest(m.port, ['foo', 'three', '--one']);
    expect(third.code).toBe(0);
    expect(third.stdout).toMatch(/to one builder: queued, 0 of foo before it\n$/);
    await waitFor('queued event', () => m.log().some((l) => l.event === 'queued' && l.id === idOf(third.stdout)));
    // What waits, and why: simplebb queue, the API, and where.
    const q = await runToEnd('simplebb', ['--url', m.httpUrl!, 'queue']);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(new RegExp(`${idOf(third.stdout)}\\s+foo\\s+three\\s+1 of 3 .*every builder that can build it is busy \\(m1 1 of 1, m2 1 of 1\\)`));
    const w = await runToEnd('simplebb', ['--url', m.httpUrl!, 'where', 'foo', '--branch', 'three']);
    expect(w.stdout).toMatch(/\(next free\)\s+queued\s+queued \(behind 0 of foo\): every builder that can build it is busy/);
    expect(w.stdout).not.toMatch(/^m[12]/m); // only the builders it went to are expected: none yet
    const pageHtml = await (await fetch(`${m.httpUrl!}/s/${idOf(third.stdout)}`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(pageHtml).toContain('one builder (--one), offered again up to 2 times if lost with its builder');
    expect(pageHtml).toMatch(/Queued, behind 0 of foo: every builder that can build it is busy \(m1 1 of 1, m2 1 of 1\)\./);

    const none = await suggest(m.port, ['bar', 'main', '--one', '--wait'], { timeoutMs: 10_000 });
    expect(none.code).toBe(3);
    expect(none.stderr).toBe('simplebb-suggest: no builder has the script bar: m1 has no script bar; m2 has no script bar\n');

    writeFileSync(gate, '');
    await waitFor('three reports', () => m.reports().length === 3, 20_000);
    for (const out of [first, second, third]) {
      const got = reportsOf(m.reports(), idOf(out.stdout));
      expect(got).toHaveLength(1); // to one builder, never to both
      expect(got[0]).toMatchObject({ verdict: 'success' });
    }
    const dispatched = m.log().find((l) => l.event === 'dispatched' && l.id === idOf(third.stdout));
    expect(dispatched).toMatchObject({ attempt: 1 });
  });

  it('a queued order survives kill -9 of the master and is built when a builder is free', async () => {
    const { m, gate, running } = await oneBusyBuilder();
    const queued = await suggest(m.port, ['foo', 'two', '--one']);
    expect(queued.stdout).toMatch(/queued, 0 of foo before it/);
    await stop(m, 'SIGKILL');
    const again = await startMaster({ dir: m.dir, port: m.port });
    writeFileSync(gate, '');
    await waitFor('both built', () => again.reports().length === 2, 30_000);
    expect(reportsOf(again.reports(), idOf(queued.stdout))).toMatchObject([{ builder: 'm1', verdict: 'success' }]);
    expect(reportsOf(again.reports(), idOf(running.stdout))).toMatchObject([{ builder: 'm1', verdict: 'success' }]);
  });

  it('cancel takes a queued order out of the queue: it never runs, and its waiter hears cancelled', async () => {
    const { m, gate, running } = await oneBusyBuilder();
    const waiter = node('suggest', ['-p', String(m.port), 'foo', 'two', '--one', '--wait']);
    const queued = await waitFor('the second queued', () => /as (\S+) to one builder: queued/.exec(waiter.stdout())?.[1]);
    const c = await runToEnd('simplebb', ['--url', m.httpUrl!, 'cancel', queued, '--reason', 'not needed']);
    expect(c.code).toBe(0);
    expect(c.stdout).toBe(`${queued}: taken out of the queue before any builder had it\n`);
    const done = await waitFor('the waiter to finish', () => waiter.child.exitCode !== null && { code: waiter.child.exitCode }, 15_000);
    expect(done.code).toBe(1);
    expect(waiter.stdout()).toMatch(/queue\s+foo two\s+cancelled .*cancelled by 127\.0\.0\.1 \(http\): not needed while it was queued/);
    expect((await runToEnd('simplebb', ['--url', m.httpUrl!, 'queue'])).stdout).toBe('nothing is queued\n');
    writeFileSync(gate, '');
    await waitFor('the first built', () => m.reports().length === 1, 20_000);
    await new Promise((r) => setTimeout(r, 500)); // the freed builder would have been given the cancelled order by now
    expect(m.reports().map((r) => r.id)).toEqual([idOf(running.stdout)]);
    expect(m.log().some((l) => l.event === 'dispatched' && l.id === queued)).toBe(false);
  });

  it('a build lost with its builder (kill -9) is built once elsewhere; the first attempt is recorded lost', async () => {
    const dir = tempDir();
    const pids = join(dir, 'pids');
    pidFiles.push(pids);
    const m = await startMaster({ args: ['--replay-window', '1'] });
    const m1 = await startBuilder(m.port, { name: 'm1', scripts: { foo: `echo $$ >> ${pids}; exec sleep 30` } });
    const waiter = node('suggest', ['-p', String(m.port), 'foo', 'main', '--one', '--wait']);
    await waitFor('the build to start on m1', () => existsSync(pids) && readFileSync(pids, 'utf8').trim() !== '', 15_000);
    await startBuilder(m.port, { name: 'm2', scripts: { foo: 'echo "built $1 on $SIMPLEBB_BUILDER"' } });
    await stop(m1, 'SIGKILL');
    const done = await waitFor('the waiter to finish', () => waiter.child.exitCode !== null && { code: waiter.child.exitCode }, 20_000);
    expect(done.code).toBe(0);
    expect(waiter.stdout()).toMatch(/m1\s+foo main\s+lost with it; offered to another builder/);
    expect(waiter.stdout()).toMatch(/m2\s+foo main\s+success/);
    const id = idOf(waiter.stdout());
    const got = reportsOf(m.reports(), id);
    expect(got.map((r) => [r.builder, r.verdict])).toEqual([['m1', 'lost'], ['m2', 'success']]);
    expect(String(got[0]!.message)).toMatch(/did not come back within the replay window .*; offered to another builder \(attempt 2 of 3\)/);
    expect(m.log().find((l) => l.event === 'dispatched' && l.builder === 'm2')).toMatchObject({ id, attempt: 2 });
  });

  it('a build whose clientd died while it ran (its next clientd reports lost) is built once elsewhere', async () => {
    const dir = tempDir();
    const pids = join(dir, 'pids');
    pidFiles.push(pids);
    const m = await startMaster();
    const m1 = await startBuilder(m.port, { name: 'm1', scripts: { foo: `echo $$ >> ${pids}; exec sleep 30` } });
    const waiter = node('suggest', ['-p', String(m.port), 'foo', 'main', '--one', '--retries', '1', '--wait']);
    await waitFor('the build to start on m1', () => existsSync(pids) && readFileSync(pids, 'utf8').trim() !== '', 15_000);
    await startBuilder(m.port, { name: 'm2', scripts: { foo: 'echo "built $1 on $SIMPLEBB_BUILDER"' } });
    await stop(m1, 'SIGKILL');
    await startBuilder(m.port, { name: 'm1', dir: m1.dir }); // the same state dir: it reports the build it left unfinished
    const done = await waitFor('the waiter to finish', () => waiter.child.exitCode !== null && { code: waiter.child.exitCode }, 20_000);
    expect(done.code).toBe(0);
    const got = reportsOf(m.reports(), idOf(waiter.stdout()));
    expect(got.map((r) => [r.builder, r.verdict])).toEqual([['m1', 'lost'], ['m2', 'success']]);
    expect(String(got[0]!.message)).toMatch(/simplebb-clientd stopped while this build ran.*; offered to another builder \(attempt 2 of 2\)/);
  });

  it('--each LABEL builds once per distinct value of the label, on one builder each', async () => {
    const m = await startMaster();
    const say = 'echo "built $1 on $SIMPLEBB_BUILDER"';
    await startBuilder(m.port, { name: 'm1', scripts: { foo: say }, args: ['--label', 'arch=x64'] });
    await startBuilder(m.port, { name: 'm2', scripts: { foo: say }, args: ['--label', 'arch=arm64'] });
    await startBuilder(m.port, { name: 'm3', scripts: { foo: say }, args: ['--label', 'arch=x64'] });
    const r = await suggest(m.port, ['foo', 'main', '--each', 'arch', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/suggested foo main for arch=arm64 as \S+ to 1 builder: m2/);
    expect(r.stdout).toMatch(/suggested foo main for arch=x64 as \S+ to 1 builder: m[13]/);
    await waitFor('two reports', () => m.reports().length === 2);
    expect(m.reports().map((x) => x.builder).sort()).toEqual(expect.arrayContaining(['m2']));
    expect(new Set(m.reports().map((x) => x.id)).size).toBe(2);
    const none = await suggest(m.port, ['foo', 'main', '--each', 'zone', '--wait'], { timeoutMs: 10_000 });
    expect(none.code).toBe(3);
    expect(none.stderr).toBe('simplebb-suggest: no builder that can build foo has the label zone (--each zone)\n');
  });
});
