// The simplebb command's command line: which command, its arguments and flags, checked into an Invocation, or a
// UsageError of one line. Pure (argv and environment in), so it is tested without running anything.
import { selectorProblem } from '../protocol/selector.js';
import { parseLabel } from '../protocol/labels.js';
import { parseArgs } from 'node:util';
import { argsProblem, integer, seconds } from '../common/args.js';
import { FORGES, type ForgeName } from '../forges/forge.js';
import { notifyAddressProblem } from '../protocol/check.js';
import { branchProblem, builderNameProblem, ID_RULE, ID_RULE_TEXT, projectProblem, revisionProblem, VERDICTS } from '../protocol/names.js';

/** As the master's cancel route takes it (lib/http/acting.ts). */
const MAX_REASON_CHARS = 1000;

/** Where the master's HTTP API listens unless told otherwise (its `--http` default). */
export const DEFAULT_URL = 'http://127.0.0.1:7901';
const DEFAULT_TIMEOUT = '10';
const DEFAULT_LIMIT = 20;

export interface HistoryFilters { project?: string; branch?: string; builder?: string; verdict?: string; label?: string }

export type Command =
  | { name: 'status' }
  | { name: 'history'; filters: HistoryFilters; failing: boolean; limit: number }
  | { name: 'show'; id: string; builder?: string }
  | { name: 'logs'; id: string; builder: string; follow: boolean }
  | { name: 'suggest'; project: string; branch: string; revision?: string; on?: string; notify?: string; one?: boolean }
  | { name: 'queue'; limit: number }
  | { name: 'prune'; dryRun: boolean }
  | { name: 'where'; project: string; branch?: string }
  | { name: 'cancel'; id: string; builder?: string; reason?: string }
  | { name: 'rerun'; id: string; builder?: string; on?: string }
  | { name: 'hook'; forge: ForgeName; secretFile: string; repository: string; branch: string };

export interface Invocation {
  command: Command;
  url: URL;
  json: boolean;
  timeoutMs: number;
  /** Where the token comes from: a file (flag or environment), else the variable `env`; and what to say after a 401 without one. */
  token: { file?: string; env: string; hint: string };
}

export type Parsed = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; invocation: Invocation };

/** A command line that cannot be run; the message is one line. */
export class UsageError extends Error {}

