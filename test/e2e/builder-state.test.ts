// A builder's state is its own: one clientd per state dir, one state dir per name, one connection per name; its inbox outlives it.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, node, ROOT_OK, script, sleep, startBuilder, startMaster, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

const HB = ['--heartbeat', '0.5'];

describe('two clientds on one host', () => {
  it('a second clientd on the same state dir refuses to start, with one line naming the dir', async () => {
    const m = await startMaster();
    const b = await startBuilder(m.port, { scripts: { foo: 'true' } });
    const state = join(b.dir, 'state');
    const second = node('clientd', ['--master', `127.0.0.1:${m.port}`, '--name', 'b1', '--scripts', b.scripts, '--state', state, '--log', join(b.dir, 'second.log'), ...ROOT_OK]);
    expect((await second.exited).code).toBe(78);
    expect(second.stderr().trim()).toBe(`simplebb-clientd: another simplebb-clientd (pid ${b.pid}) is using the state dir ${state}; give each clientd its own --state (and --name)`);
    expect(b.child.exitCode).toBeNull();
  });

  it('a clientd under a name that is connected from another state dir is refused by the master and does not knock the first off', async () => {
    const m = await startMaster();
    const first = await startBuilder(m.port, { name: 'twin', scripts: { foo: 'echo first' } });
    const second = await startBuilder(m.port, { name: 'twin', scripts: { foo: 'echo second' }, wait: false });
    await waitFor('the second to be told', () => second.log().some((l) => String(l.reason ?? '').includes('builder name twin is in use by another simplebb-clientd')), 10_000);
    await sleep(2500); // long enough for several retries of the second (--reconnect-max 1)
    expect(m.log().filter((l) => l.event === 'replaced')).toEqual([]);
    expect(m.log().filter((l) => l.event === 'connected' && l.builder === 'twin')).toHaveLength(1);
    expect(first.log().filter((l) => l.event === 'disconnected')).toEqual([]);
    const r = await suggest(m.port, ['foo', 'main', '--wait']);
    expect(r.code).toBe(0);
    expect((await waitFor('report', () => m.reports()[0])).output).toBe('first\n');
  });

  it('refuses a state dir that belongs to another builder name', async () => {
    const m = await startMaster();
    const b = await startBuilder(m.port, { name: 'owner', scripts: { foo: 'true' } });
    process.kill(b.pid, 'SIGTERM');
    await b.exited;
    const state = join(b.dir, 'state');
    const other = node('clientd', ['--master', `127.0.0.1:${m.port}`, '--name', 'someone', '--scripts', b.scripts, '--state', state, '--log', join(b.dir, 'other.log'), ...ROOT_OK]);
    expect((await other.exited).code).toBe(78);
    expect(other.stderr().trim()).toBe(`simplebb-clientd: the state dir ${state} belongs to builder owner, not someone; give this builder its own --state`);
  });

  it('with the default state dirs, two builders on one host keep their reports apart', async () => {
    const m = await startMaster();
    const home = tempDir('simplebb-home-');
    const scripts = join(home, 'scripts');
    script(scripts, 'foo', 'echo "built by $(basename $(dirname $(pwd)))"');
    const start = (name: string) => node('clientd', ['--master', `127.0.0.1:${m.port}`, '--name', name, '--scripts', scripts,
      '--work', join(home, `work-${name}`), '--log', join(home, `${name}.log`), ...ROOT_OK], { env: { HOME: home } });
    start('one');
    start('two');
    await waitFor('both connected', () => m.log().filter((l) => l.event === 'connected').length === 2, 15_000);
    expect((await suggest(m.port, ['foo', 'main', '--wait'])).code).toBe(0);
    const reps = await waitFor('two reports', () => (m.reports().length === 2 ? m.reports() : undefined));
    expect(reps.map((r) => [r.builder, r.output]).sort()).toEqual([['one', 'built by work-one\n'], ['two', 'built by work-two\n']]);
    for (const n of ['one', 'two']) {
      expect(JSON.parse(readFileSync(join(home, '.simplebb', 'state', n, 'identity.json'), 'utf8'))).toMatchObject({ builder: n });
    }
  });
});

