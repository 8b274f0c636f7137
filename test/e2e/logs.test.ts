// Full logs against the real programs: a build's whole output kept beyond the report's head and tail, cut with a
// mark beyond --max-log-bytes, followed from its start while it runs, and retention (`simplebb prune`) that
// removes old logs but keeps each cell's last success, last failure and the first failure of its red streak.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cleanup, node, runToEnd, sleep, startBuilder, startMaster, suggest, tempDir, waitFor, type Proc } from '../helpers.js';

afterEach(cleanup);

/** GETs a URL (bounded) and returns status and body. */
async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

/** Suggests and waits for every verdict; returns the suggestion's id. */
async function build(port: number, project: string, branch: string): Promise<string> {
  const r = await suggest(port, [project, branch, '--wait', '--json'], { timeoutMs: 30_000 });
  const accepted = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.type === 'accepted');
  expect(accepted, r.stderr).toBeDefined();
  return accepted!.id as string;
}

/** Asks `check` every 50 ms until it gives something, for at most `ms`. */
async function poll<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The full log's index entry, once the master has finished it (compression happens after the report). */
async function fullLog(url: string, id: string, builder: string): Promise<Record<string, number>> {
  return poll(`the full log of ${id}`, async () => ((await (await fetch(`${url}/api/v1/reports/${id}/${builder}`)).json()) as { log?: Record<string, number> }).log, 10_000);
}

const LINES = 'for i in $(seq 1 $1); do echo "line $i of the build"; done';
const HALF = Array.from({ length: 60_000 }, (_, i) => `line ${i + 1} of the build\n`).join('');