export const HELP = `Usage: simplebb [options] <command> [arguments]

Ask the master's HTTP API what the builders did and are doing.

Commands:
  status                       the builders (online or not, what each runs now) and the newest verdict of every
                               project, branch and builder, failing ones first
  history [filters]            reports, newest first
      --project <project>      only this project
      --branch <branch>        only this branch
      --builder <name>         only this builder
      --verdict <verdict>      only this verdict (${VERDICTS.join(', ')})
      --label <key=value>      only builds by a builder that had this label (arch=arm64, pool=fast)
      --failing                only the newest report of each project, branch and builder, if it is red
                               (failure or timeout); exit 1 when there is one
      --limit <n>              show this many (default: ${DEFAULT_LIMIT})
  show <id> [builder]          one suggestion and every builder's part in it; with BUILDER, its report
  logs <id> <builder>          the whole output the master kept of that build (as it is when not on a terminal)
      -f, --follow             a running build's output as it comes, until it ends; exit 0 if it passed, 1 if not
  where <project>              where the result of the project's newest suggestion is: every builder expected to
                               report and its state (reported, running for 2 min (usually 3 min), waiting,
                               offline since 14:05, lost, no script, excluded by the selector, superseded)
      --branch <branch>        the newest suggestion of this branch
  suggest <project> <branch>   ask every builder to build PROJECT at BRANCH (with the suggest token)
      -r, --revision <rev>     the revision to build
      --on <selector>          only builders whose labels match (exit 3 when no known builder does)
      --notify <address>       mail this address the summary once every builder has reported
      --one                    to one builder that has the script (queued in the master while none is free)
  queue                        the --one suggestions waiting for a free builder, in the order they go, and why
      --limit <n>              show this many (default: 100)
  cancel <id>                  stop a suggestion's builds (with the suggest token): a running one is killed (its
                               whole process group) and one not started is dropped; each is reported cancelled;
                               exit 1 when a builder's clientd is too old to be told
      --builder <name>         only this builder's build
      --reason <text>          why, in the cancelled reports (who cancelled is the request's address)
  rerun <id>                   suggest again what suggestion ID built: same project, branch and revision, shown
                               as "rerun of" it (with the suggest token); the same builders unless told
      --builder <name>         only this builder
      --on <selector>          only builders whose labels match (exit 3 when no known builder does)
  prune                        remove the full logs older than the master's --keep-logs days, except each
                               project, branch and builder's last success, last failure and the first failure
                               of its red streak (with the suggest token); the reports stay
      --dry-run                only list what would be removed (with the read token)
  hook test                    send the master a sample push delivery signed as the forge signs it
      --forge <forge>          ${FORGES.join(', ')}
      --secret-file <file>     the webhook's secret (GitLab: its signing token, whsec_…)
      --repository <owner/name> the repository the push is of (default: example/PROJECT for --project)
      --project <project>      with no --repository: example/PROJECT (default: example)
      --branch <branch>        the branch pushed (default: main)

Options:
  --url <url>                  the master's HTTP API (default: "${DEFAULT_URL}", env: SIMPLEBB_URL)
  --token-file <file>          the read token (or $SIMPLEBB_READ_TOKEN) (env: SIMPLEBB_READ_TOKEN_FILE); for suggest,
                               cancel, rerun and prune, the suggest token (or $SIMPLEBB_SUGGEST_TOKEN) (env: SIMPLEBB_SUGGEST_TOKEN_FILE)
  --json                       one JSON object per line instead of tables (not for logs)
  --timeout <sec>              give up on an answer after this long (default: "${DEFAULT_TIMEOUT}")
  -V, --version                output the version number
  -h, --help                   display help for command

Exit codes: 0 done; 1 history --failing found a failing build, or logs --follow followed one that did not pass;
2 an error, said in one line on stderr (an unknown id; a build that has already finished is not cancelled);
3 suggest or rerun --on/--builder: no known builder matches.
`;

/** Queued orders `simplebb queue` lists by default, and at most (the API's bound). */
const DEFAULT_QUEUE_LIMIT = 100;
const MAX_QUEUE_LIMIT = 10_000;

const OPTIONS = {
  url: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' },
  project: { type: 'string' }, branch: { type: 'string' }, builder: { type: 'string' }, verdict: { type: 'string' },
  failing: { type: 'boolean' }, limit: { type: 'string' }, label: { type: 'string' }, revision: { type: 'string', short: 'r' }, on: { type: 'string' }, notify: { type: 'string' }, 'dry-run': { type: 'boolean' }, one: { type: 'boolean' },
  reason: { type: 'string' },
  forge: { type: 'string' }, 'secret-file': { type: 'string' }, repository: { type: 'string' }, follow: { type: 'boolean', short: 'f' },
  help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' },
} as const;

/** Flags that belong to one command. */
const ONLY: Partial<Record<keyof typeof OPTIONS, Command['name']>> = {
  verdict: 'history', label: 'history', failing: 'history', revision: 'suggest', notify: 'suggest', one: 'suggest', reason: 'cancel', 'dry-run': 'prune', forge: 'hook', 'secret-file': 'hook', repository: 'hook', follow: 'logs',
};
/** Flags that belong to some commands. */
const SHARED: Partial<Record<keyof typeof OPTIONS, Array<Command['name']>>> = {
  project: ['history', 'hook'], branch: ['history', 'hook', 'where'], limit: ['history', 'queue'], builder: ['history', 'cancel', 'rerun'], on: ['suggest', 'rerun'],
};

/** The arguments each command takes: required, then optional. */
const ARGUMENTS: Record<Command['name'], [string[], string[]]> = {
  status: [[], []], history: [[], []], show: [['id'], ['builder']], logs: [['id', 'builder'], []], suggest: [['project', 'branch'], []], prune: [[], []], hook: [['action'], []], where: [['project'], []], queue: [[], []],
  cancel: [['id'], []], rerun: [['id'], []],
};

function usage(message: string): never {
  throw new UsageError(`${message} (see --help)`);
}

/** `parse(text)`, with its error as a UsageError. */
function checked<T>(text: string, parse: (t: string) => T): T {
  try {
    return parse(text);
  } catch (err) {
    return usage((err as Error).message);
  }
}

