// The simplebb command line: each command's arguments and flags, the environment, and one-line usage errors.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type Invocation } from '../../lib/cli/args.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Invocation => {
  const p = parseCommandLine(argv, env);
  if (p.kind !== 'run') throw new Error(`not a run: ${p.kind}`);
  return p.invocation;
};
const refused = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
  try {
    parseCommandLine(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('parseCommandLine', () => {
  it('reads the defaults: the loopback API, the read token from the environment, 10 s, tables', () => {
    const inv = run(['status']);
    expect(inv.command).toEqual({ name: 'status' });
    expect(inv.url.href).toBe('http://127.0.0.1:7901/');
    expect(inv.timeoutMs).toBe(10_000);
    expect(inv.json).toBe(false);
    expect(inv.token).toMatchObject({ env: 'SIMPLEBB_READ_TOKEN' });
    expect(inv.token.file).toBeUndefined();
  });

  it('takes --url, --token-file, --json and --timeout before or after the command, flags over the environment', () => {
    const inv = run(['--json', 'history', '--url', 'https://ci.example/simplebb/', '--token-file', '/t', '--timeout', '2.5'], { SIMPLEBB_URL: 'http://x:1', SIMPLEBB_READ_TOKEN_FILE: '/env' });
    expect(inv.url.href).toBe('https://ci.example/simplebb/');
    expect(inv.token.file).toBe('/t');
    expect(inv.json).toBe(true);
    expect(inv.timeoutMs).toBe(2500);
    const env = run(['status'], { SIMPLEBB_URL: 'http://10.0.0.1:8000', SIMPLEBB_READ_TOKEN_FILE: '/env' });
    expect(env.url.href).toBe('http://10.0.0.1:8000/');
    expect(env.token.file).toBe('/env');
  });

  it('uses the suggest token for suggest, and the read token for everything else', () => {
    const env = { SIMPLEBB_READ_TOKEN_FILE: '/read', SIMPLEBB_SUGGEST_TOKEN_FILE: '/suggest' };
    const s = run(['suggest', 'foo', 'main', '-r', '0123abcd'], env);
    expect(s.command).toEqual({ name: 'suggest', project: 'foo', branch: 'main', revision: '0123abcd' });
    expect(s.token).toMatchObject({ file: '/suggest', env: 'SIMPLEBB_SUGGEST_TOKEN' });
    expect(s.token.hint).toContain('SIMPLEBB_SUGGEST_TOKEN_FILE');
    expect(run(['show', 'mx57dlhd-ed4a46c20464'], env).token).toMatchObject({ file: '/read', env: 'SIMPLEBB_READ_TOKEN' });
  });

  it('reads history\'s filters, --failing and --limit (20 by default)', () => {
    expect(run(['history']).command).toEqual({ name: 'history', filters: {}, failing: false, limit: 20 });
    expect(run(['history', '--project', 'foo', '--branch', 'feature/x', '--builder', 'b1', '--verdict', 'timeout', '--failing', '--limit', '3']).command)
      .toEqual({ name: 'history', filters: { project: 'foo', branch: 'feature/x', builder: 'b1', verdict: 'timeout' }, failing: true, limit: 3 });
  });

  it('reads show with and without a builder, and logs with one', () => {
    expect(run(['show', 'mx57dlhd-ed4a46c20464']).command).toEqual({ name: 'show', id: 'mx57dlhd-ed4a46c20464' });
    expect(run(['show', 'mx57dlhd-ed4a46c20464', 'b1']).command).toEqual({ name: 'show', id: 'mx57dlhd-ed4a46c20464', builder: 'b1' });
    expect(run(['logs', 'mx57dlhd-ed4a46c20464', 'b1']).command).toEqual({ name: 'logs', id: 'mx57dlhd-ed4a46c20464', builder: 'b1', follow: false });
    expect(run(['logs', '-f', 'mx57dlhd-ed4a46c20464', 'b1']).command).toEqual({ name: 'logs', id: 'mx57dlhd-ed4a46c20464', builder: 'b1', follow: true });
    expect(run(['logs', 'mx57dlhd-ed4a46c20464', 'b1', '--follow']).command).toMatchObject({ follow: true });
  });

  it('reads where with and without a branch, and refuses a bad project or a flag of another command', () => {
    expect(run(['where', 'foo']).command).toEqual({ name: 'where', project: 'foo' });
    expect(run(['where', 'foo', '--branch', 'main', '--json'])).toMatchObject({ command: { name: 'where', project: 'foo', branch: 'main' }, json: true });
    expect(refused(['where'])).toBe("missing required argument 'project' of where (see --help)");
    expect(refused(['where', 'foo', '--builder', 'b1'])).toBe("option '--builder' goes with history or cancel or rerun, not where (see --help)");
    expect(refused(['where', '../x'])).toMatch(/^invalid project "\.\.\/x": /);
  });

  it('reads cancel and rerun with their flags and the suggest token, and refuses a bad id, both --builder and --on, or a flag of another command', () => {
    const ID = 'mx57dlhd-ed4a46c20464';
    expect(run(['cancel', ID]).command).toEqual({ name: 'cancel', id: ID });
    expect(run(['cancel', ID, '--builder', 'b1', '--reason', 'wrong branch'])).toMatchObject({
      command: { name: 'cancel', id: ID, builder: 'b1', reason: 'wrong branch' }, token: { env: 'SIMPLEBB_SUGGEST_TOKEN' },
    });
    expect(run(['rerun', ID]).command).toEqual({ name: 'rerun', id: ID });
    expect(run(['rerun', ID, '--on', 'arch=arm64'])).toMatchObject({ command: { name: 'rerun', id: ID, on: 'arch=arm64' }, token: { env: 'SIMPLEBB_SUGGEST_TOKEN' } });
    expect(run(['rerun', ID, '--builder', 'b2']).command).toEqual({ name: 'rerun', id: ID, builder: 'b2' });
    expect(refused(['cancel'])).toBe("missing required argument 'id' of cancel (see --help)");
    expect(refused(['cancel', 'NOT_AN_ID'])).toBe('invalid suggestion id "NOT_AN_ID": id must be 1 to 64 characters of [0-9a-z-] (see --help)');
    expect(refused(['rerun', ID, '--builder', 'b1', '--on', 'os=linux'])).toBe('rerun takes --builder or --on, not both (see --help)');
    expect(refused(['rerun', ID, '--reason', 'x'])).toBe("option '--reason' goes with cancel, not rerun (see --help)");
    expect(refused(['cancel', ID, '--on', 'os=linux'])).toBe("option '--on' goes with suggest or rerun, not cancel (see --help)");
    expect(refused(['cancel', ID, '--reason', 'x'.repeat(1001)])).toBe('--reason must be 1 to 1000 characters (see --help)');
    expect(refused(['rerun', ID, '--on', 'os='])).toMatch(/^--on: /);
  });

  it('gives help and the version', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['history', '-h'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-V'], {})).toEqual({ kind: 'version' });
  });

  it('refuses, in one line with a hint: no command, an unknown one, unknown flags, flags of another command, missing or extra arguments', () => {
    expect(refused([])).toBe('missing command (status, history, show, logs, where, queue, suggest, cancel, rerun, prune or hook) (see --help)');
    expect(refused(['frob'])).toBe("unknown command 'frob' (status, history, show, logs, where, queue, suggest, cancel, rerun, prune or hook) (see --help)");
    expect(refused(['status', '--frob'])).toBe("unknown option '--frob' (see --help)");
    expect(refused(['status', '--failing'])).toBe("option '--failing' goes with history, not status (see --help)");
    expect(refused(['history', '-r', 'abcd'])).toBe("option '--revision' goes with suggest, not history (see --help)");
    expect(refused(['show'])).toBe("missing required argument 'id' of show (see --help)");
    expect(refused(['logs', 'mx57dlhd-ed4a46c20464'])).toBe("missing required argument 'builder' of logs (see --help)");
    expect(refused(['show', 'a', 'b', 'c'])).toBe("too many arguments for show: 'c' (see --help)");
    expect(refused(['status', 'now'])).toBe("too many arguments for status: 'now' (see --help)");
    expect(refused(['history', '--limit'])).toMatch(/^option '--limit.*' argument missing \(see --help\)$/);
    expect(refused(['logs', 'a', 'b1', '--json'])).toMatch(/^--json does not go with logs/);
    expect(refused(['show', 'mx57dlhd-ed4a46c20464', '--follow'])).toBe("option '--follow' goes with logs, not show (see --help)");
  });

  it('refuses bad values, naming them', () => {
    expect(refused(['history', '--limit', '0'])).toBe('--limit must be a whole number from 1 to 100000, got "0" (see --help)');
    expect(refused(['history', '--verdict', 'red'])).toMatch(/^invalid verdict "red": verdict must be one of success, failure, /);
    expect(refused(['history', '--project', '../x'])).toMatch(/^invalid project "\.\.\/x"/);
    expect(refused(['history', '--branch=-x'])).toMatch(/^invalid branch "-x": branch name must not start with "-"/);
    expect(refused(['history', '--branch', '-x'])).toBe('option \'--branch\' argument missing, or it starts with "-" (then write --branch=VALUE) (see --help)');
    expect(refused(['suggest', 'foo', 'main', '-r', '-x'])).toBe('option \'-r\' argument missing, or it starts with "-" (then write -rVALUE) (see --help)');
    expect(refused(['status', '--json=yes'])).toBe("option '--json' takes no value (see --help)");
    expect(refused(['show', 'A/B'])).toMatch(/^invalid suggestion id "A\/B"/);
    expect(refused(['show', 'abc', 'no/such'])).toMatch(/^invalid builder "no\/such"/);
    expect(refused(['suggest', 'foo', 'main', '-r', 'xyz'])).toMatch(/^invalid revision "xyz"/);
    expect(refused(['status', '--timeout', '0'])).toBe('--timeout must be a number of seconds greater than 0, got "0" (see --help)');
    expect(refused(['status', '--url', '127.0.0.1:7901'])).toBe('--url "127.0.0.1:7901" must start with http:// or https:// (see --help)');
    expect(refused(['status', '--url', 'ftp://h/'])).toBe('--url "ftp://h/" must start with http:// or https:// (see --help)');
    expect(refused(['status', '--url', 'http://'])).toBe('--url "http://" is not a URL (for example http://127.0.0.1:7901) (see --help)');
    expect(refused(['status', '--url', 'http://u:p@h:1'])).toBe('--url must not hold a user or password; give the token with --token-file (see --help)');
    expect(refused(['status'], { SIMPLEBB_URL: 'http://h:1/?x=1' })).toBe('--url "http://h:1/?x=1" must not have a query or a fragment (see --help)');
  });
});