describe('full logs', () => {
  it('keep the whole output of a build far larger than the report carries, compressed beside the record', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { scripts: { big: `#!/bin/sh\nn=120000\n${LINES.replace('$1', '$n')}\n` } });
    const id = await build(m.port, 'big', 'main');
    const log = await fullLog(m.httpUrl!, id, 'b1');
    const expected = Array.from({ length: 120_000 }, (_, i) => `line ${i + 1} of the build\n`).join('');
    expect(log).toMatchObject({ bytes: expected.length, cut: 0, missing: 0 });
    expect(log.storedBytes).toBeLessThan(expected.length / 4);
    const report = await (await fetch(`${m.httpUrl!}/api/v1/reports/${id}/b1`)).json() as { outputCut: number };
    expect(report.outputCut).toBeGreaterThan(0); // the report alone could not have given it
    const got = await get(`${m.httpUrl!}/api/v1/reports/${id}/b1/log`);
    expect(got.status).toBe(200);
    expect(got.body === expected).toBe(true);
    expect(readdirSync(join(m.dir, 'data', 'logs', id))).toEqual(['b1.log.gz']);
  });

  it('beyond --max-log-bytes keep the first and the last part with a visible mark', async () => {
    const m = await startMaster({ args: ['--max-log-bytes', '64k'] });
    await startBuilder(m.port, { scripts: { big: `#!/bin/sh\n${LINES.replace('$1', '20000')}\n` } });
    const id = await build(m.port, 'big', 'main');
    const log = await fullLog(m.httpUrl!, id, 'b1');
    expect(log.cut).toBeGreaterThan(400_000);
    const body = (await get(`${m.httpUrl!}/api/v1/reports/${id}/b1/log`)).body;
    expect(body.startsWith('line 1 of the build\nline 2 of the build\n')).toBe(true);
    expect(body.endsWith('line 20000 of the build\n')).toBe(true);
    expect(body).toMatch(new RegExp(`\\[simplebb: ${log.cut} bytes cut here; the master keeps the first and last part of a build's output up to --max-log-bytes 65536\\]`));
    expect(body.length).toBeLessThan(66 * 1024);
  });

  it('a running build is followed from its first byte (more than is kept in memory), then live, to its end', async () => {
    const m = await startMaster();
    const dir = tempDir();
    const go = join(dir, 'go');
    // 60,000 lines are 1.4 MB, more than the 1 MiB the master keeps in memory for readers who come late.
    await startBuilder(m.port, { scripts: { slow: `#!/bin/sh\n${LINES.replace('$1', '60000')}\ni=0\nwhile [ ! -e ${go} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\necho second\n` } });
    const waiting = suggest(m.port, ['slow', 'main', '--wait', '--json'], { timeoutMs: 30_000 });
    const running = await poll('the build to run', async () => {
      const list = await (await fetch(`${m.httpUrl!}/api/v1/suggestions?project=slow`)).json() as { suggestions: Array<{ id: string; deliveries: Array<{ state: string }> }> };
      return list.suggestions.find((s) => s.deliveries.some((d) => d.state === 'started'));
    }, 10_000);
    const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i + 1} of the build\n`).join('');
    const part = join(m.dir, 'data', 'logs', '.running', running.id, 'b1.part');
    await waitFor('the lines to be on disk', () => existsSync(part) && statSync(part).size === lines.length, 10_000);
    const res = await fetch(`${m.httpUrl!}/api/v1/reports/${running.id}/b1/log`, { signal: AbortSignal.timeout(20_000) });
    const reader = res.body!.getReader();
    let seen = '';
    while (seen.length < lines.length) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString();
    }
    expect(seen === lines).toBe(true);
    writeFileSync(go, '');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString();
    }
    expect(seen === `${lines}second\n`).toBe(true);
    expect((await waiting).code).toBe(0);
  });

  it('retention removes old logs but never the last success, the last failure and the first failure of a red streak', async () => {
    const m = await startMaster({ args: ['--keep-logs', '1'] });
    const dir = tempDir();
    const verdict = join(dir, 'verdict');
    await startBuilder(m.port, { scripts: { p: `#!/bin/sh\necho "building $1"\nexit $(cat ${verdict})\n` } });
    const ids: Record<string, string> = {};
    // s1 f1 f2 s2 f3 f4: kept are s2 (last success), f4 (last failure) and f3 (first of the streak red now).
    for (const [name, code] of [['s1', 0], ['f1', 1], ['f2', 1], ['s2', 0], ['f3', 1], ['f4', 1]] as const) {
      writeFileSync(verdict, String(code));
      ids[name] = await build(m.port, 'p', 'main');
      await fullLog(m.httpUrl!, ids[name]!, 'b1');
    }
    // Every log made to look two days old.
    const db = new Database(join(m.dir, 'data', 'simplebb.db'));
    db.prepare('UPDATE logs SET finished_at = ?').run(Date.now() - 2 * 86_400_000);
    db.close();
    const dry = await runToEnd('simplebb', ['--url', m.httpUrl!, 'prune', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const [summary, ...listed] = dry.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(summary).toMatchObject({ dryRun: true, count: 3 });
    expect(listed.map((l) => l.id).sort()).toEqual([ids.s1, ids.f1, ids.f2].sort());
    const logFile = (name: string): string => join(m.dir, 'data', 'logs', ids[name]!, 'b1.log.gz');
    expect(Object.keys(ids).every((n) => existsSync(logFile(n)))).toBe(true);

    const done = await runToEnd('simplebb', ['--url', m.httpUrl!, 'prune']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^removed 3 logs \(/);
    expect(['s1', 'f1', 'f2'].map((n) => existsSync(logFile(n)))).toEqual([false, false, false]);
    expect(['s2', 'f3', 'f4'].map((n) => existsSync(logFile(n)))).toEqual([true, true, true]);
    // The summaries stay, and a pruned build's log is the report's kept output again.
    const s1 = await get(`${m.httpUrl!}/api/v1/reports/${ids.s1}/b1/log`);
    expect(s1).toEqual({ status: 200, body: 'building main\n' });
    const again = await runToEnd('simplebb', ['--url', m.httpUrl!, 'prune', '--dry-run']);
    expect(again.stdout).toMatch(/^would remove 0 logs/);
  });

  it('a master killed -9 mid-build and started again goes on with the log, and the builder sends what it printed meanwhile', async () => {
    const dir = tempDir();
    const go = join(tempDir(), 'go');
    const m = await startMaster({ dir, args: ['--heartbeat', '1'] });
    // The first half before the crash, the second after; 60,000 lines each, so the report cannot hold them whole.
    const b = await startBuilder(m.port, { scripts: { crash: `#!/bin/sh\n${LINES.replace('$1', '60000')}\ni=0\nwhile [ ! -e ${go} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\necho after\n${LINES.replace('$1', '60000')}\n` } });
    const waiting = suggest(m.port, ['crash', 'main', '--wait', '--json'], { timeoutMs: 60_000 });
    const part = (id: string): string => join(dir, 'data', 'logs', '.running', id, 'b1.part');
    const running = await poll('the first half on disk', async () => {
      const list = await (await fetch(`${m.httpUrl!}/api/v1/suggestions?project=crash`)).json() as { suggestions: Array<{ id: string }> };
      const s = list.suggestions[0];
      return s && existsSync(part(s.id)) && statSync(part(s.id)).size === HALF.length ? s : undefined;
    }, 15_000);
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    await waiting;
    // The rest is printed while no master runs.
    writeFileSync(go, '');
    await waitFor('the builder to see the master gone', () => b.log().some((l) => l.event === 'disconnected'), 10_000);
    const m2 = await startMaster({ dir, port: m.port, args: ['--heartbeat', '1'] });
    await waitFor('the builder back', () => b.log().filter((l) => l.event === 'connected').length === 2, 15_000);
    const log = await poll('the log finished', async () => ((await (await fetch(`${m2.httpUrl!}/api/v1/reports/${running.id}/b1`)).json()) as { log?: Record<string, number> }).log, 30_000);
    const body = (await get(`${m2.httpUrl!}/api/v1/reports/${running.id}/b1/log`)).body;
    // The second half was printed while no master listened (the builder held it): the log is whole all the same.
    expect(body === `${HALF}after\n${HALF}`).toBe(true);
    expect(log).toMatchObject({ missing: 0, cut: 0, bytes: HALF.length * 2 + 6 });
    expect(existsSync(part(running.id))).toBe(false);
  });
});

