// A real master on the PostgreSQL store (--store postgres://…) with a real builder: a report survives kill -9 of the master.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, node, startBuilder, startMaster, stop, suggest, tempDir, waitFor } from '../helpers.js';
import { pgAvailable, startPg, stopAllPg, type PgServer } from '../pgServer.js';

const havePg = pgAvailable();
let server: PgServer | undefined;

beforeAll(async () => {
  if (havePg) server = await startPg();
}, 90_000);
afterEach(cleanup);
afterAll(stopAllPg, 60_000);

/** One API read, bounded to 5 s. */
async function api(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, ...(await res.json() as Record<string, unknown>) };
}

describe.skipIf(!havePg)('simplebb-masterd --store postgres://', () => {
  it('stores a build on PostgreSQL, not SQLite, and still has it after kill -9 of the master and a new start', async () => {
    const store = await server!.database('e2e');
    const m = await startMaster({ args: ['--store', store] });
    const b = await startBuilder(m.port, { name: 'b1', scripts: { foo: 'echo "built $1"' } });
    expect((await suggest(m.port, ['foo', 'main', '--wait'])).code).toBe(0);
    const reports = await api(`${m.httpUrl!}/api/v1/reports?project=foo`);
    expect(reports.reports).toEqual([expect.objectContaining({ project: 'foo', branch: 'main', builder: 'b1', verdict: 'success', seq: 1 })]);
    expect(existsSync(join(m.dir, 'data', 'simplebb.db'))).toBe(false);
    const id = (reports.reports as Array<{ id: string }>)[0]!.id;

    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    const again = await startMaster({ dir: m.dir, port: m.port, args: ['--store', store] });
    expect(await api(`${again.httpUrl!}/api/v1/reports/${id}/b1`)).toMatchObject({ status: 200, verdict: 'success', output: 'built main\n' });
    // The builder comes back to the new master, and the log goes on from where it was.
    await waitFor('the builder back', () => b.log().filter((l) => l.event === 'connected').length >= 2, 15_000);
    expect((await suggest(again.port, ['foo', 'dev', '--wait'])).code).toBe(0);
    const seqs = ((await api(`${again.httpUrl!}/api/v1/reports?project=foo`)).reports as Array<{ seq: number; branch: string }>).map((r) => `${r.branch}:${r.seq}`);
    expect(seqs).toEqual(['dev:2', 'main:1']);
  }, 90_000);

  it('queues a --one suggestion on PostgreSQL: it survives kill -9 of the master and is built once a builder is free', async () => {
    const store = await server!.database('e2e_one');
    const gate = join(tempDir(), 'gate');
    const m = await startMaster({ args: ['--store', store] });
    await startBuilder(m.port, { name: 'b1', scripts: { foo: `for i in $(seq 1 400); do [ -e ${gate} ] && break; sleep 0.05; done; echo "built $1"` }, args: ['--jobs', '1'] });
    expect((await suggest(m.port, ['foo', 'one', '--one'])).stdout).toMatch(/to 1 builder: b1/);
    expect((await suggest(m.port, ['foo', 'two', '--one'])).stdout).toMatch(/queued, 0 of foo before it/);
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    const again = await startMaster({ dir: m.dir, port: m.port, args: ['--store', store] });
    writeFileSync(gate, '');
    await waitFor('both built', async () => ((await api(`${again.httpUrl!}/api/v1/reports?project=foo`)).reports as unknown[]).length === 2, 30_000);
    const got = ((await api(`${again.httpUrl!}/api/v1/reports?project=foo`)).reports as Array<{ branch: string; builder: string; verdict: string }>)
      .map((r) => `${r.branch}:${r.builder}:${r.verdict}`).sort();
    expect(got).toEqual(['one:b1:success', 'two:b1:success']);
  }, 90_000);

  it('keeps running while PostgreSQL restarts: a suggestion made meanwhile waits, then is built and stored', async () => {
    const m = await startMaster({ args: ['--store', await server!.database('outage')] });
    await startBuilder(m.port, { name: 'b1', scripts: { foo: 'echo "built $1"' } });
    expect((await suggest(m.port, ['foo', 'main', '--wait'])).code).toBe(0);
    await server!.stop('SIGINT');
    const during = suggest(m.port, ['foo', 'dev', '--wait'], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(m.child.exitCode).toBeNull();
    await server!.restart();
    expect((await during).code).toBe(0);
    expect(m.child.exitCode).toBeNull();
    const seqs = ((await api(`${m.httpUrl!}/api/v1/reports?project=foo`)).reports as Array<{ seq: number; branch: string }>).map((r) => `${r.branch}:${r.seq}`);
    expect(seqs).toEqual(['dev:2', 'main:1']);
    expect(m.log().filter((l) => l.level === 60)).toEqual([]);
  }, 90_000);

  it('--check says whether the store is reachable and at what schema step, without making one', async () => {
    const store = await server!.database('probe');
    const check = async (url: string) => {
      const p = node('masterd', ['--check', '--port', '0', '--data', join(tempDir(), 'data'), '--store', url]);
      const { code } = await Promise.race([p.exited, new Promise<never>((_, no) => setTimeout(() => no(new Error('--check hung')), 30_000))]);
      return { code, out: p.stdout() + p.stderr() };
    };
    expect(await check(store)).toMatchObject({ code: 0, out: expect.stringMatching(/record on PostgreSQL postgres:\/\/postgres@127\.0\.0\.1:\d+\/probe: reachable \(a new record would be made\)/) });
    expect(await check(store)).toMatchObject({ out: expect.stringContaining('(a new record would be made)') }); // the first check made none
    const m = await startMaster({ args: ['--store', store] });
    await stop(m);
    expect(await check(store)).toMatchObject({ code: 0, out: expect.stringContaining('/probe: reachable, schema step 1;') });
    const down = await check('postgres://nobody@127.0.0.1:1/none');
    expect(down.code).toBe(2);
    expect(down.out.trim()).toMatch(/^simplebb-masterd: check failed: cannot reach the PostgreSQL store postgres:\/\/nobody@127\.0\.0\.1:1\/none: ECONNREFUSED$/);
  }, 60_000);

  it('refuses a store it does not know in one line', async () => {
    await expect(startMaster({ args: ['--store', 'mysql://x/y'] })).rejects.toThrow(/--store: mysql:\/\/ is not a store simplebb knows/);
  });
});
