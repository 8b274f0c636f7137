#!/usr/bin/env node
// simplebb-suggest: asks the master to have every builder build PROJECT at BRANCH (or at the branches a git push updated).
import { die, opt, port, program, seconds } from './lib/cli.js';
import { branchProblem, projectProblem, revisionProblem } from './lib/names.js';
import { parsePostReceive } from './lib/postreceive.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './lib/protocol.js';
import { runSuggest } from './lib/suggester.js';

const cmd = program('simplebb-suggest', 'Suggest a build of PROJECT at each BRANCH; with no BRANCH, read git post-receive lines from stdin.')
  .argument('<project>', 'the project (a buildscript name on the builders)')
  .argument('[branch...]', 'branches to build')
  .addOption(opt('-H, --host <host>', 'the master\'s host', 'SIMPLEBB_HOST', DEFAULT_HOST))
  .addOption(opt('-p, --port <port>', 'the master\'s port', 'SIMPLEBB_PORT', String(DEFAULT_PORT)).argParser(port))
  .option('-r, --revision <rev>', 'the revision to build (with a single BRANCH)')
  .option('-w, --wait', 'wait for every builder\'s verdict; exit 0 all ran ok, 1 any failed, 3 none could build it')
  .option('-f, --follow', 'stream the builds\' output live (implies --wait)')
  .addOption(opt('-t, --timeout <sec>', 'give up waiting after this long (exit 124); 0 for never', 'SIMPLEBB_WAIT_TIMEOUT', '0').argParser(seconds('--timeout', true)))
  .addOption(opt('--connect-timeout <sec>', 'give up reaching the master after this long', 'SIMPLEBB_CONNECT_TIMEOUT', '5').argParser(seconds('--connect-timeout')))
  .option('--json', 'print one JSON object per line instead of text')
  .parse();

const [project, branchArgs] = cmd.processedArgs as [string, string[]];
const o = cmd.opts<{ host: string; port: number | string; revision?: string; wait?: boolean; follow?: boolean; timeout: number | string; connectTimeout: number | string; json?: boolean }>();
const num = (v: number | string, parse: (s: string) => number): number => (typeof v === 'number' ? v : parse(v));

const bad = projectProblem(project);
if (bad) die('simplebb-suggest', `invalid project "${project}": ${bad}`, 2);

let branches: Array<{ branch: string; revision?: string }>;
if (branchArgs.length) {
  if (o.revision && branchArgs.length > 1) die('simplebb-suggest', '--revision goes with a single BRANCH', 2);
  branches = branchArgs.map((b) => ({ branch: b, ...(o.revision ? { revision: o.revision } : {}) }));
} else {
  if (process.stdin.isTTY) die('simplebb-suggest', 'no BRANCH given and stdin is a terminal (expected git post-receive lines "OLD NEW REF")', 2);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024 * 1024) die('simplebb-suggest', 'stdin is larger than 16 MiB; expected git post-receive lines', 2);
    chunks.push(chunk as Buffer);
  }
  try {
    branches = parsePostReceive(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    die('simplebb-suggest', (err as Error).message, 2);
  }
  if (!branches.length) process.exit(0); // only deletions or tags: nothing to build
}
for (const b of branches) {
  const p = branchProblem(b.branch);
  if (p) die('simplebb-suggest', `invalid branch "${b.branch}": ${p}`, 2);
  const r = b.revision ? revisionProblem(b.revision) : null;
  if (r) die('simplebb-suggest', `invalid revision "${b.revision}": ${r}`, 2);
}

const master = { host: o.host, port: num(o.port, port) };
const code = await runSuggest({
  master, project, branches,
  wait: Boolean(o.wait || o.follow), follow: Boolean(o.follow), json: Boolean(o.json),
  waitTimeoutMs: num(o.timeout, seconds('--timeout', true)),
  connectTimeoutMs: num(o.connectTimeout, seconds('--connect-timeout')),
  heartbeatMs: 10_000,
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
});
process.exitCode = code;
