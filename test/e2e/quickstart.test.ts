// The README's Quick start, run as written (but its `npm install`, which CI has just done) in a fresh HOME and
// working dir, on a free port instead of 7900 (through SIMPLEBB_PORT and SIMPLEBB_MASTER, which the programs read).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLog } from '../../lib/common/log.js';
import { cleanup, freePort, ROOT, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);


/** The Quick start block's lines. */
function quickStart(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.trimEnd().split('\n');
}

describe('the README Quick start', () => {
  it('runs top to bottom and does what its comments say', async () => {
    const lines = quickStart();
    expect(lines[0]).toMatch(/^npm install\s/);
    const root = process.getuid?.() === 0;
    const script = lines.slice(1).map((l) => (root && l.startsWith('simplebb-clientd ') ? l.replace(' &', ' --allow-root &') : l)).join('\n');
    const home = tempDir('simplebb-home-');
    const cwd = join(tempDir('simplebb-cwd-'), 'simplebb');
    mkdirSync(cwd);
    for (const d of ['bin', 'examples']) symlinkSync(join(ROOT, d), join(cwd, d));
    const port = await freePort();
    const httpPort = await freePort();
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const p = spawn('bash', ['-c', script], {
        cwd, env: { ...process.env, HOME: home, SIMPLEBB_PORT: String(port), SIMPLEBB_HTTP: `127.0.0.1:${httpPort}`, SIMPLEBB_MASTER: `127.0.0.1:${port}`, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`the Quick start took over 60 s: ${out}${err}`)); }, 60_000);
      p.on('exit', (c) => { clearTimeout(timer); resolve({ stdout: out, stderr: err, code: c }); });
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(new RegExp(`^simplebb-masterd: listening on 127\\.0\\.0\\.1:${port}, API on http://127\\.0\\.0\\.1:${httpPort}; log: .*server\\.log$`, 'm'));
    expect(stdout).toMatch(/^suggested foo master as \S+ to 1 builder: /m);
    expect(stdout).toMatch(/^\S+  bar dev  failure  exit 1  /m);
    expect(stdout).toContain('exit 1\n');
    const reports = stdout.split('\n').filter((l) => l.includes('"event":"report"')).map((l) => JSON.parse(l) as { project: string; verdict: string });
    expect(reports.map((r) => `${r.project} ${r.verdict}`).sort()).toEqual(['bar failure', 'foo success']);
    // `kill %1 %2` stopped both: each logged its stop, and the port is free again.
    await waitFor('both to stop', () => ['server.log', 'builder.log'].every((f) => readLog(join(cwd, f)).at(-1)?.event === 'stopped'), 15_000);
    await expect(new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
    })).resolves.toBeUndefined();
  });
});