/** The exit of a process that must end within `ms`. */
async function exitWithin(p: Proc, ms: number): Promise<number | null> {
  const r = await Promise.race([p.exited, sleep(ms).then(() => 'timeout' as const)]);
  if (r === 'timeout') throw new Error(`did not exit within ${ms} ms; stdout: ${p.stdout().slice(-300)} stderr: ${p.stderr()}`);
  return r.code;
}

describe('simplebb logs', () => {
  it('prints a whole log far larger than one answer may be, byte for byte to a pipe', async () => {
    const m = await startMaster();
    // About 21 MB, more than the 16 MiB the command reads of any JSON answer.
    const script = `#!/bin/sh\nawk 'BEGIN { for (i = 1; i <= 400000; i++) printf "line %d of a long build, padded out to fifty bytes\\n", i }'\n`;
    await startBuilder(m.port, { scripts: { big: script } });
    const id = await build(m.port, 'big', 'main');
    const log = await fullLog(m.httpUrl!, id, 'b1');
    expect(log.bytes).toBeGreaterThan(16 * 1024 * 1024);
    const expected = Array.from({ length: 400_000 }, (_, i) => `line ${i + 1} of a long build, padded out to fifty bytes\n`).join('');
    const p = node('simplebb', ['--url', m.httpUrl!, 'logs', id, 'b1']);
    expect(await exitWithin(p, 30_000), p.stderr()).toBe(0);
    expect(p.stdout().length).toBe(expected.length);
    expect(createHash('sha256').update(p.stdout()).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('--follow streams a running build as it prints, then exits 0 if it passed and 1 if it failed; without it, a running build is one line', async () => {
    const m = await startMaster();
    const dir = tempDir();
    // Waits (at most 10 s) for its start file, prints a line, waits for its go file, prints another; passes on branch "good" only.
    const wait = (file: string) => `i=0\nwhile [ ! -e ${dir}/${file}-$1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n`;
    await startBuilder(m.port, { scripts: { f: `#!/bin/sh\n${wait('start')}echo "first of $1"\ni=0\nwhile [ ! -e ${dir}/go-$1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\necho "second of $1"\n[ "$1" = good ]\n` } });
    for (const [branch, code] of [['good', 0], ['bad', 1]] as const) {
      const made = await suggest(m.port, ['f', branch, '--json']);
      const id = (JSON.parse(made.stdout.split('\n').find((l) => l.includes('"accepted"'))!) as { id: string }).id;
      await poll('the build to run', async () => {
        const s = await (await fetch(`${m.httpUrl!}/api/v1/suggestions/${id}`)).json() as { deliveries: Array<{ state: string }> };
        return s.deliveries.some((d) => d.state === 'started') || undefined;
      }, 10_000);
      if (branch === 'good') {
        const now = await runToEnd('simplebb', ['--url', m.httpUrl!, 'logs', id, 'b1']);
        expect(now.code).toBe(2);
        expect(now.stderr).toBe(`simplebb: no report of builder b1 for suggestion ${id} (if it runs now, follow it with --follow)\n`);
      }
      // A build that prints nothing for longer than --timeout is followed all the same: the wait is for the build.
      const p = node('simplebb', ['--url', m.httpUrl!, '--timeout', '1', 'logs', branch === 'good' ? '--follow' : '-f', id, 'b1']);
      let ended = false;
      void p.exited.then(() => { ended = true; });
      await sleep(1500);
      expect({ ended, stderr: p.stderr() }).toEqual({ ended: false, stderr: '' });
      writeFileSync(join(dir, `start-${branch}`), '');
      await waitFor(`the first line of ${branch} while it runs`, () => p.stdout() === `first of ${branch}\n`, 10_000);
      expect(ended).toBe(false);
      writeFileSync(join(dir, `go-${branch}`), '');
      expect(await exitWithin(p, 15_000), p.stderr()).toBe(code);
      expect(p.stdout()).toBe(`first of ${branch}\nsecond of ${branch}\n`);
      expect(p.stderr()).toBe('');
      // A finished build followed: its log, then the same exit code at once.
      const again = await runToEnd('simplebb', ['--url', m.httpUrl!, 'logs', '-f', id, 'b1']);
      expect({ code: again.code, stdout: again.stdout }).toEqual({ code, stdout: `first of ${branch}\nsecond of ${branch}\n` });
      const none = await runToEnd('simplebb', ['--url', m.httpUrl!, 'logs', '-f', id, 'b9']);
      expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 2, stderr: `simplebb: no report of builder b9 for suggestion ${id}, and it does not run now\n` });
    }
  });
});
