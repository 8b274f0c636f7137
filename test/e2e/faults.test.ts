// Nothing lost, nothing stuck: real processes killed, stopped and restarted mid-build.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, keptReports, node, startBuilder, startMaster, stop, tempDir, waitFor, type Builder, type Master } from '../helpers.js';

afterEach(cleanup);

const HB = ['--heartbeat', '0.5'];

/** A script that prints, then waits for a gate file (in its work dir's parent) before it ends. */
const gated = (gate: string, exit = 0): string => `echo "pid $$"\necho $$ > ${gate}.pid\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho done\nexit ${exit}`;

/** Whether a process is alive (a zombie counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const reportsOf = (m: Master, id: string) => m.reports().filter((r) => r.id === id);
const spooled = (b: Builder) => keptReports(join(b.dir, 'state'));
async function suggestedId(m: Master, n = 1): Promise<string> {
  return waitFor('suggestion', () => m.log().filter((l) => l.event === 'suggestion')[n - 1]?.id as string | undefined);
}

describe('master crashes', () => {
  it('kill -9 mid-build: after a restart on the same port and data dir the report is stored and logged exactly once', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster({ dir, args: HB });
    const b = await startBuilder(m.port, { scripts: { slow: gated(gate) }, args: HB });
    node('suggest', ['-p', String(m.port), 'slow', 'main']);
    const id = await suggestedId(m);
    await waitFor('build start', () => b.log().some((l) => l.event === 'started'));
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    writeFileSync(gate, '');
    await waitFor('build to finish and spool', () => b.log().some((l) => l.event === 'finished') && spooled(b).length === 1);
    const m2 = await startMaster({ dir, port: m.port, args: HB });
    await waitFor('report after restart', () => reportsOf(m2, id).length === 1, 15_000);
    await waitFor('ack empties the spool', () => spooled(b).length === 0, 10_000);
    // Another round trip through the master, so a second log line would have had time to appear.
    expect(await node('suggest', ['-p', String(m.port), 'slow', 'main']).exited).toMatchObject({ code: 0 });
    expect(reportsOf(m2, id)).toHaveLength(1);
    expect(reportsOf(m2, id)[0]).toMatchObject({ verdict: 'success', output: expect.stringContaining('done') });
  });

  it('a report spooled while the master was down survives a kill -9 of clientd too', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster({ dir, args: HB });
    const bdir = tempDir();
    const b = await startBuilder(m.port, { dir: bdir, scripts: { slow: gated(gate, 1) }, args: HB });
    node('suggest', ['-p', String(m.port), 'slow', 'main']);
    const id = await suggestedId(m);
    await waitFor('build start', () => b.log().some((l) => l.event === 'started'));
    process.kill(m.pid, 'SIGKILL');
    writeFileSync(gate, '');
    await waitFor('report spooled', () => spooled(b).length === 1);
    process.kill(b.pid, 'SIGKILL');
    await b.exited;
    const m2 = await startMaster({ dir, port: m.port, args: HB });
    const b2 = await startBuilder(m.port, { dir: bdir, args: HB });
    await waitFor('spooled report delivered', () => reportsOf(m2, id).length === 1, 15_000);
    expect(reportsOf(m2, id)[0]).toMatchObject({ verdict: 'failure', exitCode: 1 });
    await waitFor('spool empty', () => spooled(b2).length === 0);
  });
});

describe('builder dies', () => {
  it('kill -9 mid-build: the waiter hears the builder went away; the restarted clientd ends the orphan and reports it lost, not failed', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster({ args: HB });
    const bdir = tempDir();
    const b = await startBuilder(m.port, { dir: bdir, scripts: { slow: gated(gate) }, args: HB });
    const waiter = node('suggest', ['-p', String(m.port), 'slow', 'main', '--wait', '--timeout', '20']);
    await waitFor('build start', () => existsSync(`${gate}.pid`) && b.log().some((l) => l.event === 'started'));
    const scriptPid = Number(readFileSync(`${gate}.pid`, 'utf8'));
    process.kill(b.pid, 'SIGKILL');
    await waitFor('waiter told the builder went away', () => /b1\s+slow main\s+away \(/.test(waiter.stdout()), 5000);
    expect(waiter.child.exitCode).toBeNull(); // not lost yet: the builder has the replay window to come back
    expect(alive(scriptPid)).toBe(true); // orphaned: nobody left to end it
    const b2 = await startBuilder(m.port, { dir: bdir, args: HB });
    await waitFor('leftover build killed', () => !alive(scriptPid));
    const r = await waitFor('waiter to exit', () => (waiter.child.exitCode !== null ? waiter.child.exitCode : undefined), 10_000);
    expect(r).toBe(1);
    expect(waiter.stdout()).toMatch(/b1\s+slow main\s+lost\s+exit -1/);
    const id = m.log().find((l) => l.event === 'suggestion')!.id as string;
    await waitFor('report', () => reportsOf(m, id).length === 1);
    expect(reportsOf(m, id)[0]).toMatchObject({
      verdict: 'lost', message: expect.stringMatching(/^simplebb-clientd stopped while this build ran, so its exit status is unknown; killed [12] leftover process/),
    });
    const sinceRestart = b2.log().slice(b2.log().map((l) => l.event).lastIndexOf('starting'));
    expect(sinceRestart.filter((l) => l.event === 'started')).toEqual([]); // never run a second time
  });

  it('SIGSTOP: declared dead within three heartbeats, the waiter keeps waiting; after SIGCONT the real report arrives', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster({ args: HB });
    const b = await startBuilder(m.port, { scripts: { slow: gated(gate) }, args: HB });
    const waiter = node('suggest', ['-p', String(m.port), 'slow', 'main', '--wait', '--timeout', '20']);
    await waitFor('build start', () => b.log().some((l) => l.event === 'started'));
    process.kill(b.pid, 'SIGSTOP');
    try {
      const gone = await waitFor('master to declare the builder dead', () => m.log().find((l) => l.event === 'disconnected'), 5000);
      expect(gone.reason).toMatch(/heartbeat/);
      await waitFor('waiter told', () => waiter.stdout().includes('away'), 3000);
      expect(waiter.child.exitCode).toBeNull();
      writeFileSync(gate, '');
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    const id = m.log().find((l) => l.event === 'suggestion')!.id as string;
    await waitFor('reconnect', () => b.log().filter((l) => l.event === 'connected').length >= 2, 10_000);
    expect((await waiter.exited).code).toBe(0);
    expect(reportsOf(m, id).map((r) => r.verdict)).toEqual(['success']);
  });
});

describe('builder trouble', () => {
  it('a work dir that cannot be created fails that build, not the builder', async () => {
    const m = await startMaster();
    const b = await startBuilder(m.port, { scripts: { foo: 'echo foo', bar: 'echo bar' } });
    mkdirSync(join(b.dir, 'work'), { recursive: true });
    writeFileSync(join(b.dir, 'work', 'foo'), 'a file where the work dir should be');
    const r = await node('suggest', ['-p', String(m.port), 'foo', 'main', '--wait', '--timeout', '15']).exited;
    expect(r.code).toBe(1);
    const rep = await waitFor('report', () => m.reports()[0]);
    expect(rep).toMatchObject({ verdict: 'failure', exitCode: -1, message: expect.stringMatching(/^cannot create the work dir .*foo: it exists and is not a directory$/) });
    expect(b.child.exitCode).toBeNull();
    expect((await node('suggest', ['-p', String(m.port), 'bar', 'main', '--wait', '--timeout', '15']).exited).code).toBe(0);
  });

  it('a spool far larger than the socket buffers is delivered without the builder cutting its own link', async () => {
    const m = await startMaster();
    const bdir = tempDir();
    // Where simplebb 0.1 spooled (the top of the state dir): clientd moves them into its inbox journal at start.
    const spool = join(bdir, 'state');
    mkdirSync(spool, { recursive: true });
    const uname = { type: 'Linux', release: 'x', version: 'x', machine: 'x', hostname: 'x' };
    const output = 'y'.repeat(1024 * 1024);
    // 60 reports of 1 MiB output each: 60 MiB, over the 32 MiB a peer may leave unread.
    for (let i = 0; i < 60; i++) {
      const id = `old-${i}`;
      writeFileSync(join(spool, `${String(Date.now() + i).padStart(15, '0')}-000000-${id}.json`), JSON.stringify({
        id, project: 'foo', branch: 'main', exitCode: 0, verdict: 'success', durationMs: 1, uname, node: 'v20',
        output, outputBytes: output.length, outputCut: 0,
      }));
    }
    const b = await startBuilder(m.port, { dir: bdir, scripts: { foo: 'true' } });
    await waitFor('spool drained', () => spooled(b).length === 0, 60_000, 100);
    expect(readdirSync(spool).filter((f) => f.endsWith('.json'))).toEqual(['identity.json']);
    expect(b.log().filter((l) => l.event === 'disconnected')).toEqual([]);
    // This master never made them: each is refused, and logged at the rate one connection is allowed (a burst of 10).
    const refused = m.log().filter((l) => l.event === 'unknown-report');
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.length).toBeLessThan(60);
  }, 90_000);
});

describe('replay', () => {
  it('a builder back within the replay window gets what it missed, newest per project and branch, the older superseded', async () => {
    const m = await startMaster();
    const bdir = tempDir();
    const b = await startBuilder(m.port, { dir: bdir, scripts: { foo: 'echo "foo $1 $SIMPLEBB_REVISION"' } });
    process.kill(b.pid, 'SIGKILL');
    await b.exited;
    await waitFor('master to notice', () => m.log().some((l) => l.event === 'disconnected'));
    for (const [project, branch, rev] of [['foo', 'main', 'aaaa'], ['foo', 'main', 'bbbb'], ['foo', 'dev', 'cccc'], ['bar', 'main', 'dddd']]) {
      expect((await node('suggest', ['-p', String(m.port), project!, branch!, '--revision', rev!]).exited).code).toBe(0);
    }
    const b2 = await startBuilder(m.port, { dir: bdir });
    await waitFor('four reports', () => m.reports().length === 4, 20_000);
    const by = (rev: string) => m.reports().find((r) => r.revision === rev);
    expect(by('aaaa')).toMatchObject({ verdict: 'superseded', message: expect.stringMatching(/^superseded by .* while builder b1 was away$/) });
    expect(by('bbbb')).toMatchObject({ verdict: 'success', output: 'foo main bbbb\n' });
    expect(by('cccc')).toMatchObject({ verdict: 'success', output: 'foo dev cccc\n' });
    expect(by('dddd')).toMatchObject({ verdict: 'no-script' }); // as it would have been had b1 been there
    expect(b2.log().filter((l) => l.event === 'queued').map((l) => l.replayed)).toEqual([true, true]);
  });

  it('a builder gone longer than the replay window gets nothing', async () => {
    const m = await startMaster({ args: ['--replay-window', '0.2'] });
    const bdir = tempDir();
    const b = await startBuilder(m.port, { dir: bdir, scripts: { foo: 'echo foo' } });
    process.kill(b.pid, 'SIGKILL');
    await waitFor('master to notice', () => m.log().some((l) => l.event === 'disconnected'));
    expect((await node('suggest', ['-p', String(m.port), 'foo', 'main']).exited).code).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    const b2 = await startBuilder(m.port, { dir: bdir });
    // A fresh suggestion after it is back shows the builder is working, and that nothing older came first.
    expect((await node('suggest', ['-p', String(m.port), 'foo', 'dev', '--wait']).exited).code).toBe(0);
    expect(b2.log().filter((l) => l.event === 'queued').map((l) => l.replayed)).toEqual([false]);
  });
});

describe('timeouts, process groups and shutdown', () => {
  it('a timed-out build loses its whole process group, grandchildren in the background included', async () => {
    const dir = tempDir();
    const m = await startMaster();
    await startBuilder(m.port, {
      scripts: { hang: `sleep 1000 &\necho $! > ${dir}/bg.pid\necho $$ > ${dir}/sh.pid\nsleep 1000` },
      args: ['--timeout', '0.5', '--kill-grace', '0.5'],
    });
    const r = await node('suggest', ['-p', String(m.port), 'hang', 'main', '--wait', '--timeout', '15']).exited;
    expect(r.code).toBe(1);
    const rep = await waitFor('report', () => m.reports()[0]);
    expect(rep).toMatchObject({ verdict: 'timeout', signal: 'SIGTERM', exitCode: 143, message: 'build timed out after 0.5 s' });
    const pids = ['bg.pid', 'sh.pid'].map((f) => Number(readFileSync(join(dir, f), 'utf8')));
    await waitFor('every process of the build to be gone', () => pids.every((p) => !alive(p)), 3000);
  });

  it('a build that exits leaves nothing running behind it', async () => {
    const dir = tempDir();
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { bg: `sleep 1000 &\necho $! > ${dir}/bg.pid\necho spawned` }, args: ['--kill-grace', '0.5'] });
    const r = await node('suggest', ['-p', String(m.port), 'bg', 'main', '--wait', '--timeout', '15']).exited;
    expect(r.code).toBe(0);
    const bg = Number(readFileSync(join(dir, 'bg.pid'), 'utf8'));
    await waitFor('background child gone', () => !alive(bg), 3000);
  });

  it('SIGTERM during a build: clientd kills it after the grace period, spools the report, exits 0, and delivers it later', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster({ dir });
    const bdir = tempDir();
    const b = await startBuilder(m.port, { dir: bdir, scripts: { slow: gated(gate) }, args: ['--shutdown-grace', '0.3', '--kill-grace', '0.3'] });
    node('suggest', ['-p', String(m.port), 'slow', 'main']);
    const id = await suggestedId(m);
    await waitFor('build start', () => existsSync(`${gate}.pid`));
    const scriptPid = Number(readFileSync(`${gate}.pid`, 'utf8'));
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    expect(await stop(b, 'SIGTERM', 10_000)).toEqual({ code: 0, signal: null });
    expect(alive(scriptPid)).toBe(false);
    const kept = keptReports(join(bdir, 'state'));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ id, verdict: 'failure', signal: 'SIGTERM' });
    const m2 = await startMaster({ dir, port: m.port });
    await startBuilder(m2.port, { dir: bdir });
    await waitFor('delivered', () => reportsOf(m2, id).length === 1, 10_000);
  });

  it('masterd exits 0 on SIGTERM', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { foo: 'echo hi' } });
    expect(await stop(m, 'SIGTERM', 6000)).toEqual({ code: 0, signal: null });
    expect(m.log().at(-1)).toMatchObject({ event: 'stopped' });
  });
});

describe('concurrency', () => {
  it('never builds one project and branch twice at once; queued duplicates are superseded by the newest', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const m = await startMaster();
    const b = await startBuilder(m.port, { scripts: { slow: gated(gate), quick: 'echo quick' }, args: ['--jobs', '2'] });
    const first = node('suggest', ['-p', String(m.port), 'slow', 'main', '--wait', '--timeout', '20']);
    await waitFor('first build running', () => b.log().some((l) => l.event === 'started'));
    const second = node('suggest', ['-p', String(m.port), 'slow', 'main', '--wait', '--timeout', '20']);
    await waitFor('second queued', () => b.log().filter((l) => l.event === 'queued').length === 2);
    const third = node('suggest', ['-p', String(m.port), 'slow', 'main', '--wait', '--timeout', '20']);
    expect((await second.exited).code).toBe(3); // superseded: it never ran
    expect(second.stdout()).toContain('superseded');
    // The second job slot is free for other work meanwhile.
    expect((await node('suggest', ['-p', String(m.port), 'quick', 'main', '--wait', '--timeout', '20']).exited).code).toBe(0);
    expect(b.log().filter((l) => l.event === 'started' && l.project === 'slow')).toHaveLength(1);
    writeFileSync(gate, '');
    expect((await first.exited).code).toBe(0);
    expect((await third.exited).code).toBe(0);
  });
});
