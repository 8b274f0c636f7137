// One build's process: its verdict is its own once it has exited, whatever then ends the rest of its group.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Run } from '../../lib/exec/run.js';
import { cleanup, script, sleep, tempDir } from '../helpers.js';

afterEach(cleanup);

describe('Run', () => {
  it('keeps the verdict of a script that exited while something it left holds its output open, when it is aborted then', async () => {
    const dir = tempDir();
    // setsid: the background sleep leaves the build's process group and keeps stdout open after the script exits.
    const path = script(dir, 'left', `setsid sleep 3 &\nsleep 0.2\necho done\nexit 0`);
    const run = new Run({ script: path, branch: 'main', workDir: dir, env: { PATH: process.env.PATH }, timeoutMs: 0, killGraceMs: 500 }, () => true);
    await sleep(600); // the script has exited; its pipes are still held
    run.abort('builder shutting down');
    const r = await run.result;
    expect(r).toMatchObject({ verdict: 'success', exitCode: 0 });
    expect(r.output).toBe('done\n');
  });

  it('a build aborted while it runs is a failure with the reason', async () => {
    const dir = tempDir();
    const path = script(join(dir, 's'), 'long', 'echo start\nsleep 30');
    const run = new Run({ script: path, branch: 'main', workDir: dir, env: { PATH: process.env.PATH }, timeoutMs: 0, killGraceMs: 500 }, () => true);
    await sleep(200);
    run.abort('builder shutting down');
    expect(await run.result).toMatchObject({ verdict: 'failure', signal: 'SIGTERM', message: 'builder shutting down' });
  });
});
