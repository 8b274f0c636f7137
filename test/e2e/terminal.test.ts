// What people see on a terminal: the daemons' readable log lines through a pseudo-terminal (script(1)), JSON
// otherwise, and the line that says where the log went.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, DIST, node, onTerminal, startBuilder, startMaster, stop, suggest, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

describe('the daemons on a terminal', () => {
  it('print readable lines, without colour under NO_COLOR, and JSON with --log-format json', async () => {
    const d = tempDir();
    // Stopped by SIGINT after 4 s (a loaded machine can take over a second to start it): an orderly stop, logged too.
    const cmd = `timeout -s INT 4 ${process.execPath} ${join(DIST, 'masterd.js')} --port 0 --data ${join(d, 'data')}`;
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
    await waitFor('the start line', () => /^simplebb-masterd: listening on 127\.0\.0\.1:\d+, API on http:\/\/127\.0\.0\.1:\d+; log: .*server\.log\n$/.test(m.stderr()), 10_000);
    expect(m.stdout()).toBe('');
    await stop(m);
  });
});

describe('simplebb-suggest --wait on a terminal', () => {
  it('aligns and colours the verdicts, shows a failure\'s last lines with their escapes made visible, and sums up', async () => {
    const m = await startMaster();
    await startBuilder(m.port, { name: 'good', scripts: { mixed: 'echo fine' } });
    await startBuilder(m.port, { name: 'bad-builder', scripts: { mixed: 'echo "building $1"; printf "error: \\033[2Jit broke\\n"; exit 1' } });
    await waitFor('two builders', () => m.log().filter((l) => l.event === 'connected').length === 2);
    const cmd = `${process.execPath} ${join(DIST, 'suggest.js')} -p ${m.port} mixed main --wait; echo "exit=$?"`;
    const plain = await onTerminal(cmd, { NO_COLOR: '1' });
    const lines = plain.split('\n').map((l) => l.replace(/^[\s\S]*\r\x1b\[K/, ''));
    expect(lines).toContainEqual(expect.stringMatching(/^good         mixed main  success   exit 0      \d\.\d\d s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^bad-builder  mixed main  failure   exit 1      \d\.\d\d s$/));
    expect(lines).toContain('  │ building main');
    expect(lines).toContain('  │ error: \\x1b[2Jit broke');
    expect(lines).toContain('1 of 2 builders passed, 1 failed: bad-builder');
    expect(lines).toContain('exit=1');
    expect(plain).not.toContain('\x1b[2J');
    expect(plain).not.toMatch(/\x1b\[\d+m/);
    const coloured = await onTerminal(cmd);
    expect(coloured).toContain('\x1b[31mfailure');
    expect(coloured).toContain('\x1b[32msuccess');
    // Not a terminal: the plain, stable lines, no summary, no status line.
    const piped = await suggest(m.port, ['mixed', 'main', '--wait']);
    expect(piped.code).toBe(1);
    expect(piped.stdout).toMatch(/^bad-builder  mixed main  failure  exit 1  \d\.\d\d s$/m);
    expect(piped.stdout).not.toMatch(/passed|│|\x1b/);
  });
});

describe('simplebb-suggest --follow on a terminal', () => {
  it('shows a build\'s control sequences, C1 controls and bidi overrides as visible escapes, keeps its colours, and passes bytes unchanged to a pipe', async () => {
    const m = await startMaster();
    // A screen clear, an OSC 52 clipboard write, a title change, a one-byte CSI (U+009B), a bidi override, then red text.
    const hostile = String.raw`printf 'a\033[2Jb\033]52;c;ZXZpbA==\007c\033]0;title\007d\302\233e\342\200\256f\033[31mred\033[0m\n'`;
    await startBuilder(m.port, { scripts: { hostile } });
    const cmd = `${process.execPath} ${join(DIST, 'suggest.js')} -p ${m.port} hostile main --follow`;
    const seen = await onTerminal(cmd);
    const line = seen.split('\n').find((l) => l.includes('red'))!;
    expect(line).toContain('b1| a\\x1b[2Jb\\x1b]52;c;ZXZpbA==\\x07c\\x1b]0;title\\x07d\\x9be\\u202ef\x1b[31mred\x1b[0m');
    // Nothing but colour reaches the terminal raw (and the status line's own \r and erase-line): no other ESC, no
    // BEL, no C1, no bidi character.
    expect(seen.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r\x1b\[K|\x1b\[K/g, '').replace(/\r/g, '')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]/);
    const plain = await onTerminal(cmd, { NO_COLOR: '1' });
    expect(plain).not.toContain('\x1b[31m');
    const piped = await suggest(m.port, ['hostile', 'main', '--follow']);
    expect(piped.stdout).toContain('b1| a\x1b[2Jb\x1b]52;c;ZXZpbA==\x07c'); // a file gets the build's bytes as they were
  });
});
