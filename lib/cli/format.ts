// How the simplebb command words what the master's answers hold: times, durations, exit statuses, verdicts. Every
// value is taken as it came (the answer is not validated), so each formatter copes with a missing or odd one.
import type { Colour } from './table.js';

/** Shown for a value the answer does not have. */
export const NONE = '-';

/** A value from an answer as text: strings as they are, numbers as digits, anything else as nothing. */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : NONE;
}

const num = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const two = (n: number): string => String(n).padStart(2, '0');

/** Milliseconds since the epoch as a local time, `2026-12-02 10:15:30`. */
export function clock(ms: unknown): string {
  if (!num(ms)) return NONE;
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** How long before `now` a moment was, in the largest unit that is whole: `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function ago(ms: unknown, now: number): string {
  if (!num(ms)) return NONE;
  const s = Math.floor((now - ms) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A duration as simplebb-suggest shows it under a minute (`0.41 s`, `12.3 s`), and in minutes or hours above. */
export function duration(ms: unknown): string {
  if (!num(ms) || ms < 0) return NONE;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${two(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${two(Math.floor(s / 60) % 60)} min`;
}

/** How a build ended, for an EXIT column: its exit code, or the signal's name (`SIGKILL`) when a signal ended it. */
export function exitStatus(r: { exitCode?: unknown; signal?: unknown }): string {
  if (typeof r.signal === 'string' && r.signal) return r.signal;
  return num(r.exitCode) ? String(r.exitCode) : NONE;
}

/** Verdicts that count as failing: the API's `failing=1` rule (docs/API.md), so the command and the master agree. */
const RED = new Set(['failure', 'timeout']);

/** The report's verdict is red: `failure` or `timeout`. */
export function isFailing(verdict: unknown): boolean {
  return typeof verdict === 'string' && RED.has(verdict);
}

/** A verdict's colour, as simplebb-suggest paints it: green for success, red for a build that failed or was lost, yellow for one that never ran. */
export function verdictColour(verdict: unknown): Colour {
  return verdict === 'success' ? 'green' : isFailing(verdict) || verdict === 'lost' ? 'red' : 'yellow';
}
