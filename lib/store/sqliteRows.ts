// The SQLite record's rows as the store's types.
import type { Labels } from '../protocol/labels.js';
import type { Uname, Verdict } from '../protocol/messages.js';
import type { DeliveryView, ReportSummary } from './history.js';
import type { DeliveryState, HookDelivery, LogEntry, StoredReport, StoredSuggestion } from './store.js';

export interface ReportRow {
  builder: string; id: string; project: string; branch: string; revision: string | null;
  exit_code: number; signal: string | null; verdict: string; message: string | null;
  started_at: number | null; duration_ms: number; uname: string; node: string;
  output: string; output_bytes: number; output_cut: number; received_at: number; seq: number | null; labels: string | null;
}

export interface SuggestionRow {
  seq: number; id: string; project: string; branch: string; revision: string | null; source: string; created_at: number; selector: string | null; notify: string | null;
  one_retries: number | null; rerun_of: string | null; builder: string | null;
}

export function rowToReport(r: ReportRow): StoredReport {
  return {
    builder: r.builder, id: r.id, seq: r.seq ?? 0, project: r.project, branch: r.branch,
    ...(r.revision ? { revision: r.revision } : {}),
    exitCode: r.exit_code,
    ...(r.signal ? { signal: r.signal } : {}),
    verdict: r.verdict as Verdict,
    ...(r.message ? { message: r.message } : {}),
    ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
    durationMs: r.duration_ms, uname: JSON.parse(r.uname) as Uname, node: r.node,
    output: r.output, outputBytes: r.output_bytes, outputCut: r.output_cut, receivedAt: r.received_at,
    ...(r.labels ? { labels: JSON.parse(r.labels) as Labels } : {}),
  };
}

export function rowToSuggestion(r: SuggestionRow): StoredSuggestion {
  return {
    seq: r.seq, id: r.id, project: r.project, branch: r.branch, ...(r.revision ? { revision: r.revision } : {}),
    from: r.source, createdAt: r.created_at, ...(r.selector ? { on: r.selector } : {}), ...(r.notify ? { notify: r.notify } : {}),
    ...(r.rerun_of ? { rerunOf: r.rerun_of } : {}), ...(r.builder ? { builder: r.builder } : {}),
    ...(r.one_retries !== null && r.one_retries !== undefined ? { one: { retries: r.one_retries } } : {}),
  };
}

/** The columns of a report but its output, as the read side selects them. */
export const SUMMARY_COLUMNS = 'r.builder, r.id, r.seq, r.project, r.branch, r.revision, r.exit_code, r.signal, r.verdict, r.message, r.started_at, r.duration_ms, r.uname, r.node, r.output_bytes, r.output_cut, r.received_at, r.labels';

export function rowToSummary(r: Omit<ReportRow, 'output'>): ReportSummary {
  const { output: _o, ...summary } = rowToReport({ ...r, output: '' });
  return summary;
}

export interface LogRow { builder: string; id: string; bytes: number; stored_bytes: number; cut: number; missing: number; finished_at: number }

export function rowToLog(r: LogRow): LogEntry {
  return { id: r.id, builder: r.builder, bytes: r.bytes, storedBytes: r.stored_bytes, cut: r.cut, missing: r.missing, finishedAt: r.finished_at };
}

export interface HookRow {
  forge: string; delivery: string; received_at: number; address: string; event: string; body: Buffer | null; state: string;
  outcome: string | null; suggestion: string | null; done_at: number | null;
}

export function rowToHook(r: HookRow): HookDelivery {
  return {
    forge: r.forge, delivery: r.delivery, receivedAt: r.received_at, address: r.address, event: r.event, state: r.state as HookDelivery['state'],
    ...(r.outcome !== null ? { outcome: r.outcome } : {}), ...(r.suggestion !== null ? { suggestion: r.suggestion } : {}), ...(r.done_at !== null ? { doneAt: r.done_at } : {}),
  };
}

/** A delivery joined with its report's verdict, as both stores' read sides select it. */
export interface DeliveryRow { seq: number; builder: string; state: string; at: number; verdict: string | null; exit_code: number | null; duration_ms: number | null }

/** Delivery rows (ordered by place, then builder) as each suggestion's list of builders' parts, by place in the log. */
export function deliveriesBySeq(rows: readonly DeliveryRow[]): Map<number, DeliveryView[]> {
  const out = new Map<number, DeliveryView[]>();
  for (const r of rows) {
    const view: DeliveryView = {
      builder: r.builder, state: r.state as DeliveryState, at: r.at,
      ...(r.verdict !== null ? { verdict: r.verdict as Verdict, exitCode: r.exit_code!, durationMs: r.duration_ms! } : {}),
    };
    const list = out.get(r.seq);
    if (list) list.push(view);
    else out.set(r.seq, [view]);
  }
  return out;
}
