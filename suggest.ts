#!/usr/bin/env node
// simplebb-suggest: asks the master to have every builder build PROJECT at BRANCH (or at the branches a git push updated).
// It runs on every git push, so it parses flags with node:util instead of commander and loads nothing it does not need.
import { parseArgs } from 'node:util';
import { argsProblem, die, port, readNamedFile, seconds } from './lib/common/args.js';
import { readToken } from './lib/common/token.js';
import { DEFAULT_HOST, DEFAULT_PORT, MAX_RETRIES } from './lib/protocol/limits.js';
import { notifyAddressProblem } from './lib/protocol/check.js';
import { labelNameProblem } from './lib/protocol/labels.js';
import { branchProblem, projectProblem, revisionProblem } from './lib/protocol/names.js';
import { parsePostReceive } from './lib/suggest/postreceive.js';
import { runSuggest } from './lib/suggest/suggester.js';
import { tlsEnvWarning } from './lib/wire/dial.js';

const PROG = 'simplebb-suggest';
const HELP = `Usage: simplebb-suggest [options] <project> [branch...]

Suggest a build of PROJECT at each BRANCH; with no BRANCH, read git post-receive lines from stdin.

Arguments:
  project                  the project (a buildscript name on the builders)
  branch                   branches to build

Options:
  -V, --version            output the version number
  -H, --host <host>        the master's host, or auto: find it on the local network by DNS-SD (default: "${DEFAULT_HOST}", env: SIMPLEBB_HOST)
  -p, --port <port>        the master's port; with -H auto, the one announced (default: "${DEFAULT_PORT}", env: SIMPLEBB_PORT)
  -r, --revision <rev>     the revision to build (with a single BRANCH)
  -w, --wait               wait for every builder's verdict; exit 0 all ran ok, 1 any failed, 3 none could build it
  -f, --follow             stream the builds' output live (implies --wait)
  -t, --timeout <sec>      give up waiting after this long (exit 124); 0 for never (default: "0", env: SIMPLEBB_WAIT_TIMEOUT)
  --connect-timeout <sec>  give up reaching the master after this long, trying again while it refuses (default: "5", env: SIMPLEBB_CONNECT_TIMEOUT)
  --on <selector>          only builders whose labels match, e.g. 'os=linux && arch in (x64,arm64) && mem>=8 && !pool=flaky';
                           exit 3 at once, naming the closest misses, when no known builder matches
  --one                    to one matching builder that has the script (most free, then least recently used, then
                           the one that built it last); waits in the master's queue while none is free
  --each <label>           like --one, once per distinct value of LABEL among the builders that can build it
                           (one build per arch, say)
  --retries <n>            with --one: offer a build lost with its builder to another one up to n times (default: 2)
  --dry-run                record nothing: print who would build it (and who not, and why), exit 0 (3 if nobody)
  --notify <address>       mail this address the summary (every builder's verdict) once all have reported;
                           the master must have a mail sink for it ("suggesterMail" in its --notify file)
  --json                   print one JSON object per line instead of text
  --token-file <file>      the suggest token (or $SIMPLEBB_SUGGEST_TOKEN) (env: SIMPLEBB_SUGGEST_TOKEN_FILE)
  --tls                    connect with TLS (env: SIMPLEBB_TLS=1)
  --tls-ca <file>          trust this CA (PEM) instead of the system CAs; implies --tls (env: SIMPLEBB_TLS_CA)
  -h, --help               display help for command
`;

