#!/usr/bin/env node
// simplebb-suggest: asks the master to have every builder build PROJECT at BRANCH (or at the branches a git push updated).
import { readFileSync } from 'node:fs';
import { readToken } from './lib/auth.js';
import { die, flag, opt, port, program, seconds } from './lib/cli.js';
import { branchProblem, projectProblem, revisionProblem } from './lib/names.js';
import { parsePostReceive } from './lib/postreceive.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './lib/limits.js';
import { runSuggest } from './lib/suggester.js';

const PROG = 'simplebb-suggest';
const cmd = program(PROG, 'Suggest a build of PROJECT at each BRANCH; with no BRANCH, read git post-receive lines from stdin.')
  .argument('<project>', 'the project (a buildscript name on the builders)')
  .argument('[branch...]', 'branches to build')
  .addOption(opt('-H, --host <host>', 'the master\'s host', 'SIMPLEBB_HOST', DEFAULT_HOST))
  .addOption(opt('-p, --port <port>', 'the master\'s port', 'SIMPLEBB_PORT', String(DEFAULT_PORT), port))
  .option('-r, --revision <rev>', 'the revision to build (with a single BRANCH)')
  .option('-w, --wait', 'wait for every builder\'s verdict; exit 0 all ran ok, 1 any failed, 3 none could build it')
  .option('-f, --follow', 'stream the builds\' output live (implies --wait)')
  .addOption(opt('-t, --timeout <sec>', 'give up waiting after this long (exit 124); 0 for never', 'SIMPLEBB_WAIT_TIMEOUT', '0', seconds('--timeout', true)))
  .addOption(opt('--connect-timeout <sec>', 'give up reaching the master after this long', 'SIMPLEBB_CONNECT_TIMEOUT', '5', seconds('--connect-timeout')))
  .option('--json', 'print one JSON object per line instead of text')
  .addOption(opt('--token-file <file>', 'the suggest token (or $SIMPLEBB_SUGGEST_TOKEN)', 'SIMPLEBB_SUGGEST_TOKEN_FILE'))
  .addOption(flag('--tls', 'connect with TLS', 'SIMPLEBB_TLS'))
  .addOption(opt('--tls-ca <file>', 'trust this CA (PEM) instead of the system CAs; implies --tls', 'SIMPLEBB_TLS_CA'))
  .parse();

const [project, branchArgs] = cmd.processedArgs as [string, string[]];
const o = cmd.opts<{
  host: string; port: number; revision?: string; wait?: boolean; follow?: boolean; timeout: number; connectTimeout: number; json?: boolean;
  tokenFile?: string; tls?: boolean; tlsCa?: string;
}>();

const bad = projectProblem(project);
if (bad) die(PROG, `invalid project "${project}": ${bad}`, 2);

let branches: Array<{ branch: string; revision?: string }>;
if (branchArgs.length) {
  if (o.revision && branchArgs.length > 1) die(PROG, '--revision goes with a single BRANCH', 2);
  branches = branchArgs.map((b) => ({ branch: b, ...(o.revision ? { revision: o.revision } : {}) }));
} else {
  if (process.stdin.isTTY) die(PROG, 'no BRANCH given and stdin is a terminal (expected git post-receive lines "OLD NEW REF")', 2);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024 * 1024) die(PROG, 'stdin is larger than 16 MiB; expected git post-receive lines', 2);
    chunks.push(chunk as Buffer);
  }
  try {
    branches = parsePostReceive(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    die(PROG, (err as Error).message, 2);
  }
  if (!branches.length) process.exit(0); // only deletions or tags: nothing to build
}
for (const b of branches) {
  const p = branchProblem(b.branch);
  if (p) die(PROG, `invalid branch "${b.branch}": ${p}`, 2);
  const r = b.revision ? revisionProblem(b.revision) : null;
  if (r) die(PROG, `invalid revision "${b.revision}": ${r}`, 2);
}

let token: string | undefined;
let ca: Buffer | undefined;
try {
  token = readToken(o.tokenFile, 'SIMPLEBB_SUGGEST_TOKEN');
  if (o.tlsCa) {
    try { ca = readFileSync(o.tlsCa); } catch (err) { throw new Error(`cannot read ${o.tlsCa}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
  }
} catch (err) {
  die(PROG, (err as Error).message, 2);
}

process.exitCode = await runSuggest({
  master: { host: o.host, port: o.port }, project, branches,
  wait: Boolean(o.wait || o.follow), follow: Boolean(o.follow), json: Boolean(o.json),
  waitTimeoutMs: o.timeout, connectTimeoutMs: o.connectTimeout, heartbeatMs: 10_000,
  ...(token !== undefined ? { token } : {}), ...(o.tls || ca ? { tls: ca ? { ca } : {} } : {}),
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
});
