// The after-script sink: an executable in the configured directory, run on the master with the notice in its environment.
import { join } from 'node:path';
import { Run } from '../exec/run.js';
import { pageUrl, tailOf, type Notice } from './notice.js';
import type { Sink } from './sink.js';

/** After SIGTERM to its group at the timeout, a script has this long before SIGKILL (as builds). */
const KILL_GRACE_MS = 2000;

export interface ScriptSinkConfig {
  dir: string;
  /** A file name in `dir` (no slashes), executable. */
  name: string;
  timeoutMs: number;
  baseUrl?: string;
}

/** What a script sees: the notice in SIMPLEBB_* variables, the master's PATH, HOME and locale, nothing else of its environment. */
export function scriptEnv(n: Notice, baseUrl: string | undefined, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const first = n.builds[0];
  const url = pageUrl(n, baseUrl);
  const keep = Object.fromEntries(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'].filter((k) => parent[k] !== undefined).map((k) => [k, parent[k]]));
  return {
    ...keep,
    SIMPLEBB_NOTIFICATION: n.id,
    SIMPLEBB_RULE: n.rule,
    SIMPLEBB_VERDICT: n.verdict,
    SIMPLEBB_LAST_VERDICT: first?.lastVerdict ?? '',
    SIMPLEBB_TRANSITION: n.transition,
    SIMPLEBB_PROJECT: n.project,
    SIMPLEBB_BRANCH: n.branch,
    SIMPLEBB_REVISION: n.revision ?? '',
    SIMPLEBB_BUILDER: n.overdue ? n.overdue.builder : n.builds.map((b) => b.builder).join(' '),
    SIMPLEBB_SUGGESTION: n.suggestion,
    SIMPLEBB_URL: url ?? '',
  };
}

export class ScriptSink implements Sink {
  constructor(private readonly config: ScriptSinkConfig) {}

  async send(n: Notice): Promise<void> {
    const script = join(this.config.dir, this.config.name);
    const run = new Run({
      script, branch: n.branch, workDir: this.config.dir, env: scriptEnv(n, this.config.baseUrl),
      timeoutMs: this.config.timeoutMs, killGraceMs: KILL_GRACE_MS,
    }, () => true);
    const r = await run.result;
    if (r.verdict === 'success') return;
    const tail = tailOf(r.output).split('\n').at(-1);
    throw new Error(`${this.config.name}: ${r.message ?? `exit ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}`}${tail ? `: ${tail}` : ''}`);
  }
}
