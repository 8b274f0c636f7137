// How the pages write times, durations, verdicts and delivery states: words and symbols first, colour only on top.
import { spoken } from '../../master/whereabouts.js';
import type { Verdict } from '../../protocol/names.js';
import type { DeliveryState } from '../../store/store.js';
import { html, type Html } from './html.js';

/** Each verdict's symbol: read without colour (and by a screen reader, through the word beside it). */
const MARKS: Readonly<Record<Verdict, string>> = {
  success: '✓', failure: '✗', timeout: '⧖', 'no-script': '–', lost: '?', superseded: '↷', refused: '⊘', cancelled: '⊗',
};

/** A verdict as a symbol and its word, coloured by class. */
export function verdictMark(v: Verdict | undefined, short = false): Html {
  if (v === undefined) return html`<span class="v v-none">·${short ? '' : ' none'}</span>`;
  return html`<span class="v v-${v}" title="${v}">${MARKS[v]}${short ? '' : ` ${v}`}</span>`;
}

export function stateMark(state: DeliveryState, v?: Verdict): Html {
  if (state === 'reported') return verdictMark(v);
  return html`<span class="v v-${state}">${state === 'started' ? '▶ running' : state === 'skipped' ? '– skipped' : `… ${state}`}</span>`;
}

/** The mark of a running build that has taken more than twice its usual duration: "overdue (usually 3 min)". */
export function overdueMark(usualMs: number | undefined): Html | '' {
  return usualMs === undefined ? '' : html` <span class="v v-overdue">overdue (usually ${spoken(usualMs)})</span>`;
}

/** A moment in UTC, to the second: 2026-12-02 02:40:25Z. */
export function utc(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '–' : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** A moment in UTC in a <time> element. */
export function when(ms: number | undefined): Html {
  if (ms === undefined || Number.isNaN(new Date(ms).getTime())) return html`–`;
  return html`<time datetime="${new Date(ms).toISOString()}">${utc(ms)}</time>`;
}

/** How long ago, in the largest unit that fits. */
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** An id shortened for a table (the full one is in the link and the title). */
export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 13)}…` : id;
}