/** Refuses a name that breaks its rule, naming it. */
function valid(what: string, value: string, problem: string | null): string {
  if (problem) usage(`invalid ${what} "${value}": ${problem}`);
  return value;
}

function masterUrl(text: string): URL {
  if (!/^https?:\/\//i.test(text)) usage(`--url "${text}" must start with http:// or https://`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return usage(`--url "${text}" is not a URL (for example ${DEFAULT_URL})`);
  }
  if (url.username || url.password) usage('--url must not hold a user or password; give the token with --token-file');
  if (url.search || url.hash) usage(`--url "${text}" must not have a query or a fragment`);
  return url;
}

/** Parses the command line of `simplebb`; throws a UsageError. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    return usage(argsProblem(err));
  }
  const o = parsed.values;
  if (o.help) return { kind: 'help' };
  if (o.version) return { kind: 'version' };
  const [name, ...args] = parsed.positionals;
  if (!name) usage('missing command (status, history, show, logs, where, queue, suggest, cancel, rerun, prune or hook)');
  if (!Object.hasOwn(ARGUMENTS, name)) usage(`unknown command '${name}' (status, history, show, logs, where, queue, suggest, cancel, rerun, prune or hook)`);
  const command = name as Command['name'];
  for (const [flag, owner] of Object.entries(ONLY)) {
    if (o[flag as keyof typeof o] !== undefined && owner !== command) usage(`option '--${flag}' goes with ${owner}, not ${command}`);
  }
  for (const [flag, owners] of Object.entries(SHARED)) {
    if (o[flag as keyof typeof o] !== undefined && !owners.includes(command)) usage(`option '--${flag}' goes with ${owners.join(' or ')}, not ${command}`);
  }
  if (o.json && command === 'logs') usage('--json does not go with logs: the log is text (show ID BUILDER --json has it as "output")');
  const [required, optional] = ARGUMENTS[command];
  if (args.length < required.length) usage(`missing required argument '${required[args.length]}' of ${command}`);
  if (args.length > required.length + optional.length) usage(`too many arguments for ${command}: '${args[required.length + optional.length]}'`);

  let cmd: Command;
  switch (command) {
    case 'status':
      cmd = { name: 'status' };
      break;
    case 'history': {
      const filters: HistoryFilters = {};
      if (o.project !== undefined) filters.project = valid('project', o.project, projectProblem(o.project));
      if (o.branch !== undefined) filters.branch = valid('branch', o.branch, branchProblem(o.branch));
      if (o.builder !== undefined) filters.builder = valid('builder', o.builder, builderNameProblem(o.builder));
      if (o.verdict !== undefined) {
        filters.verdict = valid('verdict', o.verdict, (VERDICTS as readonly string[]).includes(o.verdict) ? null : `verdict must be one of ${VERDICTS.join(', ')}`);
      }
      if (o.label !== undefined) {
        try {
          filters.label = parseLabel(o.label).join('=');
        } catch (err) {
          usage(`--label: ${(err as Error).message}`);
        }
      }
      cmd = { name: 'history', filters, failing: Boolean(o.failing), limit: o.limit === undefined ? DEFAULT_LIMIT : checked(o.limit, integer('--limit', 1, 100_000)) };
      break;
    }
    case 'show':
    case 'logs': {
      const id = valid('suggestion id', args[0]!, ID_RULE.test(args[0]!) ? null : ID_RULE_TEXT);
      const builder = args[1] === undefined ? undefined : valid('builder', args[1], builderNameProblem(args[1]));
      cmd = command === 'logs' ? { name: 'logs', id, builder: builder!, follow: Boolean(o.follow) } : { name: 'show', id, ...(builder !== undefined ? { builder } : {}) };
      break;
    }
    case 'suggest': {
      const [project, branch] = [args[0]!, args[1]!];
      valid('project', project, projectProblem(project));
      valid('branch', branch, branchProblem(branch));
      if (o.revision !== undefined) valid('revision', o.revision, revisionProblem(o.revision));
      if (o.on !== undefined) {
        const problem = selectorProblem(o.on);
        if (problem) usage(`--on: ${problem}`);
      }
      if (o.notify !== undefined) {
        const problem = notifyAddressProblem(o.notify);
        if (problem) usage(`--notify ${JSON.stringify(o.notify.slice(0, 300))}: ${problem}`);
      }
      cmd = {
        name: 'suggest', project, branch, ...(o.revision !== undefined ? { revision: o.revision } : {}), ...(o.on !== undefined ? { on: o.on } : {}),
        ...(o.notify !== undefined ? { notify: o.notify } : {}), ...(o.one ? { one: true } : {}),
      };
      break;
    }
    case 'queue':
      cmd = { name: 'queue', limit: o.limit !== undefined ? checked(o.limit, integer('--limit', 1, MAX_QUEUE_LIMIT)) : DEFAULT_QUEUE_LIMIT };
      break;
    case 'where': {
      const project = valid('project', args[0]!, projectProblem(args[0]!));
      if (o.branch !== undefined) valid('branch', o.branch, branchProblem(o.branch));
      cmd = { name: 'where', project, ...(o.branch !== undefined ? { branch: o.branch } : {}) };
      break;
    }
    case 'cancel':
    case 'rerun': {
      const id = valid('suggestion id', args[0]!, ID_RULE.test(args[0]!) ? null : ID_RULE_TEXT);
      const builder = o.builder === undefined ? undefined : valid('builder', o.builder, builderNameProblem(o.builder));
      const only = builder !== undefined ? { builder } : {};
      if (command === 'cancel') {
        if (o.reason !== undefined && (o.reason.length === 0 || o.reason.length > MAX_REASON_CHARS)) usage(`--reason must be 1 to ${MAX_REASON_CHARS} characters`);
        cmd = { name: 'cancel', id, ...only, ...(o.reason !== undefined ? { reason: o.reason } : {}) };
        break;
      }
      if (o.on !== undefined) {
        const problem = selectorProblem(o.on);
        if (problem) usage(`--on: ${problem}`);
        if (builder !== undefined) usage('rerun takes --builder or --on, not both');
      }
      cmd = { name: 'rerun', id, ...only, ...(o.on !== undefined ? { on: o.on } : {}) };
      break;
    }
    case 'prune':
      cmd = { name: 'prune', dryRun: Boolean(o['dry-run']) };
      break;
    case 'hook': {
      if (args[0] !== 'test') usage(`unknown hook action '${args[0]}' (test)`);
      if (o.forge === undefined) usage('hook test needs --forge (' + FORGES.join(', ') + ')');
      if (!(FORGES as readonly string[]).includes(o.forge)) usage(`--forge must be one of ${FORGES.join(', ')}, got "${o.forge}"`);
      if (o['secret-file'] === undefined) usage('hook test needs --secret-file FILE (the webhook\'s secret)');
      if (o.project !== undefined) valid('project', o.project, projectProblem(o.project));
      const repository = o.repository ?? `example/${o.project ?? 'example'}`;
      if (!/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)+$/.test(repository) || repository.length > 512) usage(`--repository "${repository}" must be OWNER/NAME`);
      const branch = o.branch ?? 'main';
      valid('branch', branch, branchProblem(branch));
      cmd = { name: 'hook', forge: o.forge as ForgeName, secretFile: o['secret-file'], repository, branch };
      break;
    }
  }
  const role = command === 'suggest' || command === 'cancel' || command === 'rerun' || (cmd.name === 'prune' && !cmd.dryRun) ? 'SUGGEST' : 'READ';
  const fileEnv = `SIMPLEBB_${role}_TOKEN_FILE`;
  const file = o['token-file'] ?? (env[fileEnv] || undefined);
  const hint = `give the ${role.toLowerCase()} token with --token-file FILE, ${fileEnv} or SIMPLEBB_${role}_TOKEN`;
  return {
    kind: 'run',
    invocation: {
      command: cmd,
      url: masterUrl(o.url ?? (env.SIMPLEBB_URL || DEFAULT_URL)),
      json: Boolean(o.json),
      timeoutMs: checked(o.timeout ?? DEFAULT_TIMEOUT, seconds('--timeout')),
      token: { ...(file !== undefined ? { file } : {}), env: `SIMPLEBB_${role}_TOKEN`, hint },
    },
  };
}
