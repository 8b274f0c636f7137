// A project's build durations over its recent outcomes as an inline SVG: drawn on the server, read without JS.
import { OUTCOME_VERDICTS, type ReportSummary } from '../../store/history.js';
import { duration, utc } from './format.js';
import { html, raw, type Html } from './html.js';

const W = 720;
const H = 180;
const PAD = { left: 64, right: 12, top: 12, bottom: 24 };

/** Oldest first, at most `max`, only builds that ran to an outcome (the others have no duration worth drawing). */
export function trendPoints(reports: ReportSummary[], max = 100): ReportSummary[] {
  return reports.filter((r) => OUTCOME_VERDICTS.includes(r.verdict)).slice(0, max).reverse();
}

export function trendSvg(reports: ReportSummary[]): Html {
  const points = trendPoints(reports);
  if (points.length < 2) return html`<p class="explain">Too few builds yet to draw a trend.</p>`;
  const top = Math.max(...points.map((p) => p.durationMs), 1);
  const x = (i: number) => PAD.left + (i * (W - PAD.left - PAD.right)) / (points.length - 1);
  const y = (ms: number) => PAD.top + (1 - ms / top) * (H - PAD.top - PAD.bottom);
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.durationMs).toFixed(1)}`).join(' ');
  const marks = points.map((p, i) => {
    const cx = x(i).toFixed(1);
    const cy = y(p.durationMs).toFixed(1);
    const label = html`<title>${p.branch} on ${p.builder}: ${p.verdict}, ${duration(p.durationMs)}, ${utc(p.receivedAt)}</title>`;
    // Red builds are squares, green ones circles: told apart without colour.
    return p.verdict === 'success'
      ? html`<circle class="pt ok" cx="${cx}" cy="${cy}" r="3.5">${label}</circle>`
      : html`<rect class="pt bad" x="${(Number(cx) - 4).toFixed(1)}" y="${(Number(cy) - 4).toFixed(1)}" width="8" height="8">${label}</rect>`;
  });
  return html`<figure class="trend">
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="build duration of the last ${points.length} builds, oldest on the left">
<line class="axis" x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}"/>
<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}"/>
<text class="lbl" x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${duration(top)}</text>
<text class="lbl" x="${PAD.left - 6}" y="${H - PAD.bottom}" text-anchor="end">0</text>
<text class="lbl" x="${PAD.left}" y="${H - 6}">oldest</text>
<text class="lbl" x="${W - PAD.right}" y="${H - 6}" text-anchor="end">newest</text>
<polyline class="trendline" points="${raw(line)}"/>
${marks}
</svg>
<figcaption>Duration of the last ${points.length} builds that ran to an outcome: ○ success, □ failure or timeout.</figcaption>
</figure>`;
}