/** A usage error: one line with a hint, exit 2. */
function usage(message: string): never {
  return die(PROG, `${message} (see --help)`, 2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      host: { type: 'string', short: 'H' }, port: { type: 'string', short: 'p' }, revision: { type: 'string', short: 'r' },
      wait: { type: 'boolean', short: 'w' }, follow: { type: 'boolean', short: 'f' }, timeout: { type: 'string', short: 't' },
      'connect-timeout': { type: 'string' }, json: { type: 'boolean' }, on: { type: 'string' }, 'dry-run': { type: 'boolean' }, one: { type: 'boolean' }, each: { type: 'string' }, retries: { type: 'string' }, notify: { type: 'string' }, 'token-file': { type: 'string' }, tls: { type: 'boolean' },
      'tls-ca': { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' },
    },
  });
} catch (err) {
  usage(argsProblem(err));
}
const o = parsed.values;
if (o.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (o.version) {
  process.stdout.write(`${(await import('./lib/common/version.js')).VERSION}\n`);
  process.exit(0);
}

const env = process.env;
const pick = (flag: string | undefined, envName: string, fallback?: string): string | undefined => flag ?? env[envName] ?? fallback;
const value = <T>(text: string | undefined, parse: (t: string) => T, fallback: T): T => {
  if (text === undefined) return fallback;
  try {
    return parse(text);
  } catch (err) {
    return usage((err as Error).message);
  }
};
const [project, ...branchArgs] = parsed.positionals;
if (!project) usage("missing required argument 'project'");

const bad = projectProblem(project);
if (bad) die(PROG, `invalid project "${project}": ${bad}`, 2);
const on = o.on;
// Loaded only with --on: the git hook's path loads nothing it does not use.
const onProblem = on !== undefined ? (await import('./lib/protocol/selector.js')).selectorProblem(on) : null;
if (onProblem) die(PROG, `--on: ${onProblem}`, 2);
const notify = o.notify;
if (o.retries !== undefined && !o.one && o.each === undefined) usage('--retries goes with --one or --each');
const eachProblem = o.each !== undefined ? labelNameProblem(o.each) : null;
if (eachProblem) usage(`--each ${JSON.stringify(o.each!.slice(0, 80))}: ${eachProblem}`);
const retries = o.retries !== undefined ? Number(o.retries) : undefined;
if (retries !== undefined && !(/^\d+$/.test(o.retries!) && retries <= MAX_RETRIES)) usage(`--retries ${JSON.stringify(o.retries!.slice(0, 40))}: give a whole number from 0 to ${MAX_RETRIES}`);
const notifyProblem = notify !== undefined ? notifyAddressProblem(notify) : null;
if (notifyProblem) die(PROG, `--notify ${JSON.stringify(notify!.slice(0, 300))}: ${notifyProblem}`, 2);

let branches: Array<{ branch: string; revision?: string }>;
if (branchArgs.length) {
  if (o.revision && branchArgs.length > 1) die(PROG, '--revision goes with a single BRANCH', 2);
  branches = branchArgs.map((b) => ({ branch: b, ...(o.revision ? { revision: o.revision } : {}) }));
} else {
  // `-rf main` reads as revision "f" for project "main": a revision names one branch's commit, so without a branch it is a mistake.
  if (o.revision !== undefined) die(PROG, `--revision "${o.revision}" needs a BRANCH (usage: ${PROG} PROJECT BRANCH --revision REV)`, 2);
  if (process.stdin.isTTY) die(PROG, 'no BRANCH given and stdin is a terminal (expected git post-receive lines "OLD NEW REF")', 2);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024 * 1024) die(PROG, 'stdin is larger than 16 MiB; expected git post-receive lines', 2);
    chunks.push(chunk as Buffer);
  }
  // git gives a post-receive hook one line per updated ref, never none: empty stdin means no BRANCH was given by mistake.
  const input = Buffer.concat(chunks).toString('utf8');
  if (!input.trim()) die(PROG, `no BRANCH given and stdin is empty (usage: ${PROG} PROJECT BRANCH, or git post-receive lines on stdin)`, 2);
  try {
    branches = parsePostReceive(input);
  } catch (err) {
    die(PROG, (err as Error).message, 2);
  }
  if (!branches.length) process.exit(0); // only deletions or tags: nothing to build
}
// From the command line, one bad name is an error. From a push, a branch git accepts but we refuse (a leading "-",
// over 255 bytes) is skipped with a warning so the push's other branches are still built.
const fromPush = branchArgs.length === 0;
branches = branches.filter((b) => {
  const problem = branchProblem(b.branch) ?? (b.revision ? revisionProblem(b.revision) : null);
  if (!problem) return true;
  const what = branchProblem(b.branch) ? `branch "${b.branch}"` : `revision "${b.revision}"`;
  if (!fromPush) die(PROG, `invalid ${what}: ${problem}`, 2);
  process.stderr.write(`${PROG}: skipping invalid ${what}: ${problem}\n`);
  return false;
});
if (!branches.length) die(PROG, 'no valid branch to suggest', 2);

const host = pick(o.host, 'SIMPLEBB_HOST', DEFAULT_HOST)!;
const masterPort = value(pick(o.port, 'SIMPLEBB_PORT'), port, DEFAULT_PORT);
const waitTimeoutMs = value(pick(o.timeout, 'SIMPLEBB_WAIT_TIMEOUT'), seconds('--timeout', true), 0);
const connectTimeoutMs = value(pick(o['connect-timeout'], 'SIMPLEBB_CONNECT_TIMEOUT'), seconds('--connect-timeout'), 5000);
const tlsCa = pick(o['tls-ca'], 'SIMPLEBB_TLS_CA');
const tls = o.tls ?? /^(1|true|yes|on)$/i.test((env.SIMPLEBB_TLS ?? '').trim());

let token: string | undefined;
let ca: Buffer | undefined;
try {
  token = readToken(pick(o['token-file'], 'SIMPLEBB_SUGGEST_TOKEN_FILE'), 'SIMPLEBB_SUGGEST_TOKEN');
  if (tlsCa) {
    ca = readNamedFile(tlsCa);
  }
} catch (err) {
  die(PROG, (err as Error).message, 2);
}

let master = { host, port: masterPort };
let tlsTo: { ca?: Buffer } | undefined = tls || ca ? (ca ? { ca } : {}) : undefined;
if (host.trim().toLowerCase() === 'auto') {
  // Loaded only with -H auto: the search opens a UDP socket and waits for answers, which a push to a known master never needs.
  try {
    const dial = await (await import('./lib/wire/whichMaster.js')).whichMaster('auto', tlsTo);
    master = dial.address;
    tlsTo = dial.tls;
    process.stderr.write(`${PROG}: ${dial.found!.said}\n`);
  } catch (err) {
    die(PROG, (err as Error).message, 2);
  }
}
const tlsWarning = tlsEnvWarning(tlsTo !== undefined);
if (tlsWarning) process.stderr.write(`simplebb-suggest: warning: ${tlsWarning}\n`);
process.exitCode = await runSuggest({
  master, project, branches,
  wait: Boolean(o.wait || o.follow), follow: Boolean(o.follow), json: Boolean(o.json),
  ...(on !== undefined ? { on } : {}), dryRun: Boolean(o['dry-run']), ...(o.one ? { one: true } : {}), ...(o.each !== undefined ? { each: o.each } : {}), ...(retries !== undefined ? { retries } : {}), ...(notify !== undefined ? { notify } : {}),
  waitTimeoutMs, connectTimeoutMs, heartbeatMs: 10_000,
  ...(token !== undefined ? { token } : {}), ...(tlsTo ? { tls: tlsTo } : {}),
  out: (line) => process.stdout.write(line + '\n'),
  outBytes: (bytes) => process.stdout.write(bytes),
  ...(process.stdout.isTTY && !o.json ? { terminal: { color: !env.NO_COLOR } } : {}),
  err: (line) => process.stderr.write(line + '\n'),
});
