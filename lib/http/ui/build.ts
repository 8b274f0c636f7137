// One build's page: its report (verdict, exit code, times, system, revision) or, while it runs, what is known of it,
// and its log rendered as a terminal would, sent as it is rendered; a running build's page then follows it (live.js).
import type { Board } from '../../master/board.js';
import type { OverdueWatch } from '../../master/overdue.js';
import type { StoredReport } from '../../store/store.js';
import { usualDuration } from '../usualDuration.js';
import { cancelButton, rerunButton } from './buttons.js';
import { bytes, duration, overdueMark, stateMark, verdictMark, when } from './format.js';
import { html, seg, type Html } from './html.js';
import { notFound, pageParts } from './layout.js';
import { LogBudget, PAGE_LOG_BYTES } from './logBudget.js';
import { BLOCK_LINES, LogLines } from './log.js';
import { finishedLog, runningLog, type LogSources } from './logSource.js';

export interface BuildDeps extends LogSources {
  board: Board;
  /** Which running builds are overdue. */
  overdue?: Pick<OverdueWatch, 'overdueOf'>;
  /** The reader may act (operator.ts): a running build gets a cancel button, a finished one a rerun on its builder. */
  canAct?: boolean;
}

export type BuildAnswer = { status: number; body: Html } | { status: 200; stream: AsyncIterable<string> };

const NEWLINE = 0x0a;

/** The plain-text log route of a build (the whole log, or a running one followed like `tail -f`). */
export function rawLogPath(id: string, builder: string): string {
  return `/api/v1/reports/${seg(id)}/${seg(builder)}/log`;
}

/** The build's page: a finished one's report and whole log, a running one's output so far; else a 404 page. */
export async function buildPage(deps: BuildDeps, id: string, builder: string): Promise<BuildAnswer> {
  const r = await deps.history.report(id, builder);
  if (r) return { status: 200, stream: finishedPage(deps, r) };
  const running = runningLog(deps, id, builder, false);
  if (running) return { status: 200, stream: runningPage(deps, id, builder, running) };
  return { status: 404, body: notFound(`There is no report of builder ${JSON.stringify(builder.slice(0, 128))} for suggestion ${JSON.stringify(id.slice(0, 64))}, and it does not run now.`) };
}

/** What the page says of the build above its log: the report's facts, or what the board knows of it while it runs. */
export async function buildFacts(deps: BuildDeps, id: string, builder: string): Promise<Html> {
  const r = await deps.history.report(id, builder);
  return r ? reportFacts(deps, r) : runningFacts(deps, id, builder);
}

/** The build's duration beside its builder's usual one for the project and branch, when it has one to compare with. */
function againstUsual(ms: number, usual: number | undefined): Html | '' {
  if (usual === undefined || usual <= 0) return '';
  const ratio = ms / usual;
  const how = ratio >= 1.5 ? `${ratio.toFixed(1)}× its usual` : ratio <= 0.67 ? `${(1 / ratio).toFixed(1)}× faster than usual` : 'about as usual';
  return html` <span class="msg">(usually ${duration(usual)}: ${how})</span>`;
}

