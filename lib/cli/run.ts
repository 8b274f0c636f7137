// One run of the simplebb command: the command's work against the API, and its failure as one line and exit 2.
import { Api, ApiError } from './api.js';
import type { Invocation } from './args.js';
import { history } from './history.js';
import { logs } from './logs.js';
import type { Output } from './output.js';
import { hookTest } from './hookTest.js';
import { prune } from './prune.js';
import { queue } from './queue.js';
import { showReport, showSuggestion } from './show.js';
import { status } from './status.js';
import { suggest } from './suggest.js';
import { where } from './where.js';
import { cancel } from './cancel.js';
import { rerun } from './rerun.js';

/** Exit 2: the command could not do its work (said on stderr). */
export const EXIT_ERROR = 2;

/** `simplebb suggest --on`: no known builder matches, as simplebb-suggest's exit 3. */
const EXIT_NOBODY = 3;

/** Runs `inv` with `token` and resolves to the exit code; an ApiError becomes one line through `err`. */
export async function runCommand(inv: Invocation, token: string | undefined, out: Output, err: (line: string) => void): Promise<number> {
  // fetch honours this variable, and the bearer token would go to whoever answers in the middle: refused, not obeyed.
  if (inv.url.protocol === 'https:' && process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    err('NODE_TLS_REJECT_UNAUTHORIZED=0 would send your token to anyone in the middle; unset it (trust a private CA with NODE_EXTRA_CA_CERTS=ca.crt)');
    return EXIT_ERROR;
  }
  const api = new Api({ url: inv.url, token, timeoutMs: inv.timeoutMs, tokenHint: inv.token.hint });
  const c = inv.command;
  try {
    switch (c.name) {
      case 'status': return await status(api, out);
      case 'history': return await history(api, out, c);
      case 'show': return await (c.builder === undefined ? showSuggestion(api, out, c.id) : showReport(api, out, c.id, c.builder));
      case 'logs': return await logs(api, out, c.id, c.builder, c.follow, inv.timeoutMs);
      case 'prune': return await prune(api, out, c.dryRun);
      case 'where': return await where(api, out, c.project, c.branch);
      case 'queue': return await queue(api, out, c.limit);
      case 'cancel': return await cancel(api, out, c.id, { ...(c.builder !== undefined ? { builder: c.builder } : {}), ...(c.reason !== undefined ? { reason: c.reason } : {}) });
      case 'rerun': return await rerun(api, out, c.id, { ...(c.builder !== undefined ? { builder: c.builder } : {}), ...(c.on !== undefined ? { on: c.on } : {}) });
      // The delivery proves itself by its signature; no token goes with it.
      case 'hook': return await hookTest(new Api({ url: inv.url, token: undefined, timeoutMs: inv.timeoutMs, tokenHint: "--secret-file must hold the secret the master's --hooks file names for this forge" }), out, c);
      case 'suggest': return await suggest(api, out, { project: c.project, branch: c.branch, ...(c.revision !== undefined ? { revision: c.revision } : {}), ...(c.on !== undefined ? { on: c.on } : {}), ...(c.notify !== undefined ? { notify: c.notify } : {}), ...(c.one ? { one: true } : {}) });
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    err(e.message);
    // The selector was checked before it was sent: a 422 to a suggestion says no known builder matches it.
    return e.status === 422 && (inv.command.name === 'suggest' || inv.command.name === 'rerun') ? EXIT_NOBODY : EXIT_ERROR;
  }
}
