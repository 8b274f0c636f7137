// What people see on a terminal: the daemons' readable log lines through a pseudo-terminal (script(1)), JSON
// otherwise, and the line that says where the log went.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, DIST, node, stop, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

/** Runs COMMAND under a pseudo-terminal (script(1)) and returns what it printed there; 10 s bound. */
export function onTerminal(command: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`timed out; output so far: ${out}`)); }, 10_000);
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', () => { clearTimeout(timer); resolve(out.replace(/\r\n/g, '\n')); });
  });
}

describe('the daemons on a terminal', () => {
  it('print readable lines, without colour under NO_COLOR, and JSON with --log-format json', async () => {
    const d = tempDir();
    // Stopped by SIGINT after a second: an orderly stop, logged too.
    const cmd = `timeout -s INT 1 ${process.execPath} ${join(DIST, 'masterd.js')} --port 0 --data ${join(d, 'data')}`;
    const pretty = await onTerminal(cmd, { NO_COLOR: '1' });
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening: simplebb-masterd listening \{"host":"127\.0\.0\.1","port":\d+/m);
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: stopped: simplebb-masterd stopped$/m);
    expect(pretty).not.toContain('\x1b[');
    const coloured = await onTerminal(cmd);
    expect(coloured).toContain('\x1b[32mINFO');
    const json = await onTerminal(`${cmd} --log-format json`);
    expect(JSON.parse(json.split('\n').find((l) => l.includes('"listening"'))!.trim())).toMatchObject({ event: 'listening', level: 30 });
  });

  it('say on stderr where they log when the log goes to a file', async () => {
    const d = tempDir();
    const m = node('masterd', ['--port', '0', '--data', join(d, 'data'), '--log', join(d, 'server.log')]);
    await waitFor('the start line', () => /^simplebb-masterd: listening on 127\.0\.0\.1:\d+; log: .*server\.log\n$/.test(m.stderr()), 10_000);
    expect(m.stdout()).toBe('');
    await stop(m);
  });
});