async function reportFacts(deps: Pick<BuildDeps, 'history' | 'canAct'>, r: StoredReport): Promise<Html> {
  // Neither is needed for the page: a record that cannot answer leaves them out.
  const [usual, suggestion] = await Promise.all([
    usualDuration(deps.history, r.project, r.branch, r.builder).catch(() => undefined),
    deps.history.suggestionView(r.id).catch(() => undefined),
  ]);
  return html`<div id="facts">
<h1>${verdictMark(r.verdict)} <a href="/p/${seg(r.project)}">${r.project}</a> ${r.branch} on ${r.builder}</h1>
<dl class="facts">
<dt>verdict</dt><dd>${verdictMark(r.verdict)}${r.message ? html` <span class="msg">${r.message}</span>` : ''}${deps.canAct ? rerunButton(r.id, r.builder, `rerun on ${r.builder}`) : ''}</dd>
<dt>exit code</dt><dd>${r.exitCode}${r.signal ? ` (signal ${r.signal})` : ''}</dd>
<dt>started</dt><dd>${when(r.startedAt)}</dd>
<dt>reported</dt><dd>${when(r.receivedAt)}</dd>
<dt>duration</dt><dd>${duration(r.durationMs)}${againstUsual(r.durationMs, usual)}</dd>
<dt>revision</dt><dd><code>${r.revision ?? '–'}</code></dd>
<dt>suggestion</dt><dd><a href="/s/${seg(r.id)}"><code>${r.id}</code></a></dd>
${suggestion ? html`<dt>suggested by</dt><dd>${suggestion.from}, ${when(suggestion.createdAt)}</dd>` : ''}
<dt>system</dt><dd>${r.uname.type} ${r.uname.release} ${r.uname.machine} (${r.uname.hostname}) ${r.uname.version}</dd>
<dt>Node</dt><dd>${r.node}</dd>
<dt>output</dt><dd>${bytes(r.outputBytes)}${r.outputCut > 0 ? `, ${bytes(r.outputCut)} cut from the middle of the report's copy` : ''} · <a href="${rawLogPath(r.id, r.builder)}">plain text</a></dd>
</dl>
</div>`;
}

function runningFacts(deps: Pick<BuildDeps, 'board' | 'overdue' | 'canAct'>, id: string, builder: string): Html {
  const b = deps.board.builders().find((x) => x.name === builder);
  const run = b?.running.find((x) => x.id === id);
  const title = run?.project ? html`<a href="/p/${seg(run.project)}">${run.project}</a> ${run.branch ?? ''}` : html`<code>${id}</code>`;
  return html`<div id="facts">
<h1>${run ? stateMark('started') : verdictMark(undefined)} ${title} on ${builder}</h1>
<dl class="facts">
<dt>state</dt><dd>${run ? html`running${overdueMark(deps.overdue?.overdueOf(id, builder))}${deps.canAct ? cancelButton(id, builder) : ''}` : 'not running any more; its report is not in yet'}</dd>
<dt>started</dt><dd>${when(run?.startedAt)}</dd>
<dt>suggestion</dt><dd><a href="/s/${seg(id)}"><code>${id}</code></a></dd>
${b ? html`<dt>system</dt><dd>${b.uname.type} ${b.uname.release} ${b.uname.machine} (${b.uname.hostname}) ${b.uname.version}</dd>
<dt>Node</dt><dd>${b.node}</dd>` : ''}
<dt>output</dt><dd><a href="${rawLogPath(id, builder)}">plain text, as it comes</a></dd>
</dl>
</div>`;
}

/** The mark where a page leaves the middle of a long log out, with the way to the whole of it. */
function cutMark(skipped: { bytes: number; lines: number }, raw: string): Html {
  return html`<p class="cut" role="note">${skipped.bytes.toLocaleString('en')} bytes (${skipped.lines.toLocaleString('en')} lines) not shown here; the whole log: <a href="${raw}">${raw}</a></p>`;
}

/**
 * The log's lines in blocks as its bytes come: the head at once, and beyond the page's budget the middle left out
 * (with its mark) and the tail. Returns, through `at`, the offset after the last whole line and the lines to it.
 */
async function* logBody(pieces: AsyncIterable<Buffer>, start: number, raw: string, partialLast: boolean, at: { offset: number; lines: number }): AsyncGenerator<string> {
  const budget = new LogBudget(PAGE_LOG_BYTES / 2, PAGE_LOG_BYTES / 2);
  const lines = new LogLines({ blocks: true });
  let offset = start;
  at.offset = start;
  yield `<div class="logview" data-block="${BLOCK_LINES}"><pre class="log">`;
  try {
    for await (const c of pieces) {
      const nl = c.lastIndexOf(NEWLINE);
      if (nl >= 0) at.offset = offset + nl + 1;
      offset += c.length;
      const shown = budget.push(c);
      if (shown.length > 0) {
        const h = lines.push(shown);
        if (h !== '') yield h;
      }
    }
  } catch {
    yield `</pre><p class="cut" role="note">The log could not be read to its end here; <a href="${raw}">the plain text</a> may have more.</p><pre class="log">`;
  }
  const { skipped, tail } = budget.end();
  if (skipped.bytes > 0) yield lines.gap(skipped.lines, cutMark(skipped, raw));
  if (tail.length > 0) yield lines.push(tail);
  at.lines = lines.line;
  yield `${lines.end(partialLast)}</pre></div>`;
}

async function* finishedPage(deps: BuildDeps, r: StoredReport): AsyncGenerator<string> {
  const { head, foot } = pageParts(`${r.project} ${r.branch} on ${r.builder}`, 'none');
  yield head.value;
  yield (await reportFacts(deps, r)).value;
  yield '\n<h2 id="log">Log</h2>\n';
  if (r.outputBytes === 0 && r.output === '') yield '<p class="explain">The build printed nothing.</p>';
  else {
    const log = await finishedLog(deps, r);
    if (!log.whole && r.outputCut > 0) yield html`<p class="explain">The master keeps no whole log of this build; this is the report's copy: its first and last part.</p>`.value;
    yield* logBody(log.pieces, 0, rawLogPath(r.id, r.builder), false, { offset: 0, lines: 0 });
  }
  yield foot.value;
}

async function* runningPage(deps: BuildDeps, id: string, builder: string, running: ReturnType<typeof runningLog> & object): AsyncGenerator<string> {
  const { head, foot } = pageParts(`running: ${id} on ${builder}`, 'none');
  try {
    yield head.value;
    yield runningFacts(deps, id, builder).value;
    yield '\n<h2 id="log">Log</h2>\n';
    if (running.start > 0) yield html`<p class="explain">The first ${bytes(running.start)} of this build's output are not kept for live readers; the whole log is here once the build ends.</p>`.value;
    const at = { offset: 0, lines: 0 };
    yield* logBody(running.pieces, running.start, rawLogPath(id, builder), true, at);
    const page = `/b/${seg(id)}/${seg(builder)}`;
    yield html`
<p class="follow" id="follow" data-lines="${rawLogPath(id, builder)}/lines?from=${at.offset}"><span class="v v-started">▶ running</span>: this is its output so far. <noscript>It goes on: <a href="${page}">reload</a> to see more.</noscript><span class="follow-live" hidden>New lines appear as they are printed.</span></p>`.value;
  } finally {
    running.stop();
  }
  yield foot.value;
}
