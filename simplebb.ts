#!/usr/bin/env node
// simplebb: asks the master's HTTP API what the builders did and are doing (status, history, show, logs) and makes
// suggestions through it. Like simplebb-suggest it loads neither commander nor zod nor pino: node:util parses the
// flags and the global fetch talks to the master.
import { die } from './lib/common/args.js';
import { readToken } from './lib/common/token.js';
import { HELP, parseCommandLine, UsageError, type Parsed } from './lib/cli/args.js';
import { runCommand } from './lib/cli/run.js';

const PROG = 'simplebb';

let parsed: Parsed;
try {
  parsed = parseCommandLine(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  die(PROG, err.message, 2);
}
if (parsed.kind === 'help') {
  process.stdout.write(HELP);
  process.exit(0);
}
if (parsed.kind === 'version') {
  process.stdout.write(`${(await import('./lib/common/version.js')).VERSION}\n`);
  process.exit(0);
}
const inv = parsed.invocation;

let token: string | undefined;
try {
  token = readToken(inv.token.file, inv.token.env, (m) => process.stderr.write(`${PROG}: warning: ${m}\n`));
} catch (err) {
  die(PROG, (err as Error).message, 2);
}

// `simplebb history | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 2));
const terminal = Boolean(process.stdout.isTTY);
try {
  process.exitCode = await runCommand(inv, token, {
    json: inv.json, terminal, colour: terminal && !process.env.NO_COLOR,
    write: (text) => process.stdout.write(text),
    bytes: (data) => process.stdout.write(data),
  }, (line) => process.stderr.write(`${PROG}: ${line}\n`));
} catch (err) {
  die(PROG, `unexpected error: ${(err as Error).message?.split('\n')[0] ?? String(err)}`, 2);
}
