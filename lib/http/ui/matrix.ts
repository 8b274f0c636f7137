// The front page: project × builder, the newest build outcome in each cell, red rows first, who is online on top.
import type { Board } from '../../master/board.js';
import { RED_VERDICTS, type Cell, type History } from '../../store/history.js';
import { ago, verdictMark } from './format.js';
import { html, seg, type Html } from './html.js';
import { page } from './layout.js';

/** Cells the matrix reads at most (project × branch × builder); beyond it the oldest cells are left out. */
const MAX_CELLS = 5000;

export interface MatrixRow {
  project: string;
  failing: boolean;
  /** The newest outcome per builder, over all branches. */
  cells: Map<string, Cell>;
  /** Per builder, the red newest outcomes of the other branches (a green feature branch must not hide a red main). */
  alsoRed: Map<string, Cell[]>;
}

/**
 * The rows: per project the newest outcome on each builder over all branches, failing projects (red now on some
 * branch and builder) first, then by name; a project that only runs now (nothing reported yet) has a row too.
 */
export function matrixRows(latest: Cell[], runningProjects: Iterable<string> = []): MatrixRow[] {
  const rows = new Map<string, MatrixRow>();
  const row = (project: string): MatrixRow => {
    const r = rows.get(project) ?? { project, failing: false, cells: new Map<string, Cell>(), alsoRed: new Map<string, Cell[]>() };
    rows.set(project, r);
    return r;
  };
  for (const r of latest) {
    const cells = row(r.project).cells;
    const had = cells.get(r.builder);
    if (!had || had.receivedAt < r.receivedAt) cells.set(r.builder, r);
  }
  for (const r of latest) {
    const x = row(r.project);
    if (!RED_VERDICTS.has(r.verdict)) continue;
    x.failing = true;
    if (x.cells.get(r.builder) === r) continue;
    const also = x.alsoRed.get(r.builder);
    if (also) also.push(r);
    else x.alsoRed.set(r.builder, [r]);
  }
  for (const p of runningProjects) row(p);
  return [...rows.values()].sort((a, b) => Number(b.failing) - Number(a.failing) || (a.project < b.project ? -1 : 1));
}

export async function matrixPage(history: History, board: Board, now: number): Promise<Html> {
  const [latest, known] = await Promise.all([history.cells(MAX_CELLS), history.builderNames()]);
  const online = new Set(board.builders().map((b) => b.name));
  const names = [...new Set([...known.map((b) => b.name), ...online, ...latest.map((r) => r.builder)])].sort();
  const rows = matrixRows(latest, board.builders().flatMap((b) => b.running.flatMap((r) => (r.project ? [r.project] : []))));
  const head = names.map((n) => html`<th scope="col"><a href="/builders#b-${n}">${n}</a><br>${online.has(n)
    ? html`<span class="on">● online</span>` : html`<span class="off">○ offline</span>`}</th>`);
  const body = rows.map((row) => html`<tr class="${row.failing ? 'red' : 'green'}">
<th scope="row"><a href="/p/${seg(row.project)}">${row.project}</a>${row.failing ? html` <span class="v v-failure">failing</span>` : ''}</th>
${names.map((n) => cell(row.cells.get(n), row.alsoRed.get(n) ?? [], board.running(row.project, undefined, n), now))}
</tr>`);
  const main = rows.length === 0
    ? html`<h1>Matrix</h1><p class="explain">Nothing built yet: no report is in the record.</p>`
    : html`<h1>Matrix</h1>
<p class="explain">The newest build outcome of each project on each builder (any branch). Failing projects first.</p>
<div class="scroll"><table class="matrix">
<thead><tr><th scope="col">project</th>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>`;
  return page('Matrix', 'matrix', main);
}

function cell(r: Cell | undefined, alsoRed: Cell[], running: boolean, now: number): Html {
  const busy = running ? html`<span class="run">▶ running</span>` : '';
  if (!r) return html`<td class="cell empty">${busy || html`<span class="none">–</span>`}</td>`;
  return html`<td class="cell c-${r.verdict}${alsoRed.length > 0 ? ' also-red' : ''}"><a href="/b/${seg(r.id)}/${seg(r.builder)}" title="${r.project} ${r.branch} on ${r.builder}: ${r.verdict}">${verdictMark(r.verdict)}</a>
<small>${r.branch} · ${ago(r.receivedAt, now)}</small>${alsoRed.map((x) => html`<small class="also">also <a href="/b/${seg(x.id)}/${seg(x.builder)}">${verdictMark(x.verdict, true)} ${x.branch}</a></small>`)}${busy}</td>`;
}