describe('crash recovery on a host with two builders', () => {
  it('a restarted clientd ends only its own leftover build, not the same build of another builder on the host', async () => {
    const m = await startMaster({ args: HB });
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const body = `echo $$ > ${dir}/$SIMPLEBB_BUILDER.pid\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho "done on $SIMPLEBB_BUILDER"`;
    const one = await startBuilder(m.port, { name: 'one', scripts: { slow: body }, args: HB });
    const two = await startBuilder(m.port, { name: 'two', scripts: { slow: body }, args: HB });
    expect((await suggest(m.port, ['slow', 'main'])).code).toBe(0);
    await waitFor('both running', () => existsSync(join(dir, 'one.pid')) && existsSync(join(dir, 'two.pid')));
    process.kill(one.pid, 'SIGKILL');
    await one.exited;
    // As if it died in the instant between the spawn and noting the process id: the next clientd knows only the build's id.
    const inbox = join(one.dir, 'state', 'inbox.log');
    writeFileSync(inbox, readFileSync(inbox, 'utf8').split('\n').filter((l) => !l.includes('"t":"pid"')).join('\n'));
    await startBuilder(m.port, { name: 'one', dir: one.dir, args: HB });
    await waitFor('one reports its build lost', () => m.reports().some((r) => r.builder === 'one'), 10_000);
    expect(m.reports().find((r) => r.builder === 'one')).toMatchObject({ verdict: 'lost', message: expect.stringMatching(/killed [12] leftover process/) });
    writeFileSync(gate, '');
    const theirs = await waitFor('two reports', () => m.reports().find((r) => r.builder === 'two'), 10_000);
    expect(theirs).toMatchObject({ verdict: 'success', output: 'done on two\n' });
    expect(two.child.exitCode).toBeNull();
  });
});

describe('the inbox', () => {
  it('orders queued when clientd is killed -9 are built once after it restarts; the build it was running is reported lost', async () => {
    const m = await startMaster({ args: HB });
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const runs = join(dir, 'runs');
    const b = await startBuilder(m.port, {
      dir, args: [...HB, '--jobs', '1'], env: { RUNS: runs },
      scripts: {
        slow: `echo "slow $SIMPLEBB_BUILD_ID" >> "$RUNS"\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\nexit 0`,
        quick: 'echo "quick $1" >> "$RUNS"',
      },
    });
    expect((await suggest(m.port, ['slow', 'main'])).code).toBe(0);
    await waitFor('slow running', () => existsSync(runs));
    expect((await suggest(m.port, ['quick', 'a'])).code).toBe(0);
    expect((await suggest(m.port, ['quick', 'b'])).code).toBe(0);
    await waitFor('both queued', () => b.log().filter((l) => l.event === 'queued').length === 3);
    process.kill(b.pid, 'SIGKILL');
    await b.exited;
    writeFileSync(gate, ''); // the orphan now completes, with nobody to see its exit status
    await sleep(300);
    const b2 = await startBuilder(m.port, { dir, args: [...HB, '--jobs', '1'], env: { RUNS: runs } });
    await waitFor('three reports', () => m.reports().length === 3, 15_000);
    const by = (p: string) => m.reports().find((r) => r.project === p && (p === 'slow' || r.branch === 'a'));
    expect(by('slow')).toMatchObject({ verdict: 'lost', exitCode: -1, message: 'simplebb-clientd stopped while this build ran, so its exit status is unknown' });
    expect(by('slow')!.durationMs as number).toBeGreaterThan(250); // from when it began until the next clientd found it
    expect(m.reports().filter((r) => r.project === 'quick').map((r) => [r.branch, r.verdict]).sort()).toEqual([['a', 'success'], ['b', 'success']]);
    const ran = readFileSync(runs, 'utf8').split('\n').filter(Boolean);
    expect(ran.filter((l) => l.startsWith('quick')).sort()).toEqual(['quick a', 'quick b']); // once each
    expect(ran.filter((l) => l.startsWith('slow'))).toHaveLength(1); // never again
    expect(b2.log().filter((l) => l.event === 'starting').at(-1)).toMatchObject({ queued: 2 });
  });
});

describe('crash-recovery markers', () => {
  it('sets aside malformed or crafted running-build markers, acts on none of them, and still connects', async () => {
    const m = await startMaster();
    const dir = tempDir();
    const running = join(dir, 'state', 'running');
    mkdirSync(running, { recursive: true });
    // A path-escaping id, a pid of 1 (init), a name that does not match its id, and junk.
    writeFileSync(join(running, 'evil.json'), JSON.stringify({ id: '../../../../tmp/simplebb-evil', pid: 1, project: 'foo', branch: 'main' }));
    writeFileSync(join(running, 'x-1.json'), JSON.stringify({ id: 'x-2', pid: 999999, project: 'foo', branch: 'main' }));
    writeFileSync(join(running, 'junk.json'), 'not json');
    const b = await startBuilder(m.port, { dir });
    const warned = b.log().find((l) => l.event === 'marker-invalid');
    expect((warned?.files as string[]).sort()).toEqual(['evil.json', 'junk.json', 'x-1.json']);
    expect(readdirSync(join(dir, 'state', 'markers-set-aside')).sort()).toEqual(['evil.json', 'junk.json', 'x-1.json']);
    expect(existsSync(running)).toBe(false);
    expect(existsSync('/tmp/simplebb-evil')).toBe(false);
    expect(m.log().filter((l) => l.event === 'report')).toEqual([]); // nothing reported for them
  });
});
